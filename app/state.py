"""The permalink codec: an explorer state <-> a readable, canonical query string.

A link names its format version (``v``). Decoding first brings the parameters of an older
version up to the current one through ``MIGRATIONS`` (one step per version), then reads them.
Canonical form, so that one walk has exactly one link:

* parameters in a fixed order: ``v, preset, regime, cpu, access, va``, the registers in
  ``REGISTER_NAMES`` order, ``fill`` entries (the registers and CPU the background tables
  were built for, where they differ from the preset's: only "re-fill" changes them), ``mem``
  entries sorted by address, then the choices;
* lowercase hexadecimal with ``0x`` and no leading zeros;
* a parameter equal to the preset's value is omitted (and ``preset`` itself when it is the
  default preset);
* values are masked to their widths (64 bits; descriptor addresses 8-byte aligned).

Links leave out what equals the preset, so a preset's content is part of the link format:
changing a preset means a new ``LINK_VERSION`` whose migration step writes the old preset's
values out explicitly. The frozen links in tests/links/ fail if this is forgotten.

Version 2 (this one) walks set descriptors over background tables that never change with the
registers; version 1 invented the tables from the registers of each walk (``app/link_v1.py``
turns a version-1 link into the version-2 link of the same walk).

Nothing here knows the architecture: the state is a ``model.configs.Configuration``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import get_args, get_type_hints
from urllib.parse import parse_qsl, urlencode

from app.jsonform import hex_values
from app.link_v1 import migrate_v1
from app.links import Links
from model import CPU_PRESETS, Choices, Regime
from model.arch.fields import MASK64
from model.explore.background import TablesOrigin
from model.explore.configs import CONFIG_PRESETS, DEFAULT_PRESET, REGISTER_NAMES, Configuration
from model.teach.kernel_facts import version as kernel_version

LINK_VERSION = 2
MAX_MEMORY_ENTRIES = 256

REGISTER_PARAMS = {name.lower(): name for name in REGISTER_NAMES}
CHOICE_PARAMS = {f"c.{f.name}": f.name for f in fields(Choices)}
ACCESS_RE = re.compile(r"el[012][rwx]")
IMAGE_RE = re.compile(r"[0-9a-f]{64}")

# One function per version step: MIGRATIONS[n] turns version-n parameters into version n+1.
# Add a step (never edit one) whenever the link format changes, and freeze a link of the old
# version in tests/links/.
Params = list[tuple[str, str]]
# A step may report what it cannot carry over in ``problems``.
MIGRATIONS: dict[int, Callable[[Params, list[Problem]], Params]] = {1: migrate_v1}


@dataclass(frozen=True)
class Problem:
    """Something in a link that could not be used, and why."""

    param: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 40 else self.value[:37] + "..."
        return f"{self.param}={shown} -- {self.reason}" if self.param else self.reason


@dataclass
class Decoded:
    config: Configuration
    problems: list[Problem] = field(default_factory=list)
    # ``kernel``: the release the Linux panel describes. Not part of the walk, so not in the
    # canonical link; an explorer link may add it (model.teach.kernel_facts reads it).
    kernel: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_number(text: str, bits: int = 64) -> int:
    """Tolerant number reading: ``0x`` hex, ``0b`` binary or decimal; ``_`` and spaces ignored.

    Raises ValueError with a message fit to show next to the field; a value cut short
    (``0x``, ``0b`` or nothing) is reported as truncated.
    """
    shown = text.strip()[:40]
    cleaned = text.strip().replace("_", "").replace(" ", "").lower()
    if not cleaned:
        raise ValueError("empty value (truncated?)")
    if cleaned.startswith("-"):
        raise ValueError(f"{shown!r} is negative")
    if cleaned in ("0x", "0b"):
        raise ValueError(f"{shown!r} has no digits after {cleaned} (truncated?)")
    try:
        if cleaned.startswith("0x"):
            value = int(cleaned[2:], 16)
        elif cleaned.startswith("0b"):
            value = int(cleaned[2:], 2)
        elif cleaned.isdigit():
            value = int(cleaned, 10)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{shown!r} is not a number (hex needs 0x)") from None
    if value >> bits:
        raise ValueError(f"{shown!r} is wider than {bits} bits")
    return value


def hex_value(value: int) -> str:
    return f"{value:#x}"


def _choice_values(name: str) -> tuple[str, ...]:
    return get_args(get_type_hints(Choices)[name])


def encode(config: Configuration) -> str:
    """The canonical query string (without ``?``) of a configuration."""
    base = CONFIG_PRESETS.get(config.slug) or CONFIG_PRESETS[DEFAULT_PRESET]
    params: Params = [("v", str(LINK_VERSION))]
    if base.slug != DEFAULT_PRESET:
        params.append(("preset", base.slug))
    for name in ("regime", "cpu", "access"):
        if getattr(config, name) != getattr(base, name):
            params.append((name, getattr(config, name)))
    if config.address & MASK64 != base.address:
        params.append(("va", hex_value(config.address & MASK64)))
    for param, register in REGISTER_PARAMS.items():
        value = config.registers.get(register, 0) & MASK64
        if value != base.registers.get(register, 0):
            params.append((param, hex_value(value)))
    if config.image is not None:  # a memory image stands in for the background tables
        params.append(("image", config.image))
    else:
        params.extend(
            ("fill", item) for item in fill_items(config.tables_origin, base.tables_origin)
        )
    memory = {a & MASK64 & ~7: v & MASK64 for a, v in sorted(config.memory.items())}
    for address, value in sorted(memory.items()):
        if base.memory.get(address) != value:
            params.append(("mem", f"{hex_value(address)}:{hex_value(value)}"))
    for param, name in CHOICE_PARAMS.items():
        value = getattr(config.choices, name)
        if value != getattr(base.choices, name):
            params.append((param, value))
    if all(_PLAIN.fullmatch(k) and _PLAIN.fullmatch(v) for k, v in params):
        # Nothing to quote: what urlencode would give, without its cost.
        return "&".join(f"{k}={v}" for k, v in params)
    return urlencode(params, safe=":")


def fill_items(origin: TablesOrigin, preset: TablesOrigin) -> list[str]:
    """The ``fill`` entries of a tables origin: ``register:value`` for each register whose value
    differs from the preset's origin, then ``cpu:slug`` and ``regime:name`` where they differ."""
    items = []
    for param, register in REGISTER_PARAMS.items():
        value = int(origin.registers.get(register, 0)) & MASK64
        if value != int(preset.registers.get(register, 0)) & MASK64:
            items.append(f"{param}:{hex_value(value)}")
    if origin.cpu != preset.cpu:
        items.append(f"cpu:{origin.cpu}")
    if origin.regime != preset.regime:
        items.append(f"regime:{origin.regime}")
    return items


