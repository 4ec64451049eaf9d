"""The plain-text walk: a ``WalkResult`` as text for a plain-text mailing-list reply.

Rules the output keeps (tests check them for every preset):

* at most ``WIDTH`` (72) columns per line, ASCII only, no tabs, no trailing spaces;
* no line starts with ``>`` or ``From `` (mail quoting and mbox "From " escaping would mangle
  it), so it reads the same quoted with ``> ``;
* the text ends with the link: ``Link: <url>`` on one line when it fits, else the link in
  angle brackets wrapped over lines of at most 72 columns, as RFC 3986 appendix C writes a
  long URI in plain text (``link_lines``). Give the short link when one exists for this state
  (it always fits); the full-state link otherwise.

Pure: it reads the result and the registers and never walks again, except when handed a bare
``Configuration``, which it runs first (``model.configs.run``).
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from model.arch.attrs import CombinedAttributes, LeafAttributes, OutputAttributes
from model.arch.permissions import Permissions, TwoStagePermissions
from model.arch.result import MAIN
from model.arch.updates import HardwareUpdate
from model.arch.walker import LevelRead, Regime, StageWalk, WalkParams, WalkResult

from .configs import CONFIG_PRESETS, REGISTER_NAMES, Configuration, run
from .image import image_for

WIDTH = 72
LINK_PREFIX = "Link: "

REGIME_TITLES = {
    Regime.EL10.value: "EL1&0 stage 1",
    Regime.EL2.value: "EL2 stage 1 (nVHE, HCR_EL2.E2H=0)",
    Regime.EL20.value: "EL2&0 stage 1 (VHE, HCR_EL2.E2H=1)",
    Regime.STAGE2.value: "stage 2 alone (the input is an IPA)",
    Regime.EL10_S12.value: "EL1&0 stage 1 then stage 2",
}

# The registers each regime reads, in the order the header lists them.
# HCR_EL2 (VM, DC, FWB, CD, PTW, E2H, TGE) changes EL1&0 walks too.
_EL10_REGISTERS = ("TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "SCTLR_EL1", "HCR_EL2")
_STAGE2_REGISTERS = ("VTCR_EL2", "VTTBR_EL2", "HCR_EL2")
_REGIME_REGISTERS = {
    Regime.EL10.value: _EL10_REGISTERS,
    Regime.EL10_S12.value: _EL10_REGISTERS,
    Regime.EL2.value: ("TCR_EL2", "TTBR0_EL2", "MAIR_EL2", "SCTLR_EL2", "HCR_EL2"),
    Regime.EL20.value: ("TCR_EL2", "TTBR0_EL2", "TTBR1_EL2", "MAIR_EL2", "SCTLR_EL2", "HCR_EL2"),
    Regime.STAGE2.value: _STAGE2_REGISTERS,
}

_KIND_SHORT = {
    "block-not-allowed": "BAD BLOCK",
    "invalid": "INVALID",
    "reserved": "RESERVED",
    "not-read": "not read",
}

_ASCII = str.maketrans({"→": "->", "←": "<-", "≤": "<=", "≥": ">=", "×": "x", "–": "-", "—": "-"})


def h64(value: int | None) -> str:
    """A 64-bit value as ``0x`` and 16 lowercase digits (the kernel's %016llx)."""
    return "-" if value is None else f"0x{value & ((1 << 64) - 1):016x}"


def _bits(hi: int, lo: int) -> str:
    return f"[{hi}]" if hi == lo else f"[{hi}:{lo}]"


def _level(level: int | None) -> str:
    return "L?" if level is None else f"L{level}"


def _ascii(text: str) -> str:
    text = text.translate(_ASCII)
    text = unicodedata.normalize("NFKD", text)
    return text.encode("ascii", "replace").decode("ascii")


def _wrap(text: str, first: str = "", rest: str | None = None) -> list[str]:
    rest = " " * len(first) if rest is None else rest
    return textwrap.wrap(
        _ascii(text),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]


# -- header -----------------------------------------------------------------------------------


def image_lines(sha256: str) -> list[str]:
    """Which memory image a walk reads: name, size and sha256."""
    image = image_for(sha256)
    return [f"Memory: image {image.name} ({image.size} bytes), sha256", f"  {sha256}"]


def _title(config: Configuration | None) -> list[str]:
    if config is None:
        return ["LPA2 Explorer walk"]
    preset = CONFIG_PRESETS.get(config.slug)
    if preset is not None and preset == config:
        return _wrap(f"LPA2 Explorer walk: {config.title}")
    if preset is not None:
        return _wrap(f"LPA2 Explorer walk: preset {config.slug}, edited")
    return _wrap("LPA2 Explorer walk")


def _stage_lines(p: WalkParams) -> list[str]:
    facts = {f.key: f for f in p.facts()}
    what = "VA" if p.stage == 1 else "IPA"
    txsz = p.txsz_field.split(".")[-1]
    ps = p.ps_field.split(".")[-1]
    oa = f"{p.oa_bits}-bit OA"
    if p.ps_bits != p.oa_bits:
        oa += f" ({ps} asks {p.ps_bits})"
    first = (
        f"Stage {p.stage}: {p.tcr_name} {facts['granule'].text} granule, DS={int(p.ds)}, "
        f"{txsz}={p.txsz} ({p.iasize}-bit {what}), {oa}"
    )
    start = f"start level {p.start_level}"
    if p.stage == 2:
        start = f"{facts['start_level'].why}: {start}"
    if p.concatenated_tables > 1:
        start += f", {p.concatenated_tables} concatenated tables"
    start += f" ({p.start_table_entries} entries); {facts['desc_variant'].why}"
    lines = _wrap(first, "", "  ")
    lines += _wrap(start, "  ", "    ")
    lines += _wrap(f"{p.ttbr_name} {h64(p.ttbr_value)} -> table {h64(p.table_base)}", "  ")
    lines += _wrap(f"table base = {p.table_base_origin}", "    ", "      ")
    if p.ds_raw and not p.ds:
        lines += _wrap(f"note: {facts['ds'].why}", "  ", "    ")
    return lines


def _register_lines(regime: str, params: Mapping[str, WalkParams], regs: Mapping[str, int]):
    names = list(_REGIME_REGISTERS.get(regime, REGISTER_NAMES))
    if "s2" in params and regime != Regime.STAGE2.value:
        names += [n for n in _STAGE2_REGISTERS if n not in names]
    cells = [f"{name:<10}{h64(regs.get(name, 0))}" for name in names]
    lines = ["Registers:"]
    for i in range(0, len(cells), 2):
        lines.append("  " + "  ".join(cells[i : i + 2]))
    return lines


# -- the table reads ----------------------------------------------------------------------------


# Where a descriptor came from, one letter per row (explained under the table).
_SOURCE_LETTER = {"set": "S", "background": "B", "image": "I", "empty": "E"}
_SOURCE_LEGEND = {
    "S": "S = set by this link",
    "B": "B = background tables of the state's memory",
    "I": "I = from the memory image",
    "E": "E = nothing stored there (reads as 0)",
}
# The longest kind a row names ("BAD BLOCK").
_KIND_WIDTH = max(len(k) for k in _KIND_SHORT.values())


class _Columns(NamedTuple):
    """The read table's columns, sized by its rows: the indent, the label column ("L-1",
    "s2 L-1") and the index column ("[51:39]=0x1e24"), each with a space after it. The
    address and value columns are 18 wide (``h64``), then the source letter and the kind."""

    indent: int
    label: int
    index_width: int  # not ``index``: that name is tuple.index


def _columns(result: WalkResult) -> _Columns:
    """Columns wide enough for every read of the walk and within ``WIDTH``: the indent gives
    way first. The widest table (a two-stage walk, 64KB stage 2 with 16 concatenated tables:
    "s2 L2", "[45:29]=0x1ffff") fits at 72 without an indent."""
    reads = result.reads()
    label = max(
        len("level"),
        *(len(("s2 " if r.role != MAIN else "") + _level(r.read.level)) for r in reads),
    )
    index = max(len("index"), *(len(_index_text(r.read)) for r in reads))
    fixed = (label + 1) + (index + 1) + 19 + 19 + 2 + _KIND_WIDTH
    return _Columns(max(0, min(2, WIDTH - fixed)), label + 1, index + 1)


def _index_text(read: LevelRead) -> str:
    return f"{_bits(read.index_hi, read.index_lo)}={read.index:#x}"


def _read_row(read: LevelRead, label: str, cols: _Columns) -> str:
    """One read: every row of the walk has the same columns, nested stage-2 reads included
    (their label says "s2"), so the table stays aligned and within 72 columns."""
    kind = _KIND_SHORT.get(read.kind, read.kind)
    source = _SOURCE_LETTER.get(read.source or "", " ")
    address = h64(read.desc_address) if read.desc_address is not None else "(no address)"
    value = h64(read.raw) if read.raw is not None else "-"
    return (
        f"{'':<{cols.indent}}{label:<{cols.label}}{_index_text(read):<{cols.index_width}}"
        f"{address:<18} {value:<18} {source} {kind}"
    )


def _walk_lines(levels: Iterable[LevelRead], prefix: str, cols: _Columns) -> list[str]:
    lines = []
    for read in levels:
        if read.s2 is not None:
            lines += _wrap(
                f"{_level(read.level)} table entry at IPA {h64(read.desc_ipa)}, its stage-2 walk:",
                " " * cols.indent,
                " " * (cols.indent + 2),
            )
            lines += _walk_lines(read.s2.levels, "s2 ", cols)
            if read.s2.fault is not None:
                lines += _wrap("stage 2 faults here (see FAULT below)", " " * (cols.indent + 2))
        lines.append(_read_row(read, prefix + _level(read.level), cols))
        if read.update is not None:
            lines += _update_lines(read.update)
    return lines


def _update_lines(update: HardwareUpdate) -> list[str]:
    """A hardware update of the Access flag or dirty state, under the descriptor it writes."""
    lines = _wrap("hardware update: " + update.explanation, "    ", "      ")
    via = update.via
    if via is not None and via.update is not None:
        lines += _wrap(
            "its write through stage 2 updates the table page's stage-2 descriptor too: "
            + via.update.explanation,
            "      ",
            "      ",
        )
    return lines


def _walk_header(cols: _Columns) -> str:
    return (
        f"{'':<{cols.indent}}{'level':<{cols.label}}{'index':<{cols.index_width}}"
        f"{'descriptor at':<19}{'value':<19}  kind"
    )


def _source_legend(result: WalkResult) -> list[str]:
    letters = {_SOURCE_LETTER[s] for r in result.reads() if (s := r.read.source) is not None}
    parts = [text for letter, text in _SOURCE_LEGEND.items() if letter in letters]
    return _wrap("; ".join(parts) + "." if parts else "", "", "  ")


# -- output address -----------------------------------------------------------------------------


def _oa_lines(result: WalkResult) -> list[str]:
    oa = result.output_address
    if oa is None:
        return []
    lines = []
    for src in result.oa_sources:
        value = (oa >> src.oa_lo) & ((1 << (src.oa_hi - src.oa_lo + 1)) - 1)
        target = f"OA{_bits(src.oa_hi, src.oa_lo)}"
        lines.append(f"  {target:<10}= {value:<#18x}<- {result.source_label(src)}")
    return lines


def _perm_text(perms: Permissions | None) -> str:
    if perms is None:
        return ""
    parts = []
    for el in ("EL2", "EL1", "EL0"):
        p = perms.by_el.get(el)
        if p is not None:
            flags = "".join(
                letter if p.allows(kind) else "-"
                for letter, kind in (("R", "read"), ("W", "write"), ("X", "exec"))
            )
            parts.append(f"{el} {flags}")
    return ", ".join(parts)


def _leaf_text(attrs: OutputAttributes | None) -> str:
    if not isinstance(attrs, LeafAttributes):
        return ""
    size = attrs.block_size
    units = [(1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")]
    shown = next((f"{size // u}{name}" for u, name in units if size >= u and size % u == 0), "")
    return f"{shown or size} {attrs.leaf_kind} at level {attrs.leaf_level}"


def _result_lines(result: WalkResult, input_name: str) -> list[str]:
    lines = []
    attrs = result.attrs
    if result.fault is None and result.output_address is not None:
        leaf_attrs = attrs.stage2 if isinstance(attrs, CombinedAttributes) else attrs
        leaf = _leaf_text(leaf_attrs)
        lines.append(f"Output PA {h64(result.output_address)}" + (f"  ({leaf})" if leaf else ""))
        lines += _oa_lines(result)
        if attrs is not None:
            origin = attrs.sh_origin
            text = f"{attrs.memory_type}; {attrs.sh_name}" + (f", from {origin}" if origin else "")
            lines += _wrap(text, "  memory: ", "    ")
        if isinstance(attrs, CombinedAttributes) and attrs.steps:
            lines += _wrap("; ".join(attrs.steps), "  combined: ", "    ")
        perms = result.perms
        if isinstance(perms, TwoStagePermissions):
            s1 = _perm_text(perms.stage1)
            s2 = _perm_text(perms.stage2)
            lines += _wrap(f"stage 1 {s1}; stage 2 {s2}", "  access: ", "    ")
        elif _perm_text(perms):
            lines += _wrap(_perm_text(perms), "  access: ", "    ")
        lines.append(f"  PAR_EL1 {h64(result.par)}")
        return lines
    fault = result.fault
    if fault is None:
        return ["No output address."]
    where = f"level {fault.level}, stage {fault.stage}"
    if fault.s1ptw:
        where += " (stage-2 fault on a stage-1 table walk, S1PTW=1)"
    kind = fault.kind.value.replace("_", " ")
    lines += _wrap(f"FAULT: {kind} fault at {where}", "", "  ")
    fsc = f"FSC {fault.fsc:#04x} (0b{fault.fsc:06b}): {fault.fsc_name}"
    lines += _wrap(fsc, "  ", "    ")
    if fault.s1ptw and fault.ipa is not None:
        table = next((r for r in result.levels if r.s2 is not None and r.s2.fault), None)
        update = result.main.update if result.main is not None else None
        if table is not None:
            what = f"the level {table.level} table entry"
        elif update is not None and update.fault is not None:
            what = f"the hardware update (a write) of the level {update.level} descriptor"
        else:
            what = "a table entry"
        lines += _wrap(
            f"while stage 2 translated {what} at IPA {h64(fault.ipa)} for stage 1",
            "  ",
            "    ",
        )
    lines += _syndrome_lines(result)
    lines += _wrap(fault.message, "  why: ", "    ")
    if fault.fix:
        lines += _wrap(fault.fix, "  fix: ", "    ")
    return lines


def _syndrome_lines(result: WalkResult) -> list[str]:
    """PAR_EL1 after AT, and the exception an access would take: the whole ESR decoded with
    its field tables, FAR and, for a stage-2 fault, HPFAR_EL2."""
    lines = [f"  PAR_EL1   {h64(result.par)}  (what AT leaves)"]
    s = result.syndrome
    if s is None:
        return lines
    el = s.target_el
    lines.append(f"  ESR_EL{el}   {h64(s.esr)}  (the abort is taken to EL{el})")
    lines += _wrap(f"EC {s.ec:#04x} {s.ec_name}, IL=1", "    ", "      ")
    iss = ", ".join(
        f"{name}={value:#04x}" if name in ("DFSC", "IFSC") else f"{name}={value}"
        for name, value in s.key_iss_fields()
    )
    lines += _wrap(f"ISS {s.iss:#x}: {iss}", "    ", "      ")
    if s.far is not None:
        lines.append(f"  FAR_EL{el}   {h64(s.far)}  (the faulting VA)")
    if s.hpfar is not None and s.fipa is not None:
        lines.append(f"  HPFAR_EL2 {h64(s.hpfar)}  (FIPA = IPA[51:12] = {s.fipa:#x})")
    return lines


# -- the whole text -----------------------------------------------------------------------------


def link_lines(link: str) -> list[str]:
    """The ``Link:`` line, or, for a link that does not fit in ``WIDTH`` columns, the link in
    angle brackets over several lines (RFC 3986 appendix C: a reader drops the brackets and
    the white space inside them to rejoin it; ``app.links.parse_link`` does). Lines break
    before a ``&`` where they can, so each parameter reads whole."""
    link = _ascii(link).replace(" ", "%20")
    if len(LINK_PREFIX) + len(link) <= WIDTH:
        return [LINK_PREFIX + link]
    pieces = re.split(r"(?=&)", link)
    pieces[-1] += ">"
    out: list[str] = []
    start = LINK_PREFIX + "<"
    current = start
    for piece in pieces:
        if len(current) + len(piece) > WIDTH and current not in (start, _LINK_INDENT):
            out.append(current)
            current = _LINK_INDENT
        while len(current) + len(piece) > WIDTH:  # a piece wider than a line: cut it
            room = WIDTH - len(current)
            out.append(current + piece[:room])
            current, piece = _LINK_INDENT, piece[room:]
        current += piece
    out.append(current)
    return out


_LINK_INDENT = "  "


def text_link(text: str) -> str | None:
    """The link a plain-text walk ends with, rejoined (``link_lines`` read back), or None."""
    lines = text.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(LINK_PREFIX)]
    if not starts:
        return None
    link = "".join(line.strip() for line in lines[starts[-1] :])[len(LINK_PREFIX) :]
    return link[1:-1] if link.startswith("<") and link.endswith(">") else link


def _safe(lines: Iterable[str], link: str | None) -> str:
    out = []
    for line in lines:
        line = _ascii(line).replace("\t", " ").rstrip()
        while len(line) > WIDTH:  # last resort, never expected: hard wrap
            out.append(line[:WIDTH].rstrip())
            line = "    " + line[WIDTH:].lstrip()
        if line.startswith((">", "From ")):
            line = " " + line
        out.append(line)
    if link is not None:
        out.append("")
        out += link_lines(link)
    return "\n".join(out) + "\n"


def render_text(
    config_or_result: Configuration | WalkResult,
    *,
    result: WalkResult | None = None,
    registers: Mapping[str, int] | None = None,
    link: str | None = None,
    notes: Iterable[str] = (),
) -> str:
    """The walk as plain text (see the module docstring for the layout rules).

    ``config_or_result``: a ``Configuration`` (walked here unless ``result`` is given) or a
    ``WalkResult`` (then pass ``registers`` to list the register values). ``link``: the URL for
    the last line, the short link when there is one. ``notes``: extra lines shown first, e.g.
    what could not be read from a link.
    """
    config: Configuration | None
    if isinstance(config_or_result, WalkResult):
        config, result = None, config_or_result
        regs = registers or {}
    else:
        config = config_or_result
        result = result if result is not None else run(config)
        regs = registers if registers is not None else config.registers

    lines: list[str] = []
    for note in notes:
        lines += _wrap(note, "NOTE: ", "  ")
    lines += _title(config)
    if config is not None and config.image is not None:
        lines += image_lines(config.image)
    regime = REGIME_TITLES.get(result.regime, result.regime)
    cpu = f", CPU {config.cpu}" if config is not None else ""
    lines += _wrap(f"Regime {regime}, access {result.access}{cpu}", "", "  ")
    for key in ("s1", "s2"):
        params = result.params.get(key)
        if params is not None:
            lines += _stage_lines(params)
    lines += _register_lines(result.regime, result.params, regs)

    input_name = "IPA" if result.regime == Regime.STAGE2.value else "VA"
    lines.append("")
    lines.append(f"Input {input_name} {h64(result.input_address)}")
    reads = result.reads()
    cols = _columns(result) if reads else _Columns(2, 7, 14)
    if result.levels:
        lines.append(_walk_header(cols))
        lines += _walk_lines(result.levels, "", cols)
    if result.ipa is not None and result.s2_final is not None:
        s2: StageWalk = result.s2_final
        lines.append(f"Stage 1 output IPA {h64(result.ipa)}, its stage-2 walk:")
        lines += _walk_lines(s2.levels, "s2 ", cols)
    if reads:
        lines += _source_legend(result)
    lines.append("")
    lines += _result_lines(result, input_name)

    remarks = [w.message for w in result.warnings]
    if result.choices_used:
        chosen = ", ".join(f"{k}={v}" for k, v in sorted(result.choices_used.items()))
        remarks.append(f"IMPLEMENTATION DEFINED choices used: {chosen}.")
    if remarks:
        lines.append("")
        lines.append("Notes:")
        for remark in remarks:
            lines += _wrap(remark, "- ", "  ")
    return _safe(lines, link or None)
