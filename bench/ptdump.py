"""Benchmark the mapping listing (``lpa2-explorer ptdump``) on a large memory image.

Builds a raw image (a sparse file) holding a 52-bit 4KB FEAT_LPA2 stage 1 (TCR_EL1.DS=1,
T0SZ=12, start level -1) with at least 1,000,000 valid leaf entries: full level-3 tables of
pages with attributes that change every few entries (so ranges do not merge into a handful),
and level-2 blocks among them; every table at a random place in the image. Then lists it and
reports descriptors scanned per second of the process's CPU time (and of wall time: on a shared
machine the process does not get the CPU all the time), leaf entries per second and the peak
resident memory; and the median time of bench/model.py's fixed reference workload in the same
process, to compare machines.
The image is built twice, its tables scattered over regions of different sizes, to show that
memory use follows the tables, not the image (the image is memory-mapped, never read whole).

Run: python3 bench/ptdump.py [--leaves 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import array
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.arch.fields import MAIR, SCTLR, TCR_EL1  # noqa: E402
from tests.images.tables import AF, Allocator, Tables, encode_oa  # noqa: E402

BASE = 0x8_0000_0000  # the image's physical base


def build(path: Path, leaves: int, span: int, seed: int) -> tuple[dict, int]:
    """Write the image; returns the registers and the number of valid leaf entries."""
    rng = random.Random(seed)
    tables = Tables(1, 4, True, 52, Allocator(BASE, BASE + span, rng))
    written = 0
    l3_tables = 0
    used: set[int] = set()
    with open(path, "wb") as f:
        f.truncate(span)
        while written < leaves:
            # one 1GB region per 512 level-2 entries; regions spread over the 52-bit space
            va_region = rng.randrange(1 << 22) << 30
            if va_region in used:
                continue
            used.add(va_region)
            for l2 in range(512):
                if written >= leaves:
                    break
                va = va_region | (l2 << 21)
                oa = (0x000C_0000_0000_0000 | rng.randrange(1 << 28) << 21) & ((1 << 52) - 1)
                if l2 % 8 == 7:  # a 2MB block
                    tables.map(va, oa, 2, attr=rng.choice((0, 1)), ap=rng.choice((0, 1)))
                    written += 1
                    continue
                table = tables.table_for(va, 3)
                words = array.array("Q", bytes(4096))
                for i in range(512):
                    bits = AF | (rng.choice((0, 0, 0, 1)) << 6)
                    words[i] = encode_oa(oa + (i << 12), "DS1", 12) | bits | 0b11
                f.seek(table - BASE)
                f.write(words.tobytes())
                l3_tables += 1
                written += 512
        for address, value in tables.words.items():
            f.seek(address - BASE)
            f.write(value.to_bytes(8, "little"))
    regs = {
        "TCR_EL1": TCR_EL1.encode(T0SZ=12, TG0=0b00, IPS=0b110, DS=1, SH0=0b11, EPD1=1),
        "TTBR0_EL1": tables.ttbr(),
        "MAIR_EL1": MAIR.encode(Attr0=0xFF, Attr1=0x04),
        "SCTLR_EL1": SCTLR.encode(M=1),
    }
    return regs, written


def measure(image: Path, regs: dict) -> dict:
    """List the image in a fresh process (so its peak RSS is the listing's own)."""
    code = f"""
import importlib.util, resource, statistics, sys, time
sys.path.insert(0, {str(ROOT)!r})
from model.explore.image import open_image
from model.explore.ptdump import list_mappings
spec = importlib.util.spec_from_file_location("bench_model", {str(ROOT / "bench" / "model.py")!r})
bench_model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_model)

def reference():
    times = []
    for _ in range(200):
        t = time.perf_counter()
        bench_model.reference_workload()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

image = open_image([{f"{image}@{BASE:#x}"!r}])
before = reference()
t0, c0 = time.perf_counter(), time.process_time()
listing = list_mappings("el10", {regs!r}, image)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
after = reference()
leaves = sum(m.entries for m in listing.mappings) + sum(f.entries for f in listing.faults)
print(listing.descriptors, leaves, len(listing.mappings), seconds,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, (before + after) / 2, cpu)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    descriptors, leaves, ranges = int(out[0]), int(out[1]), int(out[2])
    seconds, rss_kb, reference, cpu = float(out[3]), int(out[4]), float(out[5]), float(out[6])
    return {
        "reference_us": reference * 1e6,
        "cpu": cpu,
        "descriptors": descriptors,
        "leaves": leaves,
        "ranges": ranges,
        "seconds": seconds,
        "rss_mb": rss_kb / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lpa2-bench-") as td:
        for span in (1 << 30, 16 << 30):
            path = Path(td) / f"image-{span >> 30}g.bin"
            t0 = time.perf_counter()
            regs, leaves = build(path, args.leaves, span, seed=1)
            built = time.perf_counter() - t0
            on_disk = os.stat(path).st_blocks * 512
            print(
                f"image {path.name}: {span >> 20} MiB ({on_disk >> 20} MiB on disk), "
                f"{leaves} valid leaf entries, built in {built:.1f} s"
            )
            for run in range(args.runs):
                m = measure(path, regs)
                print(
                    f"  run {run + 1}: {m['descriptors']:,} descriptors scanned in "
                    f"{m['cpu']:.2f} s of CPU = {m['descriptors'] / m['cpu']:,.0f}/s "
                    f"({m['seconds']:.2f} s wall = {m['descriptors'] / m['seconds']:,.0f}/s); "
                    f"{m['leaves']:,} leaves = {m['leaves'] / m['cpu']:,.0f}/s of CPU; "
                    f"{m['ranges']:,} ranges; peak RSS {m['rss_mb']:.0f} MiB; reference "
                    f"workload {m['reference_us']:.0f} us"
                )
            path.unlink()
    print(f"(peak RSS of an idle interpreter: {_idle_rss():.0f} MiB)")


def _idle_rss() -> float:
    code = (
        f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "import model.explore.ptdump; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(out.stdout) / 1024 if out.returncode == 0 else float("nan")


if __name__ == "__main__":
    main()