def read_fill_items(
    items: list[str], preset: TablesOrigin, problems: list[Problem]
) -> TablesOrigin:
    """The tables origin of a link's ``fill`` entries (over the preset's origin)."""
    registers = dict(preset.registers)
    cpu, regime = preset.cpu, preset.regime
    regimes = [r.value for r in Regime]
    for item in items:
        name, sep, value = item.partition(":")
        name = name.strip().lower()
        if not sep:
            problems.append(Problem("fill", item, "expected register:value or cpu:preset"))
        elif name == "cpu":
            if value in CPU_PRESETS:
                cpu = value
            else:
                problems.append(
                    Problem("fill", item, f"not a known CPU preset ({', '.join(CPU_PRESETS)})")
                )
        elif name == "regime":
            if value in regimes:
                regime = value
            else:
                problems.append(Problem("fill", item, f"not a known regime ({', '.join(regimes)})"))
        elif name in REGISTER_PARAMS:
            try:
                registers[REGISTER_PARAMS[name]] = parse_number(value)
            except ValueError as error:
                problems.append(Problem("fill", item, str(error)))
        else:
            problems.append(Problem("fill", item, "not a register the tables are built from"))
    return TablesOrigin(registers, cpu, regime)


# The characters ``urlencode(..., safe=":")`` leaves as they are.
_PLAIN = re.compile(r"[A-Za-z0-9_.~:-]*")


def _migrate(params: Params, problems: list[Problem]) -> Params:
    raw_versions = [value for key, value in params if key == "v"]
    rest = [(key, value) for key, value in params if key != "v"]
    if not raw_versions:
        if rest:
            problems.append(Problem("v", "", f"no version given; read as version {LINK_VERSION}"))
        return rest
    raw = raw_versions[-1]
    # ASCII digits only, and few: str.isdigit() also accepts "¹", which int() refuses, and
    # int() refuses more than 4,300 digits.
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= LINK_VERSION:
        problems.append(
            Problem(
                "v",
                raw,
                f"unknown link version (this server reads versions 1 to {LINK_VERSION}); "
                f"read as version {LINK_VERSION}",
            )
        )
        return rest
    version = int(raw)
    while version < LINK_VERSION:
        rest = MIGRATIONS[version](rest, problems)
        version += 1
    return rest


