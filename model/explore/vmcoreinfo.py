"""What a Linux VMCOREINFO note says about the kernel's translation tables, and the register
values it lets one derive for a walk of the kernel's stage 1 (EL1&0, TTBR1 range).

VMCOREINFO is the text the kernel writes for crash-dump tools (``crash_save_vmcoreinfo_init``
in kernel/vmcore_info.c, ``arch_crash_save_vmcoreinfo`` in arch/arm64/kernel/vmcore_info.c;
crash_core.c before 6.9): ``KEY=VALUE`` lines. Formats, from include/linux/vmcore_info.h:
``SYMBOL(name)=%lx`` (hex without 0x: the symbol's run-time virtual address, KASLR included),
``NUMBER(name)=%ld`` (decimal) except the arm64 ones written ``0x%llx``, ``PAGESIZE=%ld``,
``KERNELOFFSET=%lx``.

Each derived register value carries the rule it follows and where the rule comes from
(Linux 6.12 sources unless said otherwise). VMCOREINFO does not record every field the walk
needs (the CPU's PA range, hardware Access-flag updates, the crashed task's TTBR0): those are
stated as assumptions next to the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.arch import geometry as geo
from model.arch.fields import MAIR, MASK64, SCTLR, TCR_EL1

# TCR_EL1.TG1 encodes the granule differently from TG0 (fact sheet 1.1).
_TG1 = {4: 0b10, 16: 0b01, 64: 0b11}
_TG0 = {4: 0b00, 16: 0b10, 64: 0b01}
_PAGE_SIZES = {4096: 4, 16384: 16, 65536: 64}

# MAIR_EL1_SET (arch/arm64/mm/proc.S) with the MT_* indexes of arch/arm64/include/asm/memory.h
# (the same in Linux 6.1 and 6.12): MT_NORMAL 0 -> 0xff, MT_NORMAL_TAGGED 1 -> 0xff (0xf0 once
# MTE is enabled), MT_NORMAL_NC 2 -> 0x44, MT_DEVICE_nGnRnE 3 -> 0x00, MT_DEVICE_nGnRE 4 -> 0x04.
LINUX_MAIR_EL1 = MAIR.encode(Attr0=0xFF, Attr1=0xFF, Attr2=0x44, Attr3=0x00, Attr4=0x04)

# The keys shown first, with what each says about the tables.
_MEANINGS = {
    "OSRELEASE": "kernel release",
    "PAGESIZE": "page size: the translation granule of the kernel's tables",
    "NUMBER(VA_BITS)": "VA_BITS, the configured maximum VA size (CONFIG_ARM64_VA_BITS)",
    "NUMBER(TCR_EL1_T1SZ)": "TCR_EL1.T1SZ at the crash: the kernel VA size in use is 64 - T1SZ",
    "SYMBOL(swapper_pg_dir)": "virtual address of the kernel's top-level table (TTBR1_EL1)",
    "NUMBER(kimage_voffset)": "kernel image VA minus its PA (__kimg_to_phys)",
    "NUMBER(PHYS_OFFSET)": "PA of the start of the linear map (memstart_addr)",
    "KERNELOFFSET": "KASLR offset of the kernel image (already in every SYMBOL value)",
    "NUMBER(KERNELPACMASK)": "pointer-authentication bits of kernel pointers",
    "SYMBOL(_stext)": "virtual address of the kernel's text",
    "NUMBER(MODULES_VADDR)": "start of the module area",
    "NUMBER(MODULES_END)": "end of the module area",
    "NUMBER(VMALLOC_START)": "start of vmalloc space",
    "NUMBER(VMALLOC_END)": "end of vmalloc space",
    "NUMBER(VMEMMAP_START)": "start of the struct page array",
    "NUMBER(VMEMMAP_END)": "end of the struct page array",
}


def parse(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines, in order (later lines win)."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            entries[key.strip()] = value.strip()
    return entries


def number(entries: dict[str, str], key: str) -> int | None:
    """The value of ``key`` as an integer, read the way the kernel wrote it."""
    text = entries.get(key)
    if text is None:
        return None
    try:
        if key.startswith("SYMBOL(") or key == "KERNELOFFSET":
            return int(text, 16)
        if text.lower().startswith(("0x", "-0x")):
            return int(text, 16)
        return int(text, 10)
    except ValueError:
        return None


@dataclass(frozen=True)
class Derived:
    """A register value and how it follows from VMCOREINFO."""

    name: str
    value: int
    how: str

    def to_dict(self) -> dict:
        return {"name": self.name, "value": f"{self.value:#x}", "how": self.how}


@dataclass
class KernelTables:
    """What VMCOREINFO says about the kernel's tables (see the module docstring)."""

    entries: dict[str, str]
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # key, value, meaning
    registers: list[Derived] = field(default_factory=list)
    addresses: list[tuple[str, int, int, str]] = field(default_factory=list)  # what, VA, PA, how
    problems: list[str] = field(default_factory=list)

    def register_values(self) -> dict[str, int]:
        return {d.name: d.value for d in self.registers}

    def to_dict(self) -> dict:
        return {
            "facts": [{"key": k, "value": v, "meaning": m} for k, v, m in self.facts],
            "registers": [d.to_dict() for d in self.registers],
            "addresses": [
                {"what": w, "va": f"{va:#x}", "pa": f"{pa:#x}", "how": how}
                for w, va, pa, how in self.addresses
            ],
            "problems": list(self.problems),
        }


