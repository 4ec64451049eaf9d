"""Every cache of the service: its name, its bound and what it is keyed by, decided here.

A module that remembers something asks for a cache by name (``lru("cards")`` for a mapping it
fills itself, ``@memo("slugs")`` for a pure function of hashable arguments); the bound comes
from ``POLICY``, never from the caller, so one table shows what the process may keep.

Rules every cache here keeps:

* bounded in entries (the least recently used entry goes first);
* keyed by values derived from the canonical state or from the model's own tables, never by
  request headers (``Host``, ``HX-*``...) or other client-chosen text that is not part of a
  state: a client can make any number of distinct headers, and none of them changes what a
  state renders to (absolute links are built per request, after the cache; ``app.links``);
* what is cached is a pure function of its key, so an entry is never stale (the one
  exception, the short-link id lookup, says how long it trusts "not stored").

``clear()`` empties every cache (tests, benchmarks); ``stats()`` reports hits and sizes.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, NamedTuple, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])


class Policy(NamedTuple):
    entries: int
    key: str
    # Keyed by the model's own tables (layouts, field names, presets): a few hundred keys
    # at most, the same for every state, so a running server fills them once.
    tables: bool = False


# name: (bound in entries, what the key is). Sizes fit a few users clicking through many
# states: a click reuses the views of the state it starts from and of the cards and registers
# it leaves alone.
POLICY: dict[str, Policy] = {
    # explorer states (app.walks)
    "link_queries": Policy(128, "a link query as sent (decoded configuration and problems)"),
    "states": Policy(128, "a canonical link query (configuration, walk, view)"),
    "config_queries": Policy(256, "a configuration object, by identity (its canonical query)"),
    "short_ids": Policy(512, "(link store, canonical query): the stored short-link id"),
    # view models (app.views), by the values they show
    "setup_views": Policy(256, "regime, CPU, access and input address"),
    "preset_lists": Policy(32, "the current preset's slug", tables=True),
    "choice_views": Policy(256, "the choices and the ones the walk used"),
    "register_views": Policy(512, "register name, layout, value, edited"),
    "register_lists": Policy(256, "regime, preset, TTBR formats and register values"),
    "address_views": Policy(512, "input address and the walk geometry"),
    "card_views": Policy(1024, "what a descriptor read shows (``views.walk.card_key``)"),
    "linux_views": Policy(256, "regime, stage parameters and stage-2 leaf"),
    "field_help": Policy(256, "layout name and help-id prefix", tables=True),
    # rendered markup (app.render), by the view it renders
    "grid_plans": Policy(512, "layout name and grid labels", tables=True),
    "grid_html": Policy(4096, "a bit grid: layout, value, control and labels"),
    "button_runs": Policy(4096, "a run of bit buttons: bits, control and tooltip", tables=True),
    "strip_html": Policy(256, "an input-address view"),
    "rows_plans": Policy(128, "layout name", tables=True),
    "rows_html": Policy(1024, "layout name and descriptor value"),
    "card_html": Policy(1024, "a card view"),
    "register_html": Policy(512, "a register view"),
    "linux_html": Policy(128, "what the Linux panel shows (``model.teach.linux.view_key``)"),
    "field_help_html": Policy(512, "a field-help view, its title and id", tables=True),
    "escaped": Policy(8192, "a text of the model's (field names, meanings)", tables=True),
    "slugs": Policy(4096, "a name made into an HTML id", tables=True),
}


class LRU(Generic[K, V]):
    """A bounded, thread-safe mapping that forgets the least recently used entry first."""

    def __init__(self, size: int, name: str = "") -> None:
        self.name = name
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


class _Memo:
    """A ``memo`` cache as the registry sees it (``functools.lru_cache`` underneath: a hot
    renderer calls these per printed field, and the C implementation is the fast one)."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def clear(self) -> None:
        self.function.cache_clear()

    def counts(self) -> tuple[int, int, int]:
        info = self.function.cache_info()
        return info.hits, info.misses, info.currsize


_registry: dict[str, LRU | _Memo] = {}
_registry_lock = threading.Lock()


def _policy(name: str) -> Policy:
    try:
        return POLICY[name]
    except KeyError:
        raise KeyError(f"no cache policy named {name!r}: add it to app.cache.POLICY") from None


def lru(name: str) -> LRU:
    """The cache named ``name`` (created on first use, bounded by ``POLICY[name]``)."""
    with _registry_lock:
        cache = _registry.get(name)
        if cache is None:
            cache = _registry[name] = LRU(_policy(name).entries, name)
        if not isinstance(cache, LRU):
            raise TypeError(f"cache {name!r} is a memo, not an LRU")
        return cache


def memo(name: str) -> Callable[[F], F]:
    """Decorator: remember a pure function of hashable arguments in the cache ``name``."""

    def wrap(function: F) -> F:
        cached = functools.lru_cache(maxsize=_policy(name).entries)(function)
        with _registry_lock:
            if name in _registry:
                raise ValueError(f"cache {name!r} is already in use")
            _registry[name] = _Memo(cached)
        return cached  # type: ignore[return-value]

    return wrap


def clear(tables: bool = True) -> None:
    """Empty every cache (``tables=False``: all but those keyed by the model's tables, as a
    running server has them after its first few requests)."""
    with _registry_lock:
        caches = [c for name, c in _registry.items() if tables or not POLICY[name].tables]
    for cache in caches:
        cache.clear()


def stats() -> dict[str, tuple[int, int, int]]:
    """(hits, misses, entries) of every cache, by name."""
    out = {}
    with _registry_lock:
        items = list(_registry.items())
    for name, cache in items:
        if isinstance(cache, LRU):
            out[name] = (cache.hits, cache.misses, len(cache))
        else:
            out[name] = cache.counts()
    return out