def decode_params(params: Iterable[tuple[str, str]]) -> Decoded:
    """Read link parameters; whatever cannot be used is dropped and reported in ``problems``."""
    problems: list[Problem] = []
    items = [(key.strip().lower(), value) for key, value in params]
    items = _migrate(items, problems)
    last: dict[str, str] = {}
    memory_items: list[str] = []
    fill: list[str] = []
    for key, value in items:
        if key == "mem":
            memory_items.append(value)
        elif key == "fill":
            fill.append(value)
        else:
            last[key] = value

    slug = last.pop("preset", DEFAULT_PRESET)
    if slug not in CONFIG_PRESETS:
        problems.append(Problem("preset", slug, f"no such preset; using {DEFAULT_PRESET}"))
        slug = DEFAULT_PRESET
    config = CONFIG_PRESETS[slug]
    changes: dict = {}

    def take(key: str, allowed: Iterable[str], what: str) -> None:
        if key not in last:
            return
        value = last.pop(key)
        allowed = tuple(allowed)
        if value in allowed:
            changes[key] = value
        else:
            problems.append(Problem(key, value, f"not a known {what} ({', '.join(allowed)})"))

    take("regime", [r.value for r in Regime], "translation regime")
    take("cpu", CPU_PRESETS, "CPU preset")
    if "access" in last:
        value = last.pop("access")
        if ACCESS_RE.fullmatch(value):
            changes["access"] = value
        else:
            problems.append(Problem("access", value, "expected el0/el1/el2 and r/w/x, e.g. el1r"))
    if "va" in last:
        value = last.pop("va")
        try:
            changes["address"] = parse_number(value)
        except ValueError as error:
            problems.append(Problem("va", value, str(error)))

    registers = dict(config.registers)
    for param, register in REGISTER_PARAMS.items():
        if param in last:
            value = last.pop(param)
            try:
                registers[register] = parse_number(value)
            except ValueError as error:
                problems.append(Problem(param, value, str(error)))
    changes["registers"] = registers

    memory = dict(config.memory)
    for item in memory_items[:MAX_MEMORY_ENTRIES]:
        try:
            address, value = parse_memory_item(item)
            memory[address] = value
        except ValueError as error:
            problems.append(Problem("mem", item, str(error)))
    if len(memory_items) > MAX_MEMORY_ENTRIES:
        dropped = len(memory_items) - MAX_MEMORY_ENTRIES
        problems.append(
            Problem(
                "mem",
                "",
                f"more than {MAX_MEMORY_ENTRIES} memory entries; the last {dropped} dropped",
            )
        )
    changes["memory"] = memory
    changes["tables"] = read_fill_items(fill, config.tables_origin, problems)
    if "image" in last:
        value = last.pop("image").strip().lower()
        if IMAGE_RE.fullmatch(value):
            changes["image"] = value
        else:
            problems.append(Problem("image", value, "expected the image's sha256 (64 hex digits)"))

    choice_changes = {}
    for param, name in CHOICE_PARAMS.items():
        if param in last:
            value = last.pop(param)
            if value in _choice_values(name):
                choice_changes[name] = value
            else:
                allowed = ", ".join(_choice_values(name))
                problems.append(Problem(param, value, f"expected one of {allowed}"))
    changes["choices"] = replace(config.choices, **choice_changes)

    kernel = None
    if "kernel" in last:
        value = last.pop("kernel")
        try:
            kernel = kernel_version(value).tag
        except ValueError as error:
            problems.append(Problem("kernel", value, str(error)))

    for key, value in last.items():
        if key:
            problems.append(Problem(key, value, "unknown parameter, ignored"))
    return Decoded(replace(config, **changes), problems, kernel)


def parse_memory_item(item: str) -> tuple[int, int]:
    """``address:value`` of a ``mem`` parameter; ValueError says what is wrong."""
    address_text, sep, value_text = item.partition(":")
    if not sep:
        raise ValueError("expected address:value (truncated?)")
    if not address_text.strip():
        raise ValueError("address missing before ':'")
    try:
        address = parse_number(address_text)
    except ValueError as error:
        raise ValueError(f"address: {error}") from None
    if address & 7:
        raise ValueError(f"address {address:#x} is not 8-byte aligned")
    if not value_text.strip():
        raise ValueError(f"descriptor value missing after '{address_text}:' (truncated?)")
    try:
        value = parse_number(value_text)
    except ValueError as error:
        raise ValueError(f"descriptor value: {error}") from None
    return address, value


def decode(query: str) -> Decoded:
    """Decode a query string (with or without a leading ``?``)."""
    return decode_params(parse_qsl(query.strip().lstrip("?"), keep_blank_values=True))


def canonical(query: str) -> str:
    """The canonical form of a (possibly non-canonical) link query."""
    return encode(decode(query).config)


def problems_message(problems: Iterable[Problem]) -> str:
    """One sentence per problem, for pages, plain text and the CLI."""
    items = list(problems)
    if not items:
        return ""
    head = "This link could not be read in full; what was dropped and why:"
    return head + " " + "; ".join(str(p) for p in items) + "."


