"""A kdump vmcore with VMCOREINFO: what it says about the kernel's tables, the registers derived
from it, and walks and listings of the kernel's own mappings with them.

kdump cannot run here (no kernel to crash), so each test builds a vmcore the way the kernel
lays one out: an ELF core file whose PT_LOAD segments hold RAM at its physical addresses and
whose PT_NOTE holds a VMCOREINFO note with the kernel's text (values as
arch_crash_save_vmcoreinfo and crash_save_vmcoreinfo_init print them). The page tables in it
are the kernel's: swapper_pg_dir (the TTBR1 table) at the physical address of its symbol,
mapping the kernel image and the start of the linear map.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import cli
from model.arch.fields import MASK64
from model.explore.vmcoreinfo import kernel_tables, number, parse

from .elfcore import core_of, vmcoreinfo_note
from .tables import Allocator, Tables

RAM = 0x4000_0000


@dataclass
class Kernel:
    page: int  # bytes
    va_bits: int  # CONFIG_ARM64_VA_BITS
    vabits_actual: int  # 64 - TCR_EL1.T1SZ
    stext_va: int
    stext_pa: int
    swapper_va: int

    @property
    def voffset(self) -> int:
        return (self.stext_va - self.stext_pa) & MASK64

    @property
    def swapper_pa(self) -> int:
        return (self.swapper_va - self.voffset) & MASK64

    @property
    def linear_start(self) -> int:
        """The first VA of the linear map: PAGE_OFFSET, or with VA_BITS=52 on a 48-bit CPU
        -(1 << 48), where arm64_memblock_init moves RAM."""
        return (-(1 << min(self.va_bits, self.vabits_actual))) & MASK64

    @property
    def phys_offset(self) -> int:
        """memstart_addr: the PA of PAGE_OFFSET = -(1 << VA_BITS)."""
        return (RAM - (self.linear_start - ((-(1 << self.va_bits)) & MASK64))) & MASK64

    def vmcoreinfo(self) -> str:
        return (
            "OSRELEASE=6.12.0-lpa2\n"
            f"PAGESIZE={self.page}\n"
            f"SYMBOL(swapper_pg_dir)={self.swapper_va:x}\n"
            f"SYMBOL(_stext)={self.stext_va:x}\n"
            f"NUMBER(VA_BITS)={self.va_bits}\n"
            f"NUMBER(kimage_voffset)={self.voffset:#x}\n"
            f"NUMBER(PHYS_OFFSET)={self.phys_offset:#x}\n"
            f"NUMBER(TCR_EL1_T1SZ)={64 - self.vabits_actual:#x}\n"
            "KERNELOFFSET=0\n"
            "NUMBER(KERNELPACMASK)=0x0\n"
            "CRASHTIME=1700000000\n"
        )


def build_vmcore(path: Path, k: Kernel) -> Tables:
    """The kernel's TTBR1 tables in a vmcore: the page holding _stext and a level-2 block
    (2MB, 32MB or 512MB) at the start of the linear map."""
    granule = k.page >> 10
    ds = granule in (4, 16) and k.vabits_actual > 48
    root = k.swapper_pa
    if granule == 64 and k.va_bits == 52 and k.vabits_actual == 48:
        root += 0x1E00  # offset_ttbr1: the 48-bit part of a 52-bit PGD
    alloc = Allocator(0x4800_0000, 0x4900_0000, random.Random(granule))
    alloc.take(0x2000, 0x2000)  # keep the allocator off the PGD
    t = Tables(1, granule, ds, k.vabits_actual, alloc, lpa=granule == 64, root=root)
    t.map(k.stext_va, k.stext_pa, 3, ap=0b10)  # kernel text: read-only, executable
    t.map(k.linear_start, RAM, 2, pxn=1, uxn=1)
    path.write_bytes(core_of(t.words, 1 << 16, vmcoreinfo_note(k.vmcoreinfo())))
    return t


KERNELS = {
    # 4KB pages, 52-bit VAs with LPA2: five levels from level -1
    "4k-52-lpa2": Kernel(4096, 52, 52, 0xFFF8_0000_8001_0000, 0x4021_0000, 0xFFF8_0000_8200_0000),
    # 16KB pages, 48-bit VAs (DS=0)
    "16k-48": Kernel(16384, 48, 48, 0xFFFF_8000_8001_0000, 0x4021_0000, 0xFFFF_8000_8200_0000),
    # 64KB pages built for 52-bit VAs, running on a CPU without LVA: TTBR1 offset into the PGD
    "64k-52-on-48": Kernel(
        65536, 52, 48, 0xFFFF_8000_8001_0000, 0x4021_0000, 0xFFFF_8000_8200_0000
    ),
}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_vmcoreinfo_is_parsed_as_the_kernel_writes_it():
    k = KERNELS["4k-52-lpa2"]
    entries = parse(k.vmcoreinfo())
    assert number(entries, "SYMBOL(swapper_pg_dir)") == k.swapper_va  # hex without 0x
    assert number(entries, "NUMBER(VA_BITS)") == 52  # decimal
    assert number(entries, "NUMBER(TCR_EL1_T1SZ)") == 12  # 0x-prefixed hex
    assert number(entries, "NUMBER(KERNELPACMASK)") == 0
    tables = kernel_tables(k.vmcoreinfo())
    regs = tables.register_values()
    assert set(regs) == {"TCR_EL1", "TTBR1_EL1", "MAIR_EL1", "SCTLR_EL1"}
    # 52-bit TTBR format: PA[51:48] in TTBR[5:2] (here 0), the rest in place
    assert regs["TTBR1_EL1"] == k.swapper_pa
    addresses = {what: (va, pa) for what, va, pa, _ in tables.addresses}
    assert addresses["_stext"] == (k.stext_va, k.stext_pa)
    assert addresses["start of the linear map"] == (k.linear_start, RAM)
    assert not tables.problems


def test_missing_keys_are_problems_not_crashes():
    tables = kernel_tables("PAGESIZE=4096\nNUMBER(VA_BITS)=48\n")
    assert "SYMBOL(swapper_pg_dir) is missing" in tables.problems
    assert any("kimage_voffset" in p for p in tables.problems)
    assert [d.name for d in tables.registers] == ["TCR_EL1", "MAIR_EL1", "SCTLR_EL1"]
    assert kernel_tables("PAGESIZE=8192\n").problems[0].startswith("PAGESIZE='8192'")


@pytest.mark.parametrize("name", list(KERNELS))
def test_walks_with_registers_from_vmcoreinfo(tmp_path, capsys, name):
    k = KERNELS[name]
    vmcore = tmp_path / "vmcore"
    build_vmcore(vmcore, k)
    for va, pa in (
        (k.stext_va + 0xABC, k.stext_pa + 0xABC),
        (k.linear_start + 0x1238, RAM + 0x1238),
    ):
        status, out, err = run_cli(
            capsys, "walk", "--image", str(vmcore), "--vmcoreinfo", "--va", hex(va), "--json"
        )
        assert status == 0, err
        walk = json.loads(out)["walk"]
        assert walk["fault"] is None, walk["fault"]
        assert int(walk["output_address"], 16) == pa


def test_image_command_tells_what_vmcoreinfo_says(tmp_path, capsys):
    k = KERNELS["64k-52-on-48"]
    vmcore = tmp_path / "vmcore"
    build_vmcore(vmcore, k)
    status, out, err = run_cli(capsys, "image", str(vmcore))
    assert status == 0, err
    assert f"SYMBOL(swapper_pg_dir)={k.swapper_va:x}" in out
    assert "TTBR1_BADDR_4852_OFFSET = 0x1e00" in out
    assert f"_stext: VA {k.stext_va:#x} -> PA {k.stext_pa:#x}" in out
    status, out, _ = run_cli(capsys, "image", str(vmcore), "--registers")
    regs = dict(line.split("=") for line in out.splitlines())
    assert int(regs["TTBR1_EL1"], 16) == k.swapper_pa + 0x1E00
    # the output is a registers file: the same walk as --vmcoreinfo
    (tmp_path / "regs").write_text(out)
    status, out, err = run_cli(
        capsys, "walk", "--image", str(vmcore), "--regs", str(tmp_path / "regs"),
        "--va", hex(k.stext_va), "--json",
    )  # fmt: skip
    assert status == 0, err
    assert int(json.loads(out)["walk"]["output_address"], 16) == k.stext_pa


def test_ptdump_lists_the_kernel_mappings(tmp_path, capsys):
    k = KERNELS["4k-52-lpa2"]
    vmcore = tmp_path / "vmcore"
    build_vmcore(vmcore, k)
    status, out, err = run_cli(capsys, "ptdump", "--image", str(vmcore), "--vmcoreinfo", "--json")
    assert status == 0, err
    roots = {r["root"]: r for r in json.loads(out)["roots"]}
    assert roots["TTBR0_EL1"]["setup_fault"]["kind"] == "translation"  # EPD0: not walked
    ttbr1 = roots["TTBR1_EL1"]
    assert ttbr1["params"]["format"] == "DS1" and ttbr1["params"]["start_level"] == -1
    got = [(int(m["start"], 16), int(m["size"], 16), int(m["oa"], 16)) for m in ttbr1["mappings"]]
    assert got == [(k.linear_start, 2 << 20, RAM), (k.stext_va, 4096, k.stext_pa)]
    text = ttbr1["mappings"][1]["permissions"]
    assert text["EL1"] == {"read": True, "write": False, "exec": True}
