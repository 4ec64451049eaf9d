"""Real images: the guest under QEMU writes translation tables and runs AT instructions on
them, QEMU dumps guest memory as an ELF core file (QMP ``dump-guest-memory``), and then
``lpa2-explorer walk --image`` on that dump must give the PAR the AT instruction gave, and
``lpa2-explorer ptdump`` must list exactly the mappings the guest wrote.

One batch, one boot, one dump: every granule, DS off and on, TTBR0 and TTBR1, EL2, stage 2
alone and two stages, faults of each kind, and a table outside guest RAM (an External abort
on the walk). The tables are written by ``tests/images/tables.py`` (bits from the fact
sheet), scattered over the dump's table region. Scenarios avoid the places where QEMU departs
from the architecture (deviations.py): Normal Write-Back memory only, no high output-address
bits with an output size under 52 bits, no stage-2 faults on stage-1 table reads.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import pytest
from deviations import pars_equal
from qemu_dump import DUMP_TABLE_REGION, run_and_dump
from qemu_runner import GuestException, Scenario, format_par

from app import cli
from model.arch.fields import HCR_EL2, SCTLR, TCR_EL1, TCR_EL2, VTCR_EL2
from tests.images.tables import Allocator, Tables, merged

pytestmark = pytest.mark.usefixtures("qemu_tools")

TG0 = {4: 0b00, 16: 0b10, 64: 0b01}
TG1 = {4: 0b10, 16: 0b01, 64: 0b11}
PS = {40: 0b010, 48: 0b101, 52: 0b110}
HCR_RW = HCR_EL2.encode(RW=1)
SCTLR_ON = SCTLR.encode(M=1)
OUTSIDE_RAM = 0x2_0000_0000
# AT operation -> (regime, access) of the equivalent walk
OPS = {
    "S1E1R": ("el10", "el1r"),
    "S1E1W": ("el10", "el1w"),
    "S1E0R": ("el10", "el0r"),
    "S1E0W": ("el10", "el0w"),
    "S1E2R": ("el2", "el2r"),
    "S12E1R": ("el10_s12", "el1r"),
    "S12E1W": ("el10_s12", "el1w"),
}


@dataclass
class Config:
    """One set of tables and the AT scenarios run on it."""

    name: str
    regime: str  # the regime ptdump lists
    regs: dict[str, int]
    tables: list[Tables]
    probes: list[tuple[str, int]]  # (AT op, input address)
    expected: list[tuple] = field(default_factory=list)  # ptdump ranges
    stage2_only: bool = False  # AT S12E1R with stage 1 off: compare PA and fault only


def _tcr1(t: Tables, ps: int, upper: bool = False) -> int:
    if upper:
        return TCR_EL1.encode(T1SZ=64 - t.iasize, TG1=TG1[t.granule], IPS=PS[ps], DS=int(t.ds),
                              EPD0=1, SH1=0b11)  # fmt: skip
    return TCR_EL1.encode(T0SZ=64 - t.iasize, TG0=TG0[t.granule], IPS=PS[ps], DS=int(t.ds),
                          EPD1=1, SH0=0b11)  # fmt: skip


def _vtcr(t: Tables, ps: int, sl0: int) -> int:
    return VTCR_EL2.encode(T0SZ=64 - t.iasize, SL0=sl0, TG0=TG0[t.granule], PS=PS[ps],
                           DS=int(t.ds), SH0=0b11)  # fmt: skip


def _s1(name, granule, ds, iasize, ps, alloc, leaves, probes, upper=False) -> Config:
    t = Tables(1, granule, ds, iasize, alloc, lpa=granule == 64 and ps == 52)
    for va, oa, level, kw in leaves:
        t.map(va, oa, level, **kw)
    ttbr = "TTBR1_EL1" if upper else "TTBR0_EL1"
    regs = {"TCR_EL1": _tcr1(t, ps, upper), ttbr: t.ttbr(), "MAIR_EL1": 0xFF,
            "SCTLR_EL1": SCTLR_ON, "HCR_EL2": HCR_RW}  # fmt: skip
    return Config(name, "el10", regs, [t], probes, merged(t.mappings))


def build_configs() -> list[Config]:
    alloc = Allocator(*DUMP_TABLE_REGION, random.Random(2025))
    configs = []
    # 4KB, 48 bits, DS=0: contiguous pages, blocks, permissions, faults, a table outside RAM
    a = Tables(1, 4, False, 48, alloc)
    for i in range(16):
        a.map(0x10_0000 + i * 0x1000, 0x8000_0000 + i * 0x1000, 3, contiguous=1)
    a.map(0x20_0000, 0x9000_0000, 3, ap=0b10)  # read-only, EL1 only
    a.map(0x20_1000, 0x9000_1000, 3, ap=0b01)  # EL0 read/write
    a.map(0x20_2000, 0x9000_2000, 3, af=0)
    a.map(0x4000_0000, 0xA000_0000, 2)
    a.map(0x80_0000_0000, 0xC000_0000, 1)
    a.put(0x100_0000_0000, 1, OUTSIDE_RAM | 0b11)  # level 1 table descriptor -> outside RAM
    regs = {"TCR_EL1": _tcr1(a, 48), "TTBR0_EL1": a.ttbr(), "MAIR_EL1": 0xFF,
            "SCTLR_EL1": SCTLR_ON, "HCR_EL2": HCR_RW}  # fmt: skip
    probes = [("S1E1R", 0x10_0ABC), ("S1E1R", 0x10_FFF8), ("S1E1W", 0x20_0010),
              ("S1E1R", 0x20_0010), ("S1E0R", 0x20_0010), ("S1E0W", 0x20_1010),
              ("S1E1R", 0x20_2000), ("S1E1R", 0x4012_3456), ("S1E1W", 0x80_1234_5678),
              ("S1E1R", 0x30_0000), ("S1E1R", 0x7F_0000_0000),
              ("S1E1R", 0x100_0000_1000)]  # fmt: skip
    configs.append(Config("4k-48", "el10", regs, [a], probes, merged(a.mappings)))
    configs.append(_s1(
        "4k-52-lpa2", 4, True, 52, 52, alloc,
        [(0x000F_1234_5678_9000, 0x000C_0000_1234_5000, 3, {}),
         (0x0008_0000_0000_0000, 0x0004_0080_0000_0000, 0, {})],
        [("S1E1R", 0x000F_1234_5678_9ABC), ("S1E1R", 0x0008_0012_3456_789A),
         ("S1E1R", 0x0007_0000_0000_0000)],
    ))  # fmt: skip
    configs.append(_s1(
        "16k-52-lpa2-ttbr1", 16, True, 52, 52, alloc,
        [(0xFFF8_1234_5678_8000, 0x000B_2340_0000_4000, 3, {}),
         (0xFFFF_0000_0000_0000, 0x000B_0000_0000_0000, 1, {"ap": 0b10})],
        [("S1E1R", 0xFFF8_1234_5678_9ABC), ("S1E1W", 0xFFFF_0000_1234_5678),
         ("S1E1R", 0xFFFF_0000_1234_5678)],
        upper=True,
    ))  # fmt: skip
    configs.append(_s1(
        "16k-47", 16, False, 47, 48, alloc,
        [(0x0000_1234_5678_8000, 0x0000_8765_4321_4000, 3, {}),
         (0x0000_2000_0200_0000, 0x0000_0300_0000_0000, 2, {})],
        [("S1E1R", 0x0000_1234_5678_9ABC), ("S1E1R", 0x0000_2000_0212_3456)],
    ))  # fmt: skip
    configs.append(_s1(
        "64k-52-lpa", 64, False, 52, 52, alloc,
        [(0x000A_9876_5432_0000, 0x000F_0000_1234_0000, 3, {}),
         (0x0004_0000_0000_0000, 0x0009_0400_0000_0000, 1, {})],
        [("S1E1R", 0x000A_9876_5432_1ABC), ("S1E1R", 0x0004_0123_4567_89AB)],
    ))  # fmt: skip
    configs.append(_s1(
        "64k-48", 64, False, 48, 48, alloc,
        [(0x0000_1234_5678_0000, 0x0000_8765_4321_0000, 3, {})],
        [("S1E1R", 0x0000_1234_5678_1234)],
    ))  # fmt: skip
    # EL2 (E2H=0), 4KB LPA2
    e = Tables(1, 4, True, 52, alloc)
    e.map(0x000E_0000_1234_5000, 0x000D_0000_0000_0000, 3)
    e.map(0x0001_0000_4000_0000, 0x0002_0000_4000_0000, 2)
    regs = {"TCR_EL2": TCR_EL2.encode(T0SZ=12, TG0=0, PS=PS[52], DS=1, SH0=0b11),
            "TTBR0_EL2": e.ttbr(), "MAIR_EL2": 0xFF, "SCTLR_EL2": SCTLR_ON,
            "HCR_EL2": HCR_RW}  # fmt: skip
    configs.append(Config("el2-4k-52", "el2", regs, [e],
                          [("S1E2R", 0x000E_0000_1234_5678), ("S1E2R", 0x0001_0000_4012_3456)],
                          merged(e.mappings)))  # fmt: skip
    # stage 2 alone (AT S12E1R with stage 1 off): 4KB LPA2 with 16 concatenated level-0 tables,
    # 16KB and 64KB
    for name, granule, ds, iasize, ps, sl0, start, leaves in (
        ("s2-4k-52-concat", 4, True, 52, 52, 0b10, 0,
         [(0x000F_1234_5678_9000, 0x0008_0000_1234_5000, 3, {"s2ap": 0b01}),
          (0x0001_0000_0000_0000, 0x0002_0000_0000_0000, 0, {})]),
        ("s2-16k-48", 16, False, 48, 48, 0b10, 1,
         [(0x0000_1234_5678_8000, 0x0000_4321_0000_4000, 3, {}),
          (0x0000_4000_0000_0000, 0x0000_0800_0000_0000, 2, {"af": 0})]),
        ("s2-64k-52", 64, False, 52, 52, 0b10, 1,
         [(0x000A_0000_0001_0000, 0x0003_0000_0001_0000, 3, {})]),
    ):  # fmt: skip
        t = Tables(2, granule, ds, iasize, alloc, start=start, lpa=granule == 64 and ps == 52)
        for ipa, pa, level, kw in leaves:
            t.map(ipa, pa, level, **kw)
        regs = {"VTCR_EL2": _vtcr(t, ps, sl0), "VTTBR_EL2": t.ttbr(),
                "HCR_EL2": HCR_EL2.encode(RW=1, VM=1)}  # fmt: skip
        probes = [("S12E1R", ipa + 0x123) for ipa, _pa, _lv, _kw in leaves]
        probes += [("S12E1W", leaves[0][0] + 8), ("S12E1R", leaves[0][0] + (1 << 40))]
        configs.append(Config(name, "stage2", regs, [t], probes, merged(t.mappings), True))
    # two stages: a 48-bit DS=0 guest stage 1 whose tables stage 2 (4KB LPA2) maps in place
    s2 = Tables(2, 4, True, 52, alloc, start=0)
    lo, hi = DUMP_TABLE_REGION
    for ipa in range(lo, hi, 2 << 20):
        s2.map(ipa, ipa, 2)
    s2.map(0x8000_0000, 0x000C_0000_8000_0000, 2)  # the guest's memory: IPA 2GB+
    s1 = Tables(1, 4, False, 48, alloc)
    s1.map(0x1000_0000, 0x8000_0000, 3)
    s1.map(0x1020_0000, 0x8020_0000 - 0x20_0000, 2)  # IPA 0x8000_0000 again, as a block
    s1.map(0x2000_0000, 0x9000_0000, 3)  # an IPA stage 2 does not map
    regs = {"TCR_EL1": _tcr1(s1, 48), "TTBR0_EL1": s1.ttbr(), "MAIR_EL1": 0xFF,
            "SCTLR_EL1": SCTLR_ON, "VTCR_EL2": _vtcr(s2, 52, 0b10), "VTTBR_EL2": s2.ttbr(),
            "HCR_EL2": HCR_EL2.encode(RW=1, VM=1)}  # fmt: skip
    composed = [(0x1000_0000, 0x1000_1000, 0x000C_0000_8000_0000, 3, "page"),
                (0x1020_0000, 0x1040_0000, 0x000C_0000_8000_0000, 2, "block")]  # fmt: skip
    configs.append(Config("s12-4k48-over-4k52", "el10_s12", regs, [s1, s2],
                          [("S12E1R", 0x1000_0ABC), ("S12E1W", 0x1020_1234),
                           ("S12E1R", 0x2000_0000), ("S1E1R", 0x1000_0ABC)],
                          composed))  # fmt: skip
    return configs


def scenarios_of(configs: list[Config]) -> list[Scenario]:
    out = []
    for c in configs:
        memory: dict[int, int] = {}
        for t in c.tables:
            memory.update(t.words)
        regs = dict(c.regs)
        if c.stage2_only:
            regs["SCTLR_EL1"] = 0  # stage 1 off: the IPA is the VA
        for i, (op, va) in enumerate(c.probes):
            out.append(Scenario(op, va, regs, memory if i == 0 else {}, f"{c.name}/{op}@{va:#x}"))
    return out


@pytest.fixture(scope="module")
def guest_dump(tmp_path_factory):
    configs = build_configs()
    scenarios = scenarios_of(configs)
    dump = tmp_path_factory.mktemp("dump") / "guest.elf"
    result = run_and_dump(scenarios, dump)
    return configs, scenarios, result


def cli_json(capsys, *args: str) -> dict:
    status = cli.main(list(args) + ["--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    return json.loads(out.out)


def regs_args(tmp_path, name: str, regs: dict) -> list[str]:
    path = tmp_path / f"{name}.regs"
    path.write_text("".join(f"{k}={v:#x}\n" for k, v in regs.items()))
    return ["--regs", str(path)]


def test_walk_over_the_dump_gives_the_par_of_the_at_instruction(guest_dump, capsys, tmp_path):
    configs, scenarios, result = guest_dump
    assert len(result.pars) == len(scenarios)
    wrong = []
    for s, par in zip(scenarios, result.pars, strict=True):
        regime, access = OPS[s.op]
        if s.regs.get("SCTLR_EL1") == 0:
            regime = "stage2"
        walk = cli_json(
            capsys, "walk", "--image", str(result.dump), *regs_args(tmp_path, "s", s.regs),
            "--regime", regime, "--access", access, "--va", hex(s.va),
        )["walk"]  # fmt: skip
        model = int(walk["par"], 16)  # 64-bit values as "0x…" strings (app.jsonform)
        if isinstance(par, GuestException):
            # a table read outside RAM: QEMU takes the External abort as a Data Abort
            fault = walk["fault"] or {}
            if not (par.ec == 0x25 and fault.get("kind") == "sea_walk" and fault["fsc"] == par.fsc):
                wrong.append(f"{s.name}: QEMU {par!r}, model {fault}")
        elif not isinstance(par, int):
            wrong.append(f"{s.name}: QEMU {par!r}")
        elif regime == "stage2":
            # AT S12E1R with stage 1 off combines Device-nGnRnE with stage 2: compare the
            # output address, or the fault's FST, PTW and S
            mask = 0x3FF if par & 1 else 0x000F_FFFF_FFFF_F001
            if (model ^ par) & mask:
                wrong.append(f"{s.name}: QEMU {format_par(par)}, model {format_par(model)}")
        elif not pars_equal(model, par):
            wrong.append(f"{s.name}: QEMU {format_par(par)}, model {format_par(model)}")
    assert not wrong, "\n".join(wrong)
    # the scenarios cover what they claim: translations and faults of several kinds
    kinds = {p & 1 if isinstance(p, int) else "sea" for p in result.pars}
    assert kinds == {0, 1, "sea"}


def test_ptdump_of_the_dump_lists_what_the_guest_wrote(guest_dump, capsys, tmp_path):
    configs, _scenarios, result = guest_dump
    for c in configs:
        listing = cli_json(
            capsys, "ptdump", "--image", str(result.dump), *regs_args(tmp_path, c.name, c.regs),
            "--regime", c.regime,
        )  # fmt: skip
        got = [
            (int(m["start"], 16), int(m["end"], 16), int(m["oa"], 16), m["level"], m["kind"])
            for root in listing["roots"]
            for m in root["mappings"]
        ]
        assert got == c.expected, c.name
        formats = {root["params"]["format"] for root in listing["roots"] if root["params"]}
        assert c.tables[0].variant in formats, c.name


def test_dump_is_the_guest_ram(guest_dump, capsys):
    _configs, _scenarios, result = guest_dump
    info = cli_json(capsys, "image", str(result.dump))
    (segment,) = info["segments"]
    assert int(segment["base"], 16) == 0x4000_0000
    assert int(segment["end"], 16) == DUMP_TABLE_REGION[1]
