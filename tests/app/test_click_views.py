"""What a click reuses from earlier states must be what it would build afresh: shared card,
register and address views, and the regions an htmx answer carries."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from app.edits import apply_form
from app.fragment import changed_regions
from app.render.grids import bit_grid
from app.state import encode
from app.views import card_view, explorer_view
from app.views.walk import walk_cards
from model.explore.configs import CONFIG_PRESETS, run


def random_states(slug: str, clicks: int, seed: int):
    """States reached by clicking random register, descriptor and address bits from a preset
    (each click starting from the state the previous one produced, as on the page)."""
    rng = random.Random(seed)
    config = CONFIG_PRESETS[slug]
    states = [config]
    last = None
    for _ in range(clicks):
        result = run(config)
        controls = [f"r.{name.lower()}" for name in config.registers] + ["va"]
        controls += [
            f"m.{ref.read.desc_address:#x}"
            for ref in result.reads(nested=False)
            if ref.read.raw is not None
        ]
        # Often the same control again: a user sets several bits of one descriptor.
        if last not in controls or rng.random() < 0.5:
            last = rng.choice(controls)
        flip = f"{last}:{rng.randrange(64)}"
        outcome = apply_form([("flip", flip), ("from", encode(config))])
        if outcome.ok:
            config = outcome.config
            states.append(config)
    return states


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52", "16k-52-lpa2", "s2-l-1-sl2"])
def test_shared_views_equal_fresh_ones(slug):
    for config in random_states(slug, 40, seed=len(slug)):
        result = run(config)
        view = explorer_view(config, result)
        main, final, _ = walk_cards(config, result, {}, {}, card_view)
        assert list(view.walk.cards) == list(main)
        assert list(view.walk.final_cards) == list(final)


@pytest.mark.parametrize("slug", ["4k-52-lpa2", "s1-48-over-s2-52"])
def test_changed_regions_cover_every_difference(slug):
    """Whatever differs between two consecutive views is in a region the answer sends."""
    states = random_states(slug, 30, seed=7)
    views = [explorer_view(c, run(c)) for c in states]
    for old, new in pairwise(views):
        regions = changed_regions(old, new)
        ow, nw = old.walk, new.walk
        if regions.walk:
            continue
        for i, card in enumerate(nw.cards):
            if i >= len(ow.cards) or ow.cards[i] != card:
                assert i in regions.slots
        for i in range(len(nw.cards), len(ow.cards)):
            assert i in regions.slots  # emptied
        for i, card in enumerate(nw.final_cards):
            if i >= len(ow.final_cards) or ow.final_cards[i] != card:
                assert i in regions.final_slots
        if (ow.address, ow.fault, ow.memory) != (nw.address, nw.fault, nw.memory):
            assert "head" in regions.walk_parts
        if (ow.output, ow.attrs, ow.perms, ow.par) != (nw.output, nw.attrs, nw.perms, nw.par):
            assert "output" in regions.walk_parts
        if regions.registers:
            continue
        sent = regions.register | regions.register_part
        for o, n in zip(old.registers, new.registers, strict=True):
            if o != n:
                assert n.param in sent


@pytest.mark.parametrize("bits", [(55, 56, 57, 58), (59, 60), (2, 3, 4)])
def test_value_only_edits_rebuild_the_card(bits):
    """Bits that change only a descriptor's value (software bits, PBHA, AttrIndx) still give
    the card its new value: nothing else about the read changes to tell the states apart."""
    config = CONFIG_PRESETS["4k-52-lpa2"]
    leaf = run(config).levels[-1]
    for bit in bits:
        flip = f"m.{leaf.desc_address:#x}:{bit}"
        config = apply_form([("flip", flip), ("from", encode(config))]).config
        result = run(config)
        view = explorer_view(config, result)
        card = view.walk.cards[-1]
        assert card.raw == f"{result.levels[-1].raw:#x}"
        grid = bit_grid(card.grid)
        assert grid.count('aria-pressed="true"') == bin(result.levels[-1].raw).count("1")
