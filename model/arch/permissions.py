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

from .fields import Layout
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


@dataclass(frozen=True)
class Permissions:
    """One stage's permissions: per exception level (``by_el``: "EL2" alone in the EL2
    regime, else "EL1"/"EL2" and "EL0"), with the reasons in the order they apply."""

    stage: int
    by_el: dict[str, ELAccess]
    why: tuple[str, ...]
    pan: str | None = None

    def for_access(self, access: Access) -> tuple[str, ELAccess]:
        """The level whose permissions an access is checked against: its own, or, for an
        access from a level this regime does not describe, the regime's level."""
        key = f"EL{access.el}"
        if key in self.by_el:
            return key, self.by_el[key]
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


def stage1_permissions(
    regime: str,
    layout: Layout,
    raw: int,
    hierarchical: tuple[int, int, int],
    wxn: bool,
    sctlr_name: str,
    warn: Callable[[str, str], None],
) -> Permissions:
    """Stage-1 permissions of the leaf ``raw``; ``hierarchical`` = (APTable, PXNTable,
    UXNTable) accumulated from the tables above (zeros under HPD)."""
    ap_table, pxn_table, uxn_table = hierarchical
    ap = layout.get(raw, "AP")
    ap2, ap1 = ap >> 1, ap & 1
    why: list[str] = []
    if regime == Regime.EL2.value:
        # One privilege level, one XN bit; AP[1] is RES1 (EL0 does not exist here).
        if not ap1:
            why.append("AP[1] is ignored in the EL2 regime (treated as 1)")
        if layout.get(raw, "PXN"):
            warn("res0", "PXN (bit 53) is RES0 in the EL2 single-range regime.")
        w = not ap2
        if ap2:
            why.append("AP[2]=1: read-only")
        if ap_table & 2:
            w = False
            why.append("APTable[1]=1 above: read-only")
        xn = layout.get(raw, "UXN") or (uxn_table & 1)
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
    pxn = layout.get(raw, "PXN") or pxn_table
    uxn = layout.get(raw, "UXN") or uxn_table
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


def stage2_permissions(layout: Layout, raw: int, has_xnx: bool) -> Permissions:
    """Stage-2 permissions of the leaf ``raw`` (S2AP[0] read, S2AP[1] write, XN[1:0])."""
    s2ap = layout.get(raw, "S2AP")
    r, w = bool(s2ap & 1), bool(s2ap & 2)
    xn = layout.get(raw, "XN")
    xnx = layout.get(raw, "XNX") if has_xnx else 0
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
    instead of faulting."""
    el, allowed = perms.for_access(access)
    if allowed.allows(access.kind):
        return None
    if access.write and allowed.read and dirty_bit_modifier and not read_only_by_table:
        if perms.stage == 1:
            warn("dbm", "DBM=1 with HA=HD=1: the write clears AP[2] (dirty), no fault.")
        else:
            warn("dbm", "DBM=1 with HA=HD=1: the write sets S2AP[1], no fault.")
        return None
    return el
