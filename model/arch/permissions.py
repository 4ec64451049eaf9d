"""Access permissions of a leaf: who may read, write and execute, with the reasons, and the
permission check of an access (AArch64.S1DirectBasePermissions / S2DirectBasePermissions,
then the check in AArch64.S1Translate / S2Translate).

Stage 1 takes AP[2:1], PXN/UXN (XN at EL2), the hierarchical APTable/PXNTable/UXNTable of the
tables above (unless HPD) and SCTLR.WXN. Stage 2 takes S2AP and XN[1:0] (XNX with FEAT_XNX).
PAN is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .regime import EL10_REGIMES, Access, Regime


@dataclass(frozen=True)
class ELAccess:
    """What one exception level may do."""

    read: bool
    write: bool
    exec: bool

    def allows(self, kind: str) -> bool:
        return bool(getattr(self, kind))

    def to_dict(self) -> dict:
        return {"read": self.read, "write": self.write, "exec": self.exec}


PAN_NOTE = "PAN is not modelled"
_EL_NAMES = ("EL0", "EL1", "EL2")


@dataclass(frozen=True)
class Permissions:
    """One stage's permissions: per exception level (``by_el``: "EL2" alone in the EL2
    regime, else "EL1"/"EL2" and "EL0"), with the reasons in the order they apply."""

    stage: int
    by_el: dict[str, ELAccess]
    why: tuple[str, ...]
    pan: str | None = None

    def __post_init__(self) -> None:
        # For each (EL, kind) of an access: the level it is checked against, whether it is
        # allowed, and whether that level may read (for the dirty-state rule of writes).
        decisions = {}
        for el in range(3):
            name, allowed = self.for_access(Access(el, "read"))
            for kind in ("read", "write", "exec"):
                decisions[(el, kind)] = (name, allowed.allows(kind), allowed.read)
        object.__setattr__(self, "_decisions", decisions)

    def decide(self, access: Access) -> tuple[str, bool, bool]:
        """(the level checked, whether ``access`` is allowed, whether that level may read)."""
        return self._decisions[(access.el, access.kind)]  # type: ignore[attr-defined]

    def for_access(self, access: Access) -> tuple[str, ELAccess]:
        """The level whose permissions an access is checked against: its own, or, for an
        access from a level this regime does not describe, the regime's level."""
        key = _EL_NAMES[access.el]
        found = self.by_el.get(key)
        if found is not None:
            return key, found
        key = next(iter(self.by_el))
        return key, self.by_el[key]

    def to_dict(self) -> dict:
        out: dict = {el: p.to_dict() for el, p in self.by_el.items()}
        out["why"] = list(self.why)
        if self.pan is not None:
            out["pan"] = self.pan
        return out


@dataclass(frozen=True)
class TwoStagePermissions:
    """Both stages' permissions; an access needs both."""

    stage1: Permissions
    stage2: Permissions

    def to_dict(self) -> dict:
        return {"stage1": self.stage1.to_dict(), "stage2": self.stage2.to_dict()}


_AP_TEXT = {
    0: "AP=0b00: privileged RW, EL0 none",
    1: "AP=0b01: privileged RW, EL0 RW",
    2: "AP=0b10: privileged RO, EL0 none",
    3: "AP=0b11: RO at both",
}


