"""Small bounded caches for the explorer route.

A bit click names the state it starts from (``from``, a canonical link query) and produces a
new one. The state it starts from is nearly always the one the previous click produced, so
keeping the last few states (decoded configuration, walk, view) lets the server compare old and
new views region by region and send only what changed, without walking the old state again.

Everything cached is derived from the canonical query alone, so a cached value is never stale;
the caches are bounded (least recently used entries go first) and thread-safe (sync routes run
in a thread pool).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from app.linkstore import LinkStore, default_store, existing_id
from app.settings import DATA_DIR_ENV, DEFAULT_DATA_DIR
from app.state import Decoded, decode, encode
from model.arch.walker import WalkResult
from model.explore.configs import Configuration, run

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

STATE_CACHE_SIZE = 128


class LRU(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = self.put(key, make())
        return value

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class State:
    """One explorer state: its canonical query, configuration and walk, and the views built
    for it (by base URL; the view is a pure function of the state and the base URL)."""

    query: str
    config: Configuration
    result: WalkResult
    views: dict[str, dict] = field(default_factory=dict)


_decoded: LRU[str, Decoded] = LRU(STATE_CACHE_SIZE)
_states: LRU[str, State] = LRU(STATE_CACHE_SIZE)
# The canonical query of a configuration object, by identity (a click meets the same decoded
# configuration object several times; ``encode`` is the costly part of naming it). The entry
# holds the object itself, so its id cannot be reused while the entry lives.
_queries: LRU[int, tuple[Configuration, str]] = LRU(2 * STATE_CACHE_SIZE)


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
    """The cached state of ``config`` (walked on a miss)."""
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


# -- the short-link store ------------------------------------------------------------------------

_stores: dict[tuple[str, str], LinkStore] = {}


def link_store() -> LinkStore:
    """``app.linkstore.default_store()``, without building and resolving its path on every
    call (the explorer asks once per click). Keyed by what the path depends on: the data
    directory setting (read each call, as app.settings does) and, for a relative one, the
    working directory."""
    data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    key = (data_dir, "" if os.path.isabs(data_dir) else os.getcwd())
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = default_store()
    return store


# The short-link id of a canonical query, by store: (id or None, when it was looked up). A stored
# link is never removed or changed, so an id found stays right for good. "Not stored" can go
# stale when another process stores the query: this process forgets it on its own POST /s
# (``forget_short_link``), and other instances' answers are trusted for NO_LINK_TTL seconds at
# most (a share panel may offer "Short link" for that long after another worker made one;
# making it again gives the same id).
NO_LINK_TTL = 5.0
_short_ids: LRU[tuple[int, str], tuple[str | None, float]] = LRU(4 * STATE_CACHE_SIZE)


def short_link_id(query: str) -> str | None:
    """``app.linkstore.existing_id(link_store(), query)``, remembered (see ``_short_ids``)."""
    store = link_store()
    key = (id(store), query)
    entry = _short_ids.get(key)
    now = time.monotonic()
    if entry is not None and (entry[0] is not None or now - entry[1] < NO_LINK_TTL):
        return entry[0]
    link_id = existing_id(store, query)
    _short_ids.put(key, (link_id, now))
    return link_id


def forget_short_link(query: str) -> None:
    """Called when this process stores ``query`` (POST /s): look it up again next time."""
    _short_ids.pop((id(link_store()), query))


def stored_short_link(query: str, link: str | None = None) -> str | None:
    """The short link already stored for ``query`` (never writes), printed with the host of
    ``link``: what ``app.routes.sharing.short_link_for`` answers, through the cached store and
    the cached lookup (``short_link_id``). The explorer passes it to partials/share.html under
    that name."""
    link_id = short_link_id(query)
    if link_id is None:
        return None
    base = link.split("/?", 1)[0] if link and "/?" in link else ""
    return f"{base}/s/{link_id}"


def run_cached(config: Configuration) -> WalkResult:
    return state_of(config).result


def clear() -> None:
    _decoded.clear()
    _states.clear()
    _queries.clear()
    _short_ids.clear()


def stats() -> dict[str, tuple[int, int]]:
    return {"decoded": (_decoded.hits, _decoded.misses), "states": (_states.hits, _states.misses)}
