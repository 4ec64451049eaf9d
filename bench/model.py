"""Benchmark the model: median microseconds per walk and walks per second.

Run: python3 bench/model.py
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import LAYOUTS, Regime, tables_for, walk  # noqa: E402

VA = 0x000F_1234_5678_9ABC


def _memory(regs, regime):
    """A plain dict holding the background-table descriptors the walk of VA reads."""
    mem = tables_for(regs)
    res = walk(regime, regs, mem, VA, "el1r")
    reads = [lr for lr in res.levels] + [n for lr in res.levels if lr.s2 for n in lr.s2.levels]
    reads += res.s2_final.levels if res.s2_final else []
    return {lr.desc_address: mem.read64(lr.desc_address) for lr in reads}


def bench(name, regime, regs, runs=2000):
    mem = _memory(regs, regime)
    res = walk(regime, regs, mem, VA, "el1r")
    assert res.fault is None, res.fault
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        walk(regime, regs, mem, VA, "el1r")
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1e6
    print(
        f"{name:45s} median {med:8.1f} us  {1e6 / med:9.0f} walks/s  "
        f"({res.descriptor_reads} descriptor reads)"
    )


def main():
    tcr = LAYOUTS["TCR_EL1"].encode(T0SZ=12, DS=1, IPS=6, SH0=3)
    s1 = {"TCR_EL1": tcr, "TTBR0_EL1": 0x4000_0000}
    bench("5-level 4KB LPA2 stage-1 walk", Regime.EL10, s1)
    vtcr = LAYOUTS["VTCR_EL2"].encode(T0SZ=12, TG0=0, SL0=0, SL2=1, PS=6, DS=1)
    s12 = dict(s1, VTCR_EL2=vtcr, VTTBR_EL2=0x8000_0000, HCR_EL2=1)
    bench("two-stage 4KB 52-bit walk (35 reads)", Regime.EL10_S12, s12, runs=500)


if __name__ == "__main__":
    main()
