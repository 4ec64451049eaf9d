"""Small helpers for building registers and hand-written tables in tests."""

from model import LAYOUTS

TCR_EL1 = LAYOUTS["TCR_EL1"]
TCR_EL2 = LAYOUTS["TCR_EL2"]
TCR_EL2_E2H = LAYOUTS["TCR_EL2_E2H"]
VTCR = LAYOUTS["VTCR_EL2"]
HCR = LAYOUTS["HCR_EL2"]

PAGE_RW = (1 << 10) | 0b11  # AF=1, valid page/table, AP=00
TABLE = 0b11
BLOCK = 0b01
AF = 1 << 10


def tcr1(**f):
    return TCR_EL1.encode(**f)


def vtcr(**f):
    return VTCR.encode(**f)


def chain_4k(va, base, levels, leaf, step=0x1000, ds=False):
    """Memory for a 4KB walk of ``va`` with tables at base, base+step, ...; ``levels`` is the
    list of levels from the start level to 3; the last level holds ``leaf`` (a raw value)."""
    mem = {}
    table = base
    for i, lvl in enumerate(levels):
        shift = 12 + 9 * (3 - lvl)
        idx = (va >> shift) & 0x1FF
        addr = table | (idx << 3)
        if i == len(levels) - 1:
            mem[addr] = leaf
        else:
            nxt = base + step * (i + 1)
            mem[addr] = nxt | TABLE
            table = nxt
    return mem
