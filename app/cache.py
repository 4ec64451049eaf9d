"""Every cache of the service: its name, its bound and what it is keyed by, decided here.

A module that remembers something asks for a cache by name (``lru("cards")`` for a mapping it
fills itself, ``@memo("slugs")`` for a pure function of hashable arguments); the bound comes
from ``POLICY``, never from the caller, so one table shows what the process may keep.

Rules every cache here keeps:

* bounded in entries and in bytes (the least recently used entry goes first): ``POLICY`` gives
  the entries, ``BYTES`` the bytes and how an entry's size is counted (an upper bound of what
  the entry holds, checked by tests/security/test_memory.py; a cache ``BYTES`` does not name
  gets ``DEFAULT_BYTES``: its entries are sampled and each counted as twice the largest);
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
import sys
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
    "linux_releases_html": Policy(32, "the kernel release the Linux panel describes", tables=True),
    "field_help_html": Policy(512, "a field-help view, its title and id", tables=True),
    "escaped": Policy(8192, "a text of the model's (field names, meanings)", tables=True),
    "slugs": Policy(4096, "a name made into an HTML id", tables=True),
    # compressed answers (app.compression)
    "static_compressed": Policy(64, "a static file's bytes and the coding", tables=True),
}


# -- bytes ---------------------------------------------------------------------------------------

Sizer = Callable[[Any, Any], int]


def deep_size(*objects: object) -> int:
    """Bytes the objects hold: ``sys.getsizeof`` over everything reachable through containers,
    attributes and slots (each object once). An upper bound of what dropping them frees,
    since objects shared with others are counted too."""
    seen: set[int] = set()
    stack = list(objects)
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif not isinstance(item, str | bytes | int | float | bool):
            if hasattr(item, "__dict__"):
                stack.append(item.__dict__)
            for slot in getattr(type(item), "__slots__", ()):
                if hasattr(item, slot):
                    stack.append(getattr(item, slot))
    return total


def measured(key: object, value: object) -> int:
    """Measure the entry (a walk of what it holds; for caches that are filled rarely)."""
    return deep_size(key, value)


class Sampled:
    """The default sizer, one per cache: text is counted exactly; anything else as twice the
    largest entry measured so far, measuring the first ``FIRST`` entries and one in ``EVERY``
    after that (a walk of a view costs more than building it, and a click fills several)."""

    FIRST = 4
    EVERY = 128

    def __init__(self) -> None:
        self.count = 0
        self.largest = 0

    def __call__(self, key: object, value: object) -> int:
        if isinstance(value, str):
            return text(key, value)
        self.count += 1
        if self.count <= self.FIRST or self.count % self.EVERY == 0:
            self.largest = max(self.largest, deep_size(key, value))
        return 2 * self.largest


def text(key: object, value: object) -> int:
    """Markup and strings (and small hashable keys): counted exactly, at no walking cost."""
    size = sys.getsizeof(value) + sys.getsizeof(key)
    if isinstance(key, tuple):
        size += sum(sys.getsizeof(part) for part in key)
    return size


def _query_in(key: object, value: object) -> str:
    for part in (key, value, *(key if isinstance(key, tuple) else ()),
                 *(value if isinstance(value, tuple) else ())):  # fmt: skip
        if isinstance(part, str):
            return part
    return ""


def per_query(fixed: int, per_character: int) -> Sizer:
    """An entry derived from a link query: at most ``fixed`` bytes plus ``per_character`` for
    every character of the query (memory entries, the query itself). Cheap enough for a cache
    a click fills; the constants are checked against measured entries by the tests."""

    def size(key: object, value: object) -> int:
        return fixed + per_character * len(_query_in(key, value))

    return size


class Budget(NamedTuple):
    bytes: int
    sizer: Sizer | type[Sampled]  # Sampled: a sizer of its own for each cache


MB = 1 << 20
# name: (bound in bytes, how an entry is counted). A state holds its walk and its view (the
# largest, a two-stage walk with 35 reads, measures about 0.5 MB with everything its view
# shares with the other caches); the entries of the others are a few kilobytes. Measured
# entries count what they share with other caches too, so the bounds overestimate.
BYTES: dict[str, Budget] = {
    "states": Budget(64 * MB, per_query(600_000, 16)),
    "link_queries": Budget(8 * MB, per_query(8_000, 16)),
    "config_queries": Budget(8 * MB, per_query(8_000, 16)),
    "short_ids": Budget(4 * MB, per_query(512, 4)),
    "field_help_html": Budget(4 * MB, measured),  # one entry per layout: rare, measured
    "escaped": Budget(2 * MB, text),
}
DEFAULT_BYTES = Budget(16 * MB, Sampled)


def budget(name: str) -> Budget:
    return BYTES.get(name, DEFAULT_BYTES)


def _sizer(budget: Budget) -> Sizer:
    return budget.sizer() if isinstance(budget.sizer, type) else budget.sizer


class LRU(Generic[K, V]):
    """A bounded, thread-safe mapping that forgets the least recently used entry first, when
    it holds more than ``size`` entries or more than ``max_bytes`` bytes (each entry counted
    once, when it is put, by ``sizer``)."""

    def __init__(
        self,
        size: int,
        name: str = "",
        max_bytes: int | None = None,
        sizer: Sizer | None = None,
    ) -> None:
        self.name = name
        self.size = size
        default = budget(name)
        self.max_bytes = default.bytes if max_bytes is None else max_bytes
        self.sizer: Sizer = sizer or _sizer(default)
        self.bytes = 0
        self._data: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
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
        size = self.sizer(key, value)
        with self._lock:
            self.bytes += size - self._sizes.get(key, 0)
            self._data[key] = value
            self._sizes[key] = size
            self._data.move_to_end(key)
            while len(self._data) > self.size or (self.bytes > self.max_bytes and self._data):
                old, _ = self._data.popitem(last=False)
                self.bytes -= self._sizes.pop(old)
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = self.put(key, make())
        return value

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)
            self.bytes -= self._sizes.pop(key, 0)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._sizes.clear()
            self.bytes = 0

    def items(self) -> list[tuple[K, V]]:
        with self._lock:
            return list(self._data.items())

    def __len__(self) -> int:
        return len(self._data)


class _Memo:
    """A ``memo`` cache as the registry sees it (``functools.lru_cache`` underneath: a hot
    renderer calls these per printed field, and the C implementation is the fast one). Bytes:
    every result computed is counted (a hit costs nothing more); past the budget the cache
    starts again empty. Entries the LRU dropped are still counted, so the count only ever
    overestimates."""

    def __init__(self, function: Any, name: str = "") -> None:
        self.function = function
        self.name = name
        self.max_bytes = budget(name).bytes
        self.sizer = _sizer(budget(name))
        self.bytes = 0

    def counted(self, key: object, value: object) -> None:
        self.bytes += self.sizer(key, value)
        if self.bytes > self.max_bytes:
            self.clear()

    def clear(self) -> None:
        self.function.cache_clear()
        self.bytes = 0

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
        def computed(*args: Any, **kwargs: Any) -> Any:  # runs on a miss only
            value = function(*args, **kwargs)
            entry.counted((args, tuple(kwargs.items())), value)
            return value

        cached = functools.lru_cache(maxsize=_policy(name).entries)(computed)
        functools.update_wrapper(cached, function)
        entry = _Memo(cached, name)
        with _registry_lock:
            if name in _registry:
                raise ValueError(f"cache {name!r} is already in use")
            _registry[name] = entry
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


def registered() -> dict[str, LRU | _Memo]:
    """Every named cache (for the memory tests)."""
    with _registry_lock:
        return dict(_registry)
