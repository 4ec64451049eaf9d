"""The walk a plain-text walk states, as data: what a frozen link must keep showing.

A frozen link's walk is its descriptor reads (level, index bits and value, address, value and
kind, in order, with the IPA of every stage-1 table read that went through stage 2), its
outcome (the output address, or the fault's kind, level, stage and FSC), PAR_EL1 and where each
output-address bit range came from. The words around them (titles, notes, markers, the link
line, column widths) may improve without breaking a link; these facts may not.
"""

from __future__ import annotations

import re

_ROW = re.compile(
    r"^\s*(?P<label>(?:s2 )?L-?\d)\s+\[(?P<hi>\d+)(?::(?P<lo>\d+))?\]=(?P<index>0x[0-9a-f]+)\s+"
    r"(?P<address>0x[0-9a-f]{16}|\(no address\))\s+(?P<value>0x[0-9a-f]{16}|-)\s+(?P<kind>.+)$"
)
_NESTED = re.compile(r"^\s*L(-?\d) table entry at IPA (0x[0-9a-f]{16})")
_OUTPUT = re.compile(r"^Output (?:PA|IPA) (0x[0-9a-f]{16})")
_FAULT = re.compile(r"^FAULT: (.+) fault at level (-?\d+), stage (\d)")
_FSC = re.compile(r"^\s+FSC (0x[0-9a-f]{2})")
_PAR = re.compile(r"PAR_EL1\s+(0x[0-9a-f]{16})")
_SPLIT = re.compile(r"^\s+OA\[(\d+)(?::(\d+))?\]\s*= (0x[0-9a-f]+)\s+<- (.+)$")
# Marks a row carried after its kind in version 1: where the descriptor came from.
_SOURCE_MARKS = ("*", " bg", " set", " empty")


def _kind(text: str) -> str:
    # From version 2 a row says where its descriptor came from in a letter before the kind.
    text = re.sub(r"^[SBE] ", "", text.strip())
    changed = True
    while changed:
        changed = False
        for mark in _SOURCE_MARKS:
            if text.endswith(mark):
                text = text[: -len(mark)].strip()
                changed = True
    return text


def walk_facts(txt: str) -> dict:
    """The facts of a plain-text walk (see the module docstring)."""
    lines = txt.splitlines()
    two_stage = any("its stage-2 walk" in line for line in lines)
    rows, nested, split = [], [], []
    outcome: tuple = ()
    fsc = par = None
    for line in lines:
        if m := _ROW.match(line):
            hi = int(m["hi"])
            lo = int(m["lo"]) if m["lo"] is not None else hi
            rows.append(
                (
                    m["label"],
                    hi,
                    lo,
                    int(m["index"], 16),
                    m["address"],
                    m["value"],
                    _kind(m["kind"]),
                )
            )
        elif m := _NESTED.match(line):
            nested.append((int(m[1]), m[2]))
        elif m := _OUTPUT.match(line):
            outcome = ("output", m[1])
        elif m := _FAULT.match(line):
            outcome = ("fault", m[1].lower(), int(m[2]), int(m[3]))
        elif m := _FSC.match(line):
            fsc = m[1]
        elif m := _SPLIT.match(line):
            hi = int(m[1])
            lo = int(m[2]) if m[2] is not None else hi
            source = m[4].strip()
            if not two_stage:
                # A single-stage walk may or may not name its stage (S2 L3 / L3): one fact.
                source = re.sub(r"^S[12] ", "", source)
            split.append((hi, lo, int(m[3], 16), source))
        if m := _PAR.search(line):
            par = m[1]
    return {
        "rows": rows,
        "nested_ipas": nested,
        "outcome": outcome,
        "fsc": fsc,
        "par": par,
        "oa_split": split,
    }
