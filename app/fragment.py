"""The htmx answer to an edit: which regions of the page changed, and the answer that carries
them, each swapped out of band by id.

Views are plain data, so equal parts of two views render to equal HTML: ``changed_regions``
compares the view the page shows with the view after the edit, region by region, and
``render_fragment`` renders only those, with the same functions the full page uses
(``app.render``; templates/explorer.html places them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.links import ShareLinks
from app.render import glance, page, registers, share, walk
from app.views.glance import glance_view
from app.views.page import ExplorerView, SetupView
from app.views.walk import CardView, WalkView, card_slots

# The walk regions replaced as a whole when their part of the view changed.
WALK_PARTS: dict[str, tuple[str, ...]] = {
    "head": ("ok", "fault", "address", "memory"),
    "output": ("output", "attrs", "attrs_stages", "perms", "par"),
    "warnings": ("warnings", "choices_used"),
    "help": ("help",),
}


@dataclass
class Regions:
    """What an answer carries. Every answer has the status line, the state it leaves
    (``from``) and the messages; the rest as the edit needs."""

    summary: bool = True
    share: str = "links"  # "links": the panel's parts that name the state; "panel": all; ""
    setup: bool = False
    address_box: bool = False  # the set-up bar's address box alone
    presets: bool = False
    registers: bool = False  # the whole registers section
    register: set[str] = field(default_factory=set)  # whole registers, by param
    register_part: set[str] = field(default_factory=set)  # summary line and body only
    choices: bool = False
    glance: bool = False  # the walk at a glance
    walk: bool = False  # the whole walk section
    walk_parts: set[str] = field(default_factory=set)  # WALK_PARTS names
    slots: set[int] = field(default_factory=set)  # main card slots
    final_head: bool = False
    final_slots: set[int] = field(default_factory=set)
    linux: bool = False
    linux_releases: bool = False  # the Linux panel's links to this state's page per release

    @classmethod
    def everything(cls) -> Regions:
        return cls(
            share="panel", setup=True, presets=True, registers=True, choices=True, glance=True,
            walk=True, linux=True,
        )  # fmt: skip


def _only_address_changed(old: SetupView, new: SetupView) -> bool:
    return not old.errors and not new.errors and old._replace(va=new.va) == new


def changed_regions(old: ExplorerView, new: ExplorerView, everything: bool = False) -> Regions:
    """The regions of the page whose content differs between two views (the page shows
    ``old``; ``new`` is the state after the edit)."""
    if everything:
        return Regions.everything()
    regions = Regions(
        presets=old.presets != new.presets,
        choices=old.choices != new.choices,
        # By content: panels of different keys (another fault code, say) often read alike.
        linux=old.linux is not new.linux and old.linux != new.linux,
    )
    regions.linux_releases = not regions.linux and old.query != new.query
    if old.setup != new.setup:
        # An address bit click: the set-up bar differs only in its address box.
        if _only_address_changed(old.setup, new.setup):
            regions.address_box = True
        else:
            regions.setup = True
    if [r.name for r in old.registers] != [r.name for r in new.registers]:
        regions.registers = True
    else:
        # A register whose layout and disclosure state stay gets only its summary line and
        # body (its field help, most of its HTML, is already on the page).
        for o, n in zip(old.registers, new.registers, strict=True):
            if o != n:
                same_frame = (o.layout, o.open, o.edited, o.title, o.field_help) == (
                    n.layout, n.open, n.edited, n.title, n.field_help,
                )  # fmt: skip
                (regions.register_part if same_frame else regions.register).add(n.param)
    ow, nw = old.walk, new.walk
    regions.glance = glance_view(ow) != glance_view(nw)
    if any(card_slots(a) != card_slots(b) for a, b in _card_lists(ow, nw)):
        regions.walk = True
        return regions
    regions.walk_parts = {
        part
        for part, names in WALK_PARTS.items()
        if any(getattr(ow, n) != getattr(nw, n) for n in names)
    }
    regions.final_head = (ow.has_final, ow.ipa) != (nw.has_final, nw.ipa)
    regions.slots = _changed_slots(ow.cards, nw.cards)
    regions.final_slots = _changed_slots(ow.final_cards, nw.final_cards)
    return regions


def _card_lists(
    old: WalkView, new: WalkView
) -> tuple[tuple[tuple[CardView, ...], tuple[CardView, ...]], ...]:
    return ((old.cards, new.cards), (old.final_cards, new.final_cards))


def _changed_slots(old: tuple[CardView, ...], new: tuple[CardView, ...]) -> set[int]:
    """Card slots to send: a slot that only one side fills changed (it is emptied or filled)."""
    return {
        i
        for i in range(max(len(old), len(new)))
        if i >= len(old) or i >= len(new) or old[i] != new[i]
    }


def render_fragment(
    view: ExplorerView,
    regions: Regions,
    *,
    share_links: ShareLinks,
    cards: tuple[CardView, ...] = (),
) -> str:
    """The out-of-band regions of an htmx answer. ``cards`` are single cards to re-send (the
    marked ones of a refused edit); ``share_links`` the share panel's links of the state."""
    out: list[str] = [page.from_input(view, True), page.compare_a(view, True)]
    out.append(page.status(view, True))
    out.append(page.messages(view, True))
    if regions.summary:
        out.append(page.summary(view, True))
    if regions.setup:
        out.append(page.setup(view, True))
    elif regions.address_box:
        out.append(page.va_input(view.setup, True))
    if regions.presets:
        out.append(page.presets(view, True))
    if regions.share == "links":
        out.append(share.share_update(share_links))
    elif regions.share:
        out.append(share.share_region(share_links, True))
    if regions.registers:
        out.append(registers.registers_section(view.registers, True))
    else:
        for r in view.registers:
            if r.param in regions.register:
                out.append(registers.register(r, True))
            elif r.param in regions.register_part:
                out.append(registers.register_update(r))
    if regions.choices:
        out.append(page.choices(view.choices, True))
    w = view.walk
    if regions.glance:
        out.append(glance.walk_glance(w, True))
    if regions.walk:
        out.append(walk.walk_section(w, True))
    else:
        parts = regions.walk_parts
        if "head" in parts:
            out.append(walk.walk_head(w, True))
        out.extend(walk.card_slot("main", w.cards, i, True) for i in sorted(regions.slots))
        if regions.final_head:
            out.append(walk.walk_final_head(w, True))
        out.extend(
            walk.card_slot("final", w.final_cards, i, True) for i in sorted(regions.final_slots)
        )
        if "output" in parts:
            out.append(walk.walk_output(w, True))
        if "warnings" in parts:
            out.append(walk.walk_warnings(w, True))
        if "help" in parts:
            out.append(walk.walk_help(w, True))
        out.extend(walk.card(c, True) for c in cards)
    if regions.linux:
        out.append(page.linux_region(view, True))
    elif regions.linux_releases:
        out.append(page.linux_releases(view, True))
    return "\n".join(out)
