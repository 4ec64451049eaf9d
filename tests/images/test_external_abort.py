"""A table read outside the memory image is what the architecture makes of it: a synchronous
External abort on the translation table walk, reported at the level being read (FSC 0x14 +
level, 0x13 at level -1), with S1PTW=1 when it is the stage-2 walk of a stage-1 table address
that aborts. The CLI reports a broken image file with its name and exit status 2."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from model import walk
from model.arch.faults import FaultKind
from model.explore.image import open_image
from model.explore.ptdump import list_mappings

from .elfcore import Load, core_bytes, core_of
from .tables import Allocator, Tables
from .test_ptdump import stage1_regs, stage2_regs

ROOT = Path(__file__).resolve().parents[2]


def image_of(tmp_path, words: dict[int, int], granule_bits: int = 12):
    path = tmp_path / "image.elf"
    path.write_bytes(core_of(words, 1 << granule_bits))
    return open_image([str(path)])


def test_a_table_outside_the_image_aborts_at_its_level(tmp_path):
    t = Tables(1, 4, True, 52, Allocator(0x4000_0000, 0x4100_0000, random.Random(1)))
    t.map(0x0001_0000_0000_0000, 0x8000_0000, 3)
    outside = 0x0008_0000_0000_0000  # OA[51:50] in bits [9:8]: 0b10
    t.put(0x0002_0000_0000_0000, 0, (outside & ((1 << 50) - 1)) | (2 << 8) | 0b11)
    image = image_of(tmp_path, t.words)
    regs = stage1_regs(t, 52)
    result = walk("el10", regs, image, 0x0002_0000_1234_5000, "el1r")
    fault = result.fault
    assert fault is not None and fault.kind == FaultKind.SEA_WALK
    assert (fault.level, fault.stage, fault.s1ptw, fault.fsc) == (1, 1, False, 0x15)
    assert f"{outside:#x}" in fault.message
    assert result.par & 1 and (result.par >> 1) & 0x3F == 0x15
    assert result.levels[-1].kind == "external-abort" and result.levels[-1].raw is None
    # the start table itself outside the image: level -1, FSC 0x13
    far = walk("el10", {**regs, "TTBR0_EL1": 0x7000_0000}, image, 0x1000, "el1r")
    assert far.fault is not None and (far.fault.level, far.fault.fsc) == (-1, 0x13)
    # the listing lists it among its mappings, not raised
    listing = list_mappings("el10", regs, image)
    assert [(m.start, m.oa) for m in listing.mappings] == [(0x0001_0000_0000_0000, 0x8000_0000)]
    (sea,) = listing.faults
    assert (sea.start, sea.end) == (0x0002_0000_0000_0000, 0x0002_0080_0000_0000)
    assert sea.fault.kind == FaultKind.SEA_WALK and sea.fault.fsc == 0x15


def test_stage2_walk_of_a_stage1_table_that_aborts_has_s1ptw(tmp_path):
    s1 = Tables(1, 4, False, 48, Allocator(0x4000_0000, 0x4020_0000, random.Random(2)))
    s1.map(0x1000_0000, 0x6000_0000, 3)
    s2 = Tables(2, 4, False, 40, Allocator(0x5000_0000, 0x5100_0000, random.Random(3)), start=1)
    level2 = 0x20_0000_0000  # the stage-2 level-2 table for the stage-1 tables: outside
    s2.put(s1.root, 1, level2 | 0b11)
    entry_ipa = s1.root + ((0x1000_0000 >> 39) & 511) * 8  # the stage-1 level-0 entry
    words = {**s1.words, **s2.words}
    image = image_of(tmp_path, words)
    regs = {**stage1_regs(s1, 48), **stage2_regs(s2, 40, sl0=0b01)}
    result = walk("el10_s12", regs, image, 0x1000_0000, "el1r")
    fault = result.fault
    assert fault is not None and fault.kind == FaultKind.SEA_WALK
    assert (fault.stage, fault.level, fault.s1ptw, fault.ipa) == (2, 2, True, entry_ipa)
    assert (result.par >> 8) & 3 == 0b11  # PAR.PTW and PAR.S
    listing = list_mappings("el10_s12", regs, image)
    assert listing.faults and listing.faults[0].fault.s1ptw


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = Path(sys.executable).parent / "lpa2-explorer"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


def test_cli_names_a_broken_file_and_exits_2(tmp_path):
    good = core_bytes([Load(0x1000, bytes(4096))])
    truncated = tmp_path / "truncated.elf"
    truncated.write_bytes(good[:-8])
    corrupt = tmp_path / "corrupt.elf"
    corrupt.write_bytes(good[:5] + b"\x09" + good[6:])
    for path, problem in ((truncated, "truncated: PT_LOAD 0"), (corrupt, "EI_DATA=9")):
        for command in ("walk", "ptdump", "image"):
            args = [command, str(path)] if command == "image" else [command, "--image", str(path)]
            run = _cli(*args)
            assert run.returncode == 2, (command, run.stderr)
            assert run.stdout == ""
            assert str(path) in run.stderr and problem in run.stderr
            assert "Traceback" not in run.stderr
    regs = tmp_path / "regs"
    regs.write_text("TCR_EL1=0x10\nNOT_A_REGISTER=1\n")
    run = _cli("walk", "--image", str(truncated.with_name("none.bin")), "--regs", str(regs))
    assert run.returncode == 2 and "none.bin: no such file" in run.stderr
    (tmp_path / "ok.bin").write_bytes(bytes(64))
    run = _cli("walk", "--image", str(tmp_path / "ok.bin"), "--regs", str(regs))
    assert run.returncode == 2 and f"{regs}:2: unknown register 'NOT_A_REGISTER'" in run.stderr


def test_cli_link_and_image_must_agree(tmp_path):
    (tmp_path / "a.bin").write_bytes(bytes(64))
    other = "ef" * 32
    run = _cli("walk", f"?v=2&image={other}")
    assert run.returncode == 2 and f"sha256 {other}: give it with --image FILE" in run.stderr
    run = _cli("walk", f"?v=2&image={other}", "--image", str(tmp_path / "a.bin"))
    assert run.returncode == 2 and "but a.bin has sha256" in run.stderr
