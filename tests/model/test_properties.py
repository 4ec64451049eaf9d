"""Property tests (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from model import LAYOUTS, Regime, geometry, tables_for, walk
from model.arch.descriptors import address_mask, decode_address, encode_address

from .helpers import HCR, tcr1, vtcr

granules = st.sampled_from([4, 16, 64])


@given(granules, st.integers(16, 52), st.integers(0, (1 << 52) - 1))
def test_index_fields_and_offset_partition_the_input_address(granule, iasize, addr):
    gb = geometry.granule_bits(granule)
    if iasize < gb + 1:
        return
    addr &= (1 << iasize) - 1
    start = geometry.s1_start_level(iasize, granule)
    fields = geometry.index_fields(iasize, granule, start)
    rebuilt = addr & ((1 << gb) - 1)
    expected_lo = gb
    for _lvl, hi, lo in reversed(fields):
        assert lo == expected_lo
        expected_lo = hi + 1
        rebuilt |= ((addr >> lo) & ((1 << (hi - lo + 1)) - 1)) << lo
    assert expected_lo == iasize
    assert rebuilt == addr


FORMATS = [
    (stage, kind, variant, granule)
    for stage in (1, 2)
    for kind in ("table", "block", "page")
    for variant, gran in (("DS0", (4, 16, 64)), ("DS1", (4, 16)), ("LPA", (64,)))
    for granule in gran
]


def _low_bits(kind, granule, level):
    gb = geometry.granule_bits(granule)
    if kind == "table" or kind == "page":
        return gb
    return geometry.block_size_bits(level, granule)


@given(st.sampled_from(FORMATS), st.integers(0, (1 << 52) - 1), st.integers(1, 2))
def test_descriptor_address_round_trip(fmt, addr, level):
    stage, kind, variant, granule = fmt
    layout = LAYOUTS[
        f"S{stage}_{kind.upper()}" + {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    ]
    low = _low_bits(kind, granule, level)
    top = 48 if variant == "DS0" else 52
    addr &= ((1 << top) - 1) & ~((1 << low) - 1)
    raw = encode_address(addr, layout, variant, low)
    assert decode_address(raw, layout, variant, low)[0] == addr


@given(st.sampled_from(FORMATS), st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1))
def test_bits_outside_address_field_do_not_change_address(fmt, raw, noise):
    stage, kind, variant, granule = fmt
    layout = LAYOUTS[
        f"S{stage}_{kind.upper()}" + {"DS0": "", "DS1": "_DS1", "LPA": "_LPA"}[variant]
    ]
    low = _low_bits(kind, granule, 2)
    mask = address_mask(layout, variant, low)
    a = decode_address(raw, layout, variant, low)[0]
    b = decode_address((raw & mask) | (noise & ~mask), layout, variant, low)[0]
    assert a == b


S1_CONFIGS = st.sampled_from(
    [
        dict(T0SZ=12, DS=1, IPS=6, TG0=0),
        dict(T0SZ=16, IPS=5, TG0=0),
        dict(T0SZ=12, DS=1, IPS=6, TG0=2),
        dict(T0SZ=12, IPS=6, TG0=1),
        dict(T0SZ=25, IPS=2, TG0=0),
        dict(T0SZ=33, IPS=5, TG0=2),
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    S1_CONFIGS,
    st.integers(0, (1 << 52) - 1),
    st.dictionaries(
        st.integers(0, 1 << 20).map(lambda x: 0x4000_0000 + x * 8),
        st.integers(0, (1 << 64) - 1),
        max_size=8,
    ),
)
def test_stage1_reads_at_most_levels(cfg, va, noise):
    tcr = tcr1(**cfg)
    r = walk(Regime.EL10, {"TCR_EL1": tcr, "TTBR0_EL1": 0x4000_0000}, noise, va, "el1r")
    p = r.params["s1"]
    assert r.descriptor_reads <= 4 - p.start_level
    regs = {"TCR_EL1": tcr, "TTBR0_EL1": 0x4000_0000}
    r2 = walk(Regime.EL10, regs, tables_for(regs, memory=noise), va, "el1r")
    assert r2.descriptor_reads <= 4 - p.start_level


@settings(max_examples=40, deadline=None)
@given(
    S1_CONFIGS,
    st.integers(0, (1 << 48) - 1),
    st.sampled_from(
        [
            dict(T0SZ=12, TG0=0, SL0=0, SL2=1, PS=6, DS=1),
            dict(T0SZ=16, TG0=0, SL0=2, PS=6),
            dict(T0SZ=25, TG0=0, SL0=1, PS=5),
            dict(T0SZ=12, TG0=2, SL0=3, PS=6, DS=1),
            dict(T0SZ=20, TG0=1, SL0=2, PS=6),
        ]
    ),
)
def test_two_stage_read_bound(cfg1, va, cfg2):
    regs = {
        "TCR_EL1": tcr1(**cfg1),
        "TTBR0_EL1": 0x8000,
        "VTCR_EL2": vtcr(**cfg2),
        "VTTBR_EL2": 0x20_0000,
        "HCR_EL2": HCR.encode(VM=1),
    }
    r = walk(Regime.EL10_S12, regs, tables_for(regs), va, "el1r")
    n1 = 4 - r.params["s1"].start_level
    n2 = 4 - r.params["s2"].start_level
    assert r.descriptor_reads <= (n1 + 1) * (n2 + 1) - 1
    if r.fault is None:
        assert r.descriptor_reads == (n1 + 1) * (n2 + 1) - 1
