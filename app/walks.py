"""The explorer states a click meets, remembered: decoded link queries, walks and views.

A bit click names the state it starts from (``from``, a canonical link query) and produces a
new one. The state it starts from is nearly always the one the previous click produced, so
keeping the last few states (decoded configuration, walk, view) lets the server compare old
and new views region by region and send only what changed, without walking the old state
again. Everything here is derived from the canonical query alone (bounds: ``app.cache``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.cache import lru
from app.state import Decoded, decode, encode
from model.arch.walker import WalkResult
from model.explore.configs import Configuration, run

_decoded = lru("link_queries")
_states = lru("states")
# The canonical query of a configuration object, by identity (a click meets the same decoded
# configuration object several times; ``encode`` is the costly part of naming it). The entry
# holds the object itself, so its id cannot be reused while the entry lives.
_queries = lru("config_queries")


@dataclass
class State:
    """One explorer state: its canonical query, configuration and walk, and its views (built
    on first use by ``app.views.explorer_view``, the same for every request): one per kernel
    release its Linux panel was asked for (``None``: current mainline; releases are the
    model's list, so this stays small)."""

    query: str
    config: Configuration
    result: WalkResult
    views: dict[str | None, Any] = field(default_factory=dict)


def query_of(config: Configuration) -> str:
    """``app.state.encode(config)``, remembered for this very object."""
    entry = _queries.get(id(config))
    if entry is not None and entry[0] is config:
        return entry[1]
    query = encode(config)
    _queries.put(id(config), (config, query))
    return query


def decode_cached(query: str) -> Decoded:
    """``app.state.decode`` of a link query, remembered (the result must not be modified)."""
    return _decoded.get_or_make(query, lambda: decode(query))


def state_of(config: Configuration, query: str | None = None) -> State:
    """The remembered state of ``config`` (walked on a miss)."""
    if query is None:
        query = query_of(config)
    else:
        _queries.put(id(config), (config, query))  # the next click starts from this object
    state = _states.get(query)
    if state is None:
        state = _states.put(query, State(query, config, run(config)))
        # The next click on this state names it by this (canonical) query in ``from``.
        if _decoded.get(query) is None:
            _decoded.put(query, Decoded(config))
    return state


def run_cached(config: Configuration) -> WalkResult:
    return state_of(config).result
