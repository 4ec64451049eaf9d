"""Benchmark the model: median microseconds per walk, and each walk as a ratio of a fixed
pure-Python reference workload timed in the same run (the ratio travels between machines,
the microseconds do not).

Run: python3 bench/model.py [--rounds N]

The walks go through the public API only (``model.at`` and ``model.walk`` over plain
``{pa: value}`` memory built here), so the same script measures any version of the model.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from model.arch.fields import MASK64

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import LAYOUTS, Regime, at, walk  # noqa: E402

VA = 0x0000_1234_5678_9ABC
VA52 = 0x000F_1234_5678_9ABC
AF = 1 << 10
SH_INNER = 0b11 << 8  # descriptor SH[9:8] with DS=0 (with DS=1 these bits are OA[51:50])
S1_PAGE_ATTRS = AF | (0b01 << 6) | 0b11  # AF, AP=EL0 RW, AttrIndx 0, page
S2_PAGE_ATTRS = AF | (0b11 << 6) | (0b1111 << 2) | 0b11  # AF, S2AP=RW, Normal WB, page
TABLE = 0b11


# -- the reference workload ---------------------------------------------------------------------


def _mix(x: int, i: int) -> int:
    return ((x >> 17) ^ (x << 5) ^ i) & 0xFFFF_FFFF


def reference_workload() -> int:
    """A fixed mix of what an interpreter spends a walk on: 64-bit integer arithmetic, shifts
    and masks, dict look-ups and updates, small calls and list appends. Never change it:
    every ratio ever printed divides by it."""
    table: dict[int, int] = {}
    out: list[int] = []
    x = 0x9E37_79B9_7F4A_7C15
    acc = 0
    for i in range(200):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK64
        key = (x >> 52) & 0x3F
        table[key] = table.get(key, 0) + (x & 0xFFFF)
        acc ^= _mix(x, i)
        if x & 1:
            out.append(key)
    return acc + len(table) + len(out)


# -- memory images ------------------------------------------------------------------------------


class Tables:
    """4KB-granule translation tables in a ``{pa: value}`` dict, allocated on demand."""

    def __init__(self, mem: dict[int, int], root: int, start_level: int, iasize: int) -> None:
        self.mem = mem
        self.root = root
        self.start_level = start_level
        self.iasize = iasize
        self.next_table = root + 0x10_0000

    def _index(self, address: int, level: int) -> int:
        lo = 12 + 9 * (3 - level)
        hi = self.iasize - 1 if level == self.start_level else lo + 8
        return (address >> lo) & ((1 << (hi - lo + 1)) - 1)

    def map_page(self, address: int, pa: int, attrs: int) -> None:
        table = self.root
        for level in range(self.start_level, 3):
            slot = table | (self._index(address, level) << 3)
            if slot not in self.mem:
                self.mem[slot] = self.next_table | TABLE
                self.next_table += 0x1000
            table = self.mem[slot] & 0x0000_FFFF_FFFF_F000
        self.mem[table | (self._index(address, 3) << 3)] = (pa & ~0xFFF) | attrs

    def table_pages(self) -> list[int]:
        """Every table page this image uses (for a stage 2 to map)."""
        pages = {self.root & ~0xFFF}
        pages |= {v & 0x0000_FFFF_FFFF_F000 for v in self.mem.values() if v & 3 == TABLE}
        return sorted(pages)


def stage1_setup(t0sz: int, ds: int, two_stage: bool) -> tuple[dict, dict]:
    """Registers and memory for a 4KB stage-1 walk of ``VA`` (or ``VA52``), optionally under
    a 4KB stage 2 of the same depth that maps every stage-1 table page and the output page."""
    iasize = 64 - t0sz
    start = 3 - (iasize - 13) // 9
    tcr = LAYOUTS["TCR_EL1"].encode(T0SZ=t0sz, DS=ds, IPS=6 if ds else 5, SH0=3, TG1=2)
    regs = {
        "TCR_EL1": tcr,
        "TTBR0_EL1": 0x4000_0000,
        "MAIR_EL1": 0xFF,
        "SCTLR_EL1": 1,
        "HCR_EL2": 1 << 31,
    }
    s1_mem: dict[int, int] = {}
    s1 = Tables(s1_mem, 0x4000_0000, start, iasize)
    va = VA52 if iasize > 48 else VA
    sh = 0 if ds else SH_INNER
    s1.map_page(va, 0x8_7654_3000, S1_PAGE_ATTRS | sh)
    if not two_stage:
        return regs, s1_mem
    mem: dict[int, int] = {}
    s2 = Tables(mem, 0x2000_0000, start, iasize)
    for page in [*s1.table_pages(), 0x8_7654_3000]:
        s2.map_page(page, page + 0x1_0000_0000, S2_PAGE_ATTRS | sh)
    mem.update({pa + 0x1_0000_0000: v for pa, v in s1_mem.items()})
    sl0, sl2 = {0: (2, 0), -1: (0, 1)}[start]
    vtcr = LAYOUTS["VTCR_EL2"].encode(
        T0SZ=t0sz, TG0=0, SL0=sl0, SL2=sl2, PS=6 if ds else 5, DS=ds, SH0=3
    )
    regs.update(VTCR_EL2=vtcr, VTTBR_EL2=0x2000_0000, HCR_EL2=(1 << 31) | 1)
    return regs, mem


# -- timing -------------------------------------------------------------------------------------


def _per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call, with the garbage collector out of the timed block (as ``timeit``
    does), so one workload's garbage is not collected on the other's clock."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - t0) / calls
    finally:
        gc.enable()


def measure(fn: Callable[[], object], rounds: int, calls: int) -> tuple[float, float]:
    """(median µs per call of ``fn``, median µs of the reference workload), interleaved round
    by round so that a drift of the machine's speed affects both alike."""
    walks, refs = [], []
    for _ in range(rounds):
        refs.append(_per_call(reference_workload, 10))
        walks.append(_per_call(fn, calls))
    return statistics.median(walks) * 1e6, statistics.median(refs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds per walk")
    args = parser.parse_args()

    regs1, mem1 = stage1_setup(16, 0, False)
    regs12, mem12 = stage1_setup(16, 0, True)
    regs5, mem5 = stage1_setup(12, 1, False)
    regs55, mem55 = stage1_setup(12, 1, True)
    cases = [
        ("4-level 4KB stage-1 walk, at(s1e1r)", lambda: at("s1e1r", VA, regs1, mem1), 25),
        (
            "4-level over 4-level two-stage, at(s12e1r)",
            lambda: at("s12e1r", VA, regs12, mem12),
            10,
        ),
        ("5-level 4KB LPA2 walk", lambda: walk(Regime.EL10, regs5, mem5, VA52, "el1r"), 25),
        (
            "two-stage 4KB 52-bit walk, 35 reads",
            lambda: walk(Regime.EL10_S12, regs55, mem55, VA52, "el1r"),
            5,
        ),
    ]
    for name, fn, _calls in cases:
        par = fn()
        par = par if isinstance(par, int) else par.par
        assert not par & 1, f"{name}: the walk faulted (PAR {par:#x})"
    print(f"{'walk':46s} {'median':>10s} {'reference':>10s} {'ratio':>7s}")
    for name, fn, calls in cases:
        walk_us, ref_us = measure(fn, args.rounds, calls)
        print(f"{name:46s} {walk_us:8.1f} us {ref_us:7.1f} us {walk_us / ref_us:7.2f}")


if __name__ == "__main__":
    main()
