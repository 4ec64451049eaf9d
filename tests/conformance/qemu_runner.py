"""Run batches of AT-instruction scenarios in a real QEMU and read back PAR_EL1.

A small bare-metal AArch64 guest (``guest/``) runs at EL3 under
``qemu-system-aarch64 -M virt,secure=on,virtualization=on -cpu max``.  It reads
a batch blob that QEMU's generic loader places in guest RAM, runs every
scenario and streams one result record per scenario to a host file through
semihosting.  See README.md for why the guest runs at EL3.

Usage::

    from qemu_runner import Scenario, run_batch, run_many
    s = Scenario(op="S1E1R", va=0x1000,
                 regs={"TCR_EL1": ..., "TTBR0_EL1": ..., "SCTLR_EL1": 1,
                       "HCR_EL2": 1 << 31},
                 memory={0x5000_0000: 0x5000_1003, ...})
    res = run_batch([s])
    res.pars[0]        # int PAR_EL1, or a Marker (GuestException / QemuFailure)
    res.id_regs        # {"ID_AA64MMFR0_EL1": ..., ...}

Scenario fields
---------------
``op``      one of OPS (``S1E1R S1E1W S1E0R S1E0W S1E2R S1E2W S12E1R S12E1W
            S12E0R S12E0W``, case-insensitive).
``va``      the input address given to the AT instruction (64-bit).
``regs``    values for REG_NAMES.  Missing registers are 0, except HCR_EL2,
            which defaults to RW=1 (bit 31) so that EL1 is AArch64.  A given
            HCR_EL2 is used exactly as given (include RW yourself).  Names in
            IGNORED_REGS (ID registers) are accepted and ignored; any other
            name is an error.
``memory``  {address: 64-bit value}; addresses must be 8-byte aligned and lie
            in TABLE_REGION (inside guest RAM, outside the guest's own image,
            blob and stack area).  The guest writes them before the AT and
            zeroes them afterwards, so scenarios are independent.

Blob format (version 1, all little-endian u64 words)
----------------------------------------------------
Header (4 words): MAGIC ``b"1PA2BLOB"``, VERSION (1), N (number of
scenarios), flags (0; BLOB_KEEP = 1 keeps the tables and waits for a memory
dump, see qemu_dump.py).  Then N scenario records, each::

    op index (position in OPS), va, nmem, 0,
    16 register words (REG_NAMES order; the last 3 reserved, 0),
    nmem pairs (address, value)

The blob is loaded at BLOB_ADDR (``-device loader,force-raw=on``) and may be
at most BLOB_MAX bytes.

Result file (written by the guest through SYS_OPEN/SYS_WRITE)
-------------------------------------------------------------
32-byte records of 4 u64 words.  First two records: (``b"1LPA2RES"``,
ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1, ID_AA64MMFR2_EL1) and (ID_AA64PFR0_EL1,
MIDR_EL1, CurrentEL, N).  Then one record per scenario:

* ``(0, PAR_EL1, 0, 0)``                   AT completed;
* ``(1 | phase<<8 | vector<<16, ELR, ESR, FAR)`` an exception was taken to
  EL3 (phase 1 = while writing descriptors/registers, 2 = at the AT; vector is
  the VBAR_EL3 offset, 0x200 = synchronous from the current EL);
* ``(2, 0, 0, 0)``                         unknown op (cannot happen from Python).

and finally ``(b"1PA2DONE", N, exception count, 0)``.  Because records are
streamed, a QEMU crash (QEMU 7.2 asserts on some level -1 faults) identifies
the scenario that killed it: run_batch marks that one with QemuFailure and
reruns the remainder in a fresh QEMU.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUEST_DIR = HERE / "guest"
BUILD_DIR = HERE / "build"

# ---------------------------------------------------------------- layout
RAM_BASE = 0x4000_0000
RAM_SIZE = 4 << 30  # -m 4G, memfd-backed
RAM_END = RAM_BASE + RAM_SIZE  # 0x1_4000_0000
GUEST_BASE = 0x4010_0000  # guest image, .bss, stack (< 1 MiB)
BLOB_ADDR = 0x4100_0000
BLOB_MAX = 0x0F00_0000  # blob may use [0x4100_0000, 0x5000_0000)
# Region the scenario generator may put tables in: everything above the
# first 256 MiB of RAM (DTB, guest, blob live below).
TABLE_REGION = (0x5000_0000, RAM_END)  # half-open [start, end)

OPS = ("S1E1R", "S1E1W", "S1E0R", "S1E0W", "S1E2R", "S1E2W", "S12E1R", "S12E1W", "S12E0R", "S12E0W")
REG_NAMES = (
    "TCR_EL1",
    "TTBR0_EL1",
    "TTBR1_EL1",
    "MAIR_EL1",
    "SCTLR_EL1",
    "TCR_EL2",
    "TTBR0_EL2",
    "TTBR1_EL2",
    "MAIR_EL2",
    "SCTLR_EL2",
    "VTCR_EL2",
    "VTTBR_EL2",
    "HCR_EL2",
)
NREG_SLOTS = 16
REG_DEFAULTS = {"HCR_EL2": 1 << 31}
IGNORED_REGS = frozenset(
    {"ID_AA64MMFR0_EL1", "ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64PFR0_EL1"}
)

BLOB_MAGIC = int.from_bytes(b"1PA2BLOB", "little")
RES_MAGIC = int.from_bytes(b"1LPA2RES", "little")
DONE_MAGIC = int.from_bytes(b"1PA2DONE", "little")
BLOB_VERSION = 1
RESULTS_NAME = "lpa2_results.bin"
U64 = (1 << 64) - 1

INSTALL_HINT = "apt-get install qemu-system-arm gcc-aarch64-linux-gnu"


# ---------------------------------------------------------------- data types
@dataclass
class Scenario:
    op: str
    va: int
    regs: dict[str, int]
    memory: dict[int, int]
    name: str = ""


class Marker:
    """Base class of the non-PAR results in RunResult.pars."""


@dataclass(frozen=True)
class GuestException(Marker):
    """The scenario raised an exception at EL3 instead of writing PAR_EL1
    (e.g. a synchronous external abort on a walk outside RAM)."""

    esr: int
    far: int
    elr: int
    vector: int
    phase: int

    @property
    def ec(self) -> int:
        return (self.esr >> 26) & 0x3F

    @property
    def fsc(self) -> int:
        return self.esr & 0x3F

    def __repr__(self) -> str:
        return (
            f"GuestException(esr={self.esr:#x} ec={self.ec:#x} "
            f"fsc={self.fsc:#x} far={self.far:#x} elr={self.elr:#x} "
            f"vector={self.vector:#x} phase={self.phase})"
        )


@dataclass(frozen=True)
class QemuFailure(Marker):
    """QEMU itself died or hung while running this scenario."""

    reason: str

    def __repr__(self) -> str:
        return f"QemuFailure({self.reason!r})"


@dataclass
class RunResult:
    pars: list = field(default_factory=list)  # int | Marker per scenario
    id_regs: dict = field(default_factory=dict)
    boots: int = 0
    elapsed: float = 0.0
    qemu_version: tuple = ()


class ToolsMissing(RuntimeError):
    pass


# ---------------------------------------------------------------- tools
def find_tools() -> dict[str, str]:
    """Paths of qemu-system-aarch64 and the cross gcc; raises ToolsMissing."""
    names = {"qemu": "qemu-system-aarch64", "gcc": "aarch64-linux-gnu-gcc"}
    found = {k: shutil.which(v) for k, v in names.items()}
    missing = [names[k] for k, v in found.items() if not v]
    if missing:
        raise ToolsMissing(f"missing {', '.join(missing)}; install with: {INSTALL_HINT}")
    return found


_qemu_version_cache: tuple[int, int, int] | None = None


def qemu_version() -> tuple[int, int, int]:
    global _qemu_version_cache
    if _qemu_version_cache is None:
        out = subprocess.run(
            [find_tools()["qemu"], "--version"], capture_output=True, text=True, check=True
        ).stdout
        m = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", out)
        if not m:
            raise RuntimeError(f"cannot parse QEMU version from {out!r}")
        _qemu_version_cache = (int(m[1]), int(m[2]), int(m[3] or 0))
    return _qemu_version_cache


CFLAGS = [
    "-O2",
    "-ffreestanding",
    "-nostdlib",
    "-nostartfiles",
    "-static",
    "-fno-pic",
    "-no-pie",
    "-mgeneral-regs-only",
    "-mstrict-align",
    "-fno-stack-protector",
    "-march=armv8.2-a",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,--build-id=none",
    "-Wl,--no-warn-rwx-segments",
]
GUEST_SOURCES = ("start.S", "main.c", "guest.ld")


def build_guest() -> Path:
    """Compile the guest into BUILD_DIR if its sources (or flags) changed."""
    gcc = find_tools()["gcc"]
    h = hashlib.sha256()
    for name in GUEST_SOURCES:
        h.update(name.encode() + b"\0" + (GUEST_DIR / name).read_bytes())
    h.update(" ".join(CFLAGS).encode())
    digest = h.hexdigest()[:16]
    out = BUILD_DIR / f"guest-{digest}.elf"
    if out.exists():
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    cmd = [
        gcc,
        *CFLAGS,
        "-T",
        str(GUEST_DIR / "guest.ld"),
        str(GUEST_DIR / "start.S"),
        str(GUEST_DIR / "main.c"),
        "-o",
        str(tmp),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"guest build failed:\n{' '.join(cmd)}\n{r.stderr}")
    os.replace(tmp, out)
    return out


# ---------------------------------------------------------------- blob
def _check_u64(what: str, v: int) -> int:
    if not isinstance(v, int) or v < 0 or v > U64:
        raise ValueError(f"{what} = {v!r} is not a 64-bit unsigned integer")
    return v


def encode_scenario(s: Scenario) -> bytes:
    label = s.name or repr(s.op)
    op = s.op.upper()
    if op not in OPS:
        raise ValueError(f"scenario {label}: unknown op {s.op!r} (expected one of {OPS})")
    regs = dict(REG_DEFAULTS)
    for k, v in s.regs.items():
        ku = k.upper()
        if ku in IGNORED_REGS:
            continue
        if ku not in REG_NAMES:
            raise ValueError(f"scenario {label}: unsupported register {k!r}")
        regs[ku] = _check_u64(f"scenario {label}: {k}", v)
    words = [OPS.index(op), _check_u64(f"scenario {label}: va", s.va), len(s.memory), 0]
    words += [regs.get(n, 0) for n in REG_NAMES]
    words += [0] * (NREG_SLOTS - len(REG_NAMES))
    lo, hi = TABLE_REGION
    for addr in sorted(s.memory):
        val = s.memory[addr]
        if not isinstance(addr, int) or addr % 8:
            raise ValueError(f"scenario {label}: memory address {addr!r} is not 8-byte aligned")
        if not lo <= addr < hi:
            where = (
                "outside guest RAM"
                if not RAM_BASE <= addr < RAM_END
                else "in the guest's reserved low area"
            )
            raise ValueError(
                f"scenario {label}: memory address {addr:#x} is {where}; tables must "
                f"live in TABLE_REGION [{lo:#x}, {hi:#x}) (RAM is "
                f"[{RAM_BASE:#x}, {RAM_END:#x}))"
            )
        words += [addr, _check_u64(f"scenario {label}: memory[{addr:#x}]", val)]
    return struct.pack(f"<{len(words)}Q", *words)


def encode_blob(scenarios: list[Scenario], flags: int = 0) -> bytes:
    """The batch blob; ``flags`` is header word 3 (BLOB_KEEP: see qemu_dump.py)."""
    body = b"".join(encode_scenario(s) for s in scenarios)
    blob = struct.pack("<4Q", BLOB_MAGIC, BLOB_VERSION, len(scenarios), flags) + body
    if len(blob) > BLOB_MAX:
        raise ValueError(
            f"batch blob is {len(blob)} bytes, more than {BLOB_MAX}; "
            "use run_many or smaller batches"
        )
    return blob


# ---------------------------------------------------------------- running
def qemu_command(guest: Path, blob: Path, ram_size: int = RAM_SIZE) -> list[str]:
    # -nodefaults: no default NIC, serial, VGA or audio. The guest needs none of them, and a
    # default NIC needs an option ROM (efi-virtio.rom) that a QEMU installed without its
    # recommended packages does not have; a privately installed QEMU would also probe the
    # system's audio modules of another build.
    return [
        find_tools()["qemu"],
        "-nodefaults",
        "-M",
        "virt,secure=on,virtualization=on,memory-backend=ram0",
        "-cpu",
        "max",
        "-smp",
        "1",
        "-m",
        f"{ram_size >> 20}M",
        "-object",
        f"memory-backend-memfd,id=ram0,size={ram_size >> 20}M",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting",
        "-no-reboot",
        "-kernel",
        str(guest),
        "-device",
        f"loader,file={blob},addr={BLOB_ADDR:#x},force-raw=on",
    ]


def _parse_results(data: bytes, n: int):
    """-> (id_regs, list of per-scenario results, done flag)."""
    nrec = len(data) // 32
    recs = [struct.unpack_from("<4Q", data, 32 * i) for i in range(nrec)]
    if nrec < 2 or recs[0][0] != RES_MAGIC:
        return None, [], False
    id_regs = {
        "ID_AA64MMFR0_EL1": recs[0][1],
        "ID_AA64MMFR1_EL1": recs[0][2],
        "ID_AA64MMFR2_EL1": recs[0][3],
        "ID_AA64PFR0_EL1": recs[1][0],
        "MIDR_EL1": recs[1][1],
        "CurrentEL": recs[1][2],
    }
    out, done = [], False
    for r in recs[2:]:
        if r[0] == DONE_MAGIC:
            done = True
            break
        if len(out) >= n:
            break
        st = r[0] & 0xFF
        if st == 0:
            out.append(r[1])
        elif st == 1:
            out.append(
                GuestException(
                    esr=r[2],
                    far=r[3],
                    elr=r[1],
                    vector=(r[0] >> 16) & 0xFFFF,
                    phase=(r[0] >> 8) & 0xFF,
                )
            )
        else:
            out.append(QemuFailure(f"guest reported status {r[0]:#x}"))
    return id_regs, out, done


def _boot_once(scenarios: list[Scenario], timeout: float):
    """One QEMU boot. -> (id_regs, results (possibly short), failure reason or None)."""
    guest = build_guest()
    with tempfile.TemporaryDirectory(prefix="lpa2-qemu-") as td:
        tdp = Path(td)
        blob = tdp / "batch.bin"
        blob.write_bytes(encode_blob(scenarios))
        cmd = qemu_command(guest, blob)
        reason = None
        try:
            p = subprocess.run(
                cmd, cwd=td, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
            )
            if p.returncode != 0:
                err = p.stderr.decode(errors="replace").strip().splitlines()
                reason = f"qemu exit status {p.returncode}: {' | '.join(err[-3:])}"
        except subprocess.TimeoutExpired:
            reason = f"qemu timed out after {timeout}s"
        res_file = tdp / RESULTS_NAME
        data = res_file.read_bytes() if res_file.exists() else b""
    id_regs, results, done = _parse_results(data, len(scenarios))
    if id_regs is None:
        raise RuntimeError(
            f"QEMU guest produced no results ({reason or 'no output'}); command: {' '.join(cmd)}"
        )
    if reason is None and not (done and len(results) == len(scenarios)):
        reason = "guest stopped without finishing the batch"
    return id_regs, results, reason


def run_batch(scenarios: list[Scenario], timeout: float = 120.0) -> RunResult:
    """Run scenarios in one QEMU boot (more if QEMU dies on a scenario: that
    scenario gets a QemuFailure marker and the rest run in a new boot)."""
    t0 = time.monotonic()
    res = RunResult(qemu_version=qemu_version())
    for s in scenarios:  # validate everything before booting
        encode_scenario(s)
    rest = list(scenarios)
    while rest:
        id_regs, results, reason = _boot_once(rest, timeout)
        res.boots += 1
        res.id_regs = id_regs
        res.pars.extend(results)
        if reason is None:
            break
        bad = len(results)
        if bad >= len(rest):  # everything ran, only the trailer is missing
            break
        res.pars.append(QemuFailure(reason))
        rest = rest[bad + 1 :]
    res.elapsed = time.monotonic() - t0
    return res


def run_many(
    scenarios: list[Scenario], batch_size: int = 500, workers: int = 2, timeout: float = 120.0
) -> RunResult:
    """Split into batches of batch_size and run them on `workers` QEMUs in parallel."""
    t0 = time.monotonic()
    batches = [scenarios[i : i + batch_size] for i in range(0, len(scenarios), batch_size)]
    build_guest()
    res = RunResult(qemu_version=qemu_version())
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        for r in ex.map(lambda b: run_batch(b, timeout=timeout), batches):
            res.pars.extend(r.pars)
            res.id_regs = res.id_regs or r.id_regs
            res.boots += r.boots
    res.elapsed = time.monotonic() - t0
    return res


def format_par(par) -> str:
    """Human-readable PAR_EL1 (or marker)."""
    if isinstance(par, Marker):
        return repr(par)
    if par & 1:
        fst = (par >> 1) & 0x3F
        return f"PAR {par:#018x} F=1 FST={fst:#04x} PTW={(par >> 8) & 1} S={(par >> 9) & 1}"
    pa = par & 0x000F_FFFF_FFFF_F000
    return f"PAR {par:#018x} F=0 PA={pa:#x} SH={(par >> 7) & 3} ATTR={par >> 56:#04x}"