@lru_cache(maxsize=1024)
def stage1_permissions(
    regime: str,
    ap: int,
    pxn: int,
    uxn: int,
    hierarchical: tuple[int, int, int],
    wxn: bool,
    sctlr_name: str,
) -> Permissions:
    """Stage-1 permissions of a leaf with AP[2:1] = ``ap``, PXN and UXN (XN in the EL2 regime);
    ``hierarchical`` = (APTable, PXNTable, UXNTable) gathered from the tables above (zeros under
    HPD); ``wxn``: SCTLR.WXN. A pure function of these few bits, so it is remembered."""
    ap_table, pxn_table, uxn_table = hierarchical
    ap2, ap1 = ap >> 1, ap & 1
    why: list[str] = []
    if regime == Regime.EL2.value:
        # One privilege level, one XN bit; AP[1] is RES1 (EL0 does not exist here).
        if not ap1:
            why.append("AP[1] is ignored in the EL2 regime (treated as 1)")
        w = not ap2
        if ap2:
            why.append("AP[2]=1: read-only")
        if ap_table & 2:
            w = False
            why.append("APTable[1]=1 above: read-only")
        xn = uxn or (uxn_table & 1)
        x = not xn
        if not x:
            why.append("XN=1" + (" (XNTable)" if uxn_table else ""))
        if wxn and w and x:
            x = False
            why.append("SCTLR_EL2.WXN=1 and writable: not executable")
        return Permissions(1, {"EL2": ELAccess(True, w, x)}, tuple(why))
    pr, pw = True, not ap2
    ur, uw = bool(ap1), bool(ap1) and not ap2
    why.append(_AP_TEXT[ap])
    if ap_table & 1:
        ur = uw = False
        why.append("APTable[0]=1 above: no EL0 access")
    if ap_table & 2:
        pw = uw = False
        why.append("APTable[1]=1 above: read-only")
    pxn = pxn or pxn_table
    uxn = uxn or uxn_table
    # A location writable at EL0 is never executable at the privileged level.
    px = not (pxn or uw)
    ux = not uxn
    if pxn:
        why.append("PXN" + ("Table" if pxn_table else "") + "=1: no privileged execution")
    if uw and not pxn:
        why.append("writable at EL0, so not executable at the privileged level")
    if uxn:
        why.append("UXN" + ("Table" if uxn_table else "") + "=1: no EL0 execution")
    if wxn:
        if pw and px:
            px = False
            why.append(f"{sctlr_name}.WXN=1: writable, so not executable (privileged)")
        if uw and ux:
            ux = False
            why.append(f"{sctlr_name}.WXN=1: writable, so not executable (EL0)")
    priv = "EL1" if regime in EL10_REGIMES else "EL2"
    by_el = {priv: ELAccess(pr, pw, px), "EL0": ELAccess(ur, uw, ux)}
    return Permissions(1, by_el, tuple(why), PAN_NOTE)


# XN[1:0] = {XN, XNX} -> (EL1 may execute, EL0 may execute).
_S2_EXEC = {0: (True, True), 1: (False, True), 2: (False, False), 3: (True, False)}


@lru_cache(maxsize=64)
def stage2_permissions(s2ap: int, xn: int, xnx: int) -> Permissions:
    """Stage-2 permissions of a leaf: S2AP[0] read, S2AP[1] write, XN[1:0] = {XN, XNX}
    (``xnx`` 0 without FEAT_XNX)."""
    r, w = bool(s2ap & 1), bool(s2ap & 2)
    px, ux = _S2_EXEC[(xn << 1) | xnx]
    why = (f"S2AP={s2ap:#04b}", f"XN={xn}, XNX={xnx}")
    return Permissions(2, {"EL1": ELAccess(r, w, px), "EL0": ELAccess(r, w, ux)}, why)


def denied_by(
    perms: Permissions,
    access: Access,
    dirty_bit_modifier: bool,
    read_only_by_table: bool,
    warn: Callable[[str, str], None],
) -> str | None:
    """The exception level whose permissions deny ``access`` ("EL1", ...), or None if it is
    allowed. ``dirty_bit_modifier``: DBM=1 with hardware AF and dirty updates (HA=HD=1), so a
    write to a leaf read-only by its own AP[2]/S2AP[1] (not by APTable) makes it writable
    instead of faulting. The effective AP[2] is 0 / S2AP[1] is 1
    (AArch64.S1ApplyOutputPerms / S2ApplyOutputPerms): at stage 1 the level must still be
    given access by AP[1] (it may read); at stage 2 S2AP[1] alone grants a write, so even
    S2AP=0b00 becomes write-only."""
    el, allowed, readable = perms.decide(access)
    if allowed:
        return None
    may_write = readable or perms.stage == 2
    if access.write and may_write and dirty_bit_modifier and not read_only_by_table:
        if perms.stage == 1:
            warn("dbm", "DBM=1 with HA=HD=1: AP[2]=1 does not stop the write (dirty state).")
        else:
            warn("dbm", "DBM=1 with VTCR_EL2.HA=HD=1: S2AP[1]=0 does not stop the write.")
        return None
    return el