def build_config(
    *,
    base: Configuration | None = None,
    preset: str | None = None,
    regime: str | None = None,
    cpu: str | None = None,
    access: str | None = None,
    address: int | str | None = None,
    registers: Mapping[str, int | str] | None = None,
    memory: Mapping[int | str, int | str] | None = None,
    choices: Mapping[str, str] | None = None,
    refill: bool = False,
    image: str | None = None,
) -> Configuration:
    """A configuration from loose inputs (the API and the CLI): ``base`` or ``preset`` (default
    preset) with the given fields replaced; ``refill`` builds the background tables for the
    resulting registers (the explorer's Re-fill) instead of keeping the preset's. Register
    names are case-insensitive and numbers may be ints or strings (``parse_number``). Raises
    ValueError with a one-line message."""
    if preset is not None:
        if preset not in CONFIG_PRESETS:
            raise ValueError(f"unknown preset {preset!r} (known: {', '.join(CONFIG_PRESETS)})")
        config = CONFIG_PRESETS[preset]
    else:
        config = base or CONFIG_PRESETS[DEFAULT_PRESET]
    changes: dict = {}
    if regime is not None:
        known = [r.value for r in Regime]
        if regime not in known:
            raise ValueError(f"unknown regime {regime!r} (known: {', '.join(known)})")
        changes["regime"] = regime
    if cpu is not None:
        if cpu not in CPU_PRESETS:
            raise ValueError(f"unknown CPU preset {cpu!r} (known: {', '.join(CPU_PRESETS)})")
        changes["cpu"] = cpu
    if access is not None:
        access = access.strip().lower()
        if not ACCESS_RE.fullmatch(access):
            raise ValueError(f"bad access {access!r}: expected el0/el1/el2 and r/w/x, e.g. el1r")
        changes["access"] = access
    if address is not None:
        changes["address"] = _number(address, "address")
    if registers:
        merged = dict(config.registers)
        for name, value in registers.items():
            key = name.strip().upper()
            if key not in REGISTER_NAMES:
                raise ValueError(f"unknown register {name!r} (known: {', '.join(REGISTER_NAMES)})")
            merged[key] = _number(value, key)
        changes["registers"] = merged
    if memory:
        if len(memory) > MAX_MEMORY_ENTRIES:
            raise ValueError(f"more than {MAX_MEMORY_ENTRIES} memory entries")
        merged_memory = dict(config.memory)
        for raw_address, raw_value in memory.items():
            where = _number(raw_address, "memory address")
            if where & 7:
                raise ValueError(f"memory address {where:#x} is not 8-byte aligned")
            merged_memory[where] = _number(raw_value, f"descriptor at {where:#x}")
        changes["memory"] = merged_memory
    if choices:
        choice_changes = {}
        for name, value in choices.items():
            if name not in CHOICE_PARAMS.values():
                known = ", ".join(CHOICE_PARAMS.values())
                raise ValueError(f"unknown choice {name!r} (known: {known})")
            if value not in _choice_values(name):
                allowed = ", ".join(_choice_values(name))
                raise ValueError(f"choice {name}={value!r}: expected one of {allowed}")
            choice_changes[name] = value
        changes["choices"] = replace(config.choices, **choice_changes)
    if image is not None:
        changes["image"] = image
    config = replace(config, **changes)
    return config.refilled() if refill else config


def _number(value: int | str, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, not {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= MASK64:
            raise ValueError(f"{what}: {value} does not fit in 64 bits")
        return value
    try:
        return parse_number(str(value))
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


def config_to_dict(config: Configuration) -> dict:
    """The whole state as JSON-ready data (numbers as lowercase hex strings)."""
    return {
        "preset": config.slug,
        "title": config.title,
        "regime": config.regime,
        "cpu": config.cpu,
        "access": config.access,
        "address": hex_value(config.address),
        "registers": {name: hex_value(config.registers.get(name, 0)) for name in REGISTER_NAMES},
        "memory": {hex_value(a): hex_value(v) for a, v in sorted(config.memory.items())},
        "choices": {name: getattr(config.choices, name) for name in CHOICE_PARAMS.values()},
    } | ({"image": config.image} if config.image is not None else {})


def walk_document(
    config: Configuration,
    walk: dict,
    *,
    base: str,
    short_link: str | None = None,
    problems: Iterable[Problem] = (),
) -> dict:
    """The JSON twin of a walk (``/walk.json``, ``lpa2-explorer walk --json``): the model's
    full result (``walk``, from ``WalkResult.to_dict()``) with the state and its links."""
    query = encode(config)
    links = Links(base.rstrip("/"))
    return {
        "query": query,
        "link": links.page(query),
        "short_link": short_link,
        "txt_url": links.txt(query),
        "config": config_to_dict(config),
        "problems": [str(p) for p in problems],
        "walk": hex_values(walk),  # 64-bit values as "0x…" strings (app.jsonform)
    }