def kernel_tables(text: str) -> KernelTables:
    """Read a VMCOREINFO text and derive the kernel's stage-1 registers from it."""
    entries = parse(text)
    out = KernelTables(entries)
    for key, meaning in _MEANINGS.items():
        if key in entries:
            out.facts.append((key, entries[key], meaning))
    page = number(entries, "PAGESIZE")
    granule = _PAGE_SIZES.get(page or 0)
    va_bits = number(entries, "NUMBER(VA_BITS)")
    t1sz = number(entries, "NUMBER(TCR_EL1_T1SZ)")
    swapper = number(entries, "SYMBOL(swapper_pg_dir)")
    voffset = number(entries, "NUMBER(kimage_voffset)")
    phys_offset = number(entries, "NUMBER(PHYS_OFFSET)")
    if granule is None:
        out.problems.append(f"PAGESIZE={entries.get('PAGESIZE')!r} is not 4096, 16384 or 65536")
    t1sz_how = "NUMBER(TCR_EL1_T1SZ), read from TCR_EL1 by the crashing kernel"
    if t1sz is None and va_bits is not None:
        t1sz = 64 - va_bits
        t1sz_how = (
            "64 - NUMBER(VA_BITS): this kernel does not write TCR_EL1_T1SZ (before Linux 5.9?), "
            "so the configured VA size is assumed to be the one in use"
        )
    if t1sz is None:
        out.problems.append("neither NUMBER(TCR_EL1_T1SZ) nor NUMBER(VA_BITS) is present")
    if swapper is None:
        out.problems.append("SYMBOL(swapper_pg_dir) is missing")
    if voffset is None:
        out.problems.append(
            "NUMBER(kimage_voffset) is missing: the PA of swapper_pg_dir cannot be computed"
        )
    if granule is None or t1sz is None:
        return out
    iasize = 64 - t1sz
    # Linux sets TCR_EL1.DS with T1SZ = 64 - 52 when the CPU has 52-bit VAs (ARM64_HAS_VA52)
    # and the kernel is built with CONFIG_ARM64_LPA2 (arch/arm64/mm/proc.S, __cpu_setup); with
    # 4KB or 16KB pages a VA above 48 bits exists only with DS=1 (TxSZ minimum 12 needs LPA2).
    ds = granule in (4, 16) and iasize > 48
    # tcr_compute_pa_size (arch/arm64/include/asm/assembler.h) sets IPS to the CPU's PARange,
    # capped at 52 bits (48 with CONFIG_ARM64_LPA2 when 52-bit VAs are off). VMCOREINFO does not
    # record PARange: take the largest size the format can express, which walks well-formed
    # tables exactly as any smaller IPS that covers them does.
    ips = 0b110 if (ds or granule == 64) else 0b101
    tcr = TCR_EL1.encode(
        T1SZ=t1sz,
        TG1=_TG1[granule],
        T0SZ=t1sz,
        TG0=_TG0[granule],
        IPS=ips,
        DS=int(ds),
        SH0=0b11,
        SH1=0b11,
        IRGN0=1,
        ORGN0=1,
        IRGN1=1,
        ORGN1=1,
        A1=1,
        AS=1,
        TBI0=1,
        EPD0=1,
    )
    start = geo.s1_start_level(iasize, granule)
    out.registers.append(
        Derived(
            "TCR_EL1",
            tcr,
            f"T1SZ={t1sz} ({t1sz_how}); TG1 and TG0 from PAGESIZE={page} ({granule}KB); "
            f"DS={int(ds)} (Linux sets DS exactly when a 4KB/16KB kernel runs with VAs above 48 "
            f"bits: CONFIG_ARM64_LPA2, __cpu_setup in arch/arm64/mm/proc.S); "
            f"IPS={ips:#05b} ({geo.ps_bits(ips)} bits, assumed: VMCOREINFO does not record the "
            "CPU's PARange, and the largest size walks well-formed tables the same); SH, IRGN, "
            "ORGN, A1, AS, TBI0 as __cpu_setup sets them; HA=0 (hardware Access flag updates "
            "depend on the CPU); EPD0=1, T0SZ=T1SZ (added here: the crashed task's TTBR0 "
            "tables are not recorded, so the TTBR0 range is not walked). "
            f"The walk of a kernel address starts at level {start}.",
        )
    )
    out.registers.append(
        Derived(
            "MAIR_EL1",
            LINUX_MAIR_EL1,
            "MAIR_EL1_SET of arch/arm64/mm/proc.S: Attr0 Normal WB (MT_NORMAL), Attr1 Normal "
            "(MT_NORMAL_TAGGED; 0xf0 with MTE), Attr2 Normal-NC, Attr3 Device-nGnRnE, Attr4 "
            "Device-nGnRE (indexes of Linux 6.1 to 6.12)",
        )
    )
    out.registers.append(
        Derived(
            "SCTLR_EL1",
            SCTLR.encode(M=1, C=1, I=1),
            "M=1 (the kernel runs with its MMU on), C=1, I=1; WXN=0 (Linux leaves it clear)",
        )
    )
    if swapper is not None and voffset is not None:
        pa = (swapper - voffset) & MASK64
        fmt52 = ds or (granule == 64 and ips == 0b110)
        ttbr = ((pa | (pa >> 46)) & _genmask(47, 2)) if fmt52 else pa
        how = (
            f"PA of swapper_pg_dir = SYMBOL(swapper_pg_dir) - kimage_voffset = "
            f"{swapper:#x} - {voffset:#x} = {pa:#x} (a kernel-image symbol: __kimg_to_phys in "
            "arch/arm64/include/asm/memory.h)"
        )
        if fmt52:
            how += (
                "; in the 52-bit TTBR format PA[51:48] go to TTBR[5:2]: phys_to_ttbr(pa) = "
                "(pa | pa >> 46) & GENMASK(47, 2) (arch/arm64/include/asm/pgtable.h)"
            )
        if granule == 64 and va_bits == 52 and iasize == 48:
            # offset_ttbr1 (arch/arm64/include/asm/assembler.h): a 52-bit-VA 64KB kernel on a
            # CPU without LVA points TTBR1 at the entry where its 48-bit part of the table starts.
            offset = ((1 << (52 - 42)) - (1 << (48 - 42))) * 8
            ttbr |= offset
            how += (
                f"; plus TTBR1_BADDR_4852_OFFSET = {offset:#x} (offset_ttbr1: a VA_BITS=52 64KB "
                "kernel running with 48-bit VAs)"
            )
        out.registers.append(Derived("TTBR1_EL1", ttbr, how))
        out.addresses.append(("swapper_pg_dir", swapper, pa, "SYMBOL - kimage_voffset"))
        stext = number(entries, "SYMBOL(_stext)")
        if stext is not None:
            out.addresses.append(
                ("_stext", stext, (stext - voffset) & MASK64, "SYMBOL - kimage_voffset")
            )
    if phys_offset is not None and va_bits is not None:
        # __lm_to_phys(va) = va - PAGE_OFFSET + PHYS_OFFSET with PAGE_OFFSET = -(1 << VA_BITS)
        # (arch/arm64/include/asm/memory.h). A VA_BITS=52 kernel on a CPU with 48-bit VAs keeps
        # PAGE_OFFSET but uses only the top of the linear region: arm64_memblock_init (mm/init.c)
        # lowers PHYS_OFFSET by _PAGE_OFFSET(48) - _PAGE_OFFSET(52) so that RAM lands there.
        page_offset = (-(1 << va_bits)) & MASK64
        start = (-(1 << iasize)) & MASK64 if iasize < va_bits else page_offset
        out.addresses.append(
            (
                "start of the linear map",
                start,
                (start - page_offset + phys_offset) & MASK64,
                "__lm_to_phys: VA - PAGE_OFFSET + PHYS_OFFSET, PAGE_OFFSET = -(1 << VA_BITS)"
                + (f"; the map starts at -(1 << {iasize}) here" if start != page_offset else ""),
            )
        )
    return out


def _genmask(hi: int, lo: int) -> int:
    return ((1 << (hi - lo + 1)) - 1) << lo
