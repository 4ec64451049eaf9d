"""What a version-1 link meant, and the step that turns it into a version-2 link.

Version 1 had no fixed memory: every descriptor a link did not set was invented during the
walk, from the parameters of the walk that read it (a table slot hashed from the descriptor
address, with linear probing; a page mapping that walk's input address). So an edit to a
register silently rewrote the tables. Version 2 walks set descriptors over background tables
that never change with the registers (``model.explore.background``).

A version-1 link keeps showing the walk it was shared with: the step below walks it the way
version 1 did, over the version-1 presets' own descriptors (``link_v1_presets.json``, frozen
when version 2 began), and writes every descriptor that walk read out as an explicit ``mem``
entry. Registers, regime, CPU, access, address and choices read the same in both versions,
and the presets' registers did not change, so the other parameters pass through as they are.
Nothing here is used for version-2 links.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import get_args, get_type_hints

from model import CPU_PRESETS, Choices, DictMemory, Regime, walk
from model.arch import geometry as geo
from model.arch.descriptors import encode_address
from model.arch.fields import MASK64, descriptor_layout
from model.arch.walker import LevelRead, WalkParams, WalkResult
from model.explore.background import page_descriptor

_PRESETS_FILE = Path(__file__).with_name("link_v1_presets.json")
_DEFAULT_PRESET = "4k-48"
# Choices a version-1 link had no parameter for, with the value version 1 behaved as.
_V1_CHOICES = (("c.par_ns", "zero"),)
# A walk reads at most (5 + 1) * (5 + 1) - 1 descriptors; one more round proves it complete.
_MAX_ROUNDS = 40


@cache
def v1_presets() -> dict[str, dict]:
    """The version-1 presets as they were: regime, CPU, access, address, registers, memory."""
    return json.loads(_PRESETS_FILE.read_text())


def _number(text: str) -> int | None:
    cleaned = text.strip().replace("_", "").replace(" ", "").lower()
    try:
        if cleaned.startswith("0x"):
            return int(cleaned[2:], 16) & MASK64
        if cleaned.startswith("0b"):
            return int(cleaned[2:], 2) & MASK64
        if cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= 20:
            return int(cleaned) & MASK64
    except ValueError:
        return None
    return None


def _memory_item(item: str) -> tuple[int, int] | None:
    address_text, sep, value_text = item.partition(":")
    address, value = _number(address_text), _number(value_text)
    if not sep or address is None or value is None or address & 7:
        return None
    return address, value


def migrate_v1(params: list[tuple[str, str]], problems: list) -> list[tuple[str, str]]:
    """Version-1 parameters -> version-2 parameters showing the same walk.

    Values that cannot be read pass through untouched: the version-2 reader reports them. A
    link without a (known) preset named 4k-48 in version 1; version 2 says so explicitly.
    """
    from app.state import Problem  # the codec's own record; imported here to avoid a cycle

    last = {key: value for key, value in params if key != "mem"}
    slug = last.get("preset", _DEFAULT_PRESET)
    if slug not in v1_presets():
        problems.append(Problem("preset", slug, f"no such preset; using {_DEFAULT_PRESET}"))
    params = [(k, v) for k, v in params if k != "preset"] + [("preset", last.get("preset", ""))]
    if slug not in v1_presets():
        slug = _DEFAULT_PRESET
    params[-1] = ("preset", slug)
    last["preset"] = slug
    link_memory = {}
    for key, value in params:
        if key == "mem":
            item = _memory_item(value)
            if item is not None:
                link_memory[item[0]] = item[1]
    preset = v1_presets()[slug]
    regime = last.get("regime", preset["regime"])
    cpu = last.get("cpu", preset["cpu"])
    access = last.get("access", preset["access"])
    if regime not in {r.value for r in Regime} or cpu not in CPU_PRESETS:
        return params
    if access not in {f"el{e}{k}" for e in "012" for k in "rwx"}:
        access = preset["access"]
    address = _number(last.get("va", "")) if "va" in last else None
    if address is None:
        address = int(preset["address"], 16)
    registers = {name: int(value, 16) for name, value in preset["registers"].items()}
    for name in preset["registers"]:  # version 1's registers, in its order
        value = _number(last.get(name.lower(), "")) if name.lower() in last else None
        if value is not None:
            registers[name] = value
    hints = get_type_hints(Choices)
    choices = Choices(
        **{
            f.name: last[f"c.{f.name}"]
            for f in fields(Choices)
            if last.get(f"c.{f.name}") in get_args(hints[f.name])
        }
    )
    memory = {int(a, 16): int(v, 16) for a, v in preset["memory"].items()}
    memory.update(link_memory)
    read = _walk_as_v1(regime, registers, memory, address, access, cpu, choices)
    extra = [("mem", f"{a:#x}:{v:#x}") for a, v in sorted(read.items()) if link_memory.get(a) != v]
    # Choices added after version 1 whose default changes what a link shows: version 1 showed
    # their old behaviour (PAR_EL1.NS was always 0).
    extra += [(key, value) for key, value in _V1_CHOICES if key not in last]
    return params + extra


def _walk_as_v1(
    regime: str,
    registers: dict[str, int],
    memory: dict[int, int],
    address: int,
    access: str,
    cpu: str,
    choices: Choices,
) -> dict[int, int]:
    """Every descriptor (address -> value) a version-1 walk of this state reads.

    Version 1 invented a descriptor when the walk first read an address nobody had set; the
    walk over plain memory stops at that read (it reads 0, an invalid descriptor), so walking
    again after each invented descriptor reproduces version 1's order of invention exactly.
    """
    words = dict(memory)
    invent = _V1Tables()
    for _ in range(_MAX_ROUNDS):
        result = walk(
            regime, registers, DictMemory(words), address, access, CPU_PRESETS[cpu], choices
        )
        missing = next(
            ((read, params) for read, params in _reads(result) if read.desc_address not in words),
            None,
        )
        if missing is None:
            return {
                read.desc_address: words[read.desc_address]
                for read, _ in _reads(result)
                if read.desc_address is not None
            }
        read, params = missing
        words[read.desc_address] = invent.descriptor(
            read.stage, read.level, params, read.desc_address
        )
    raise RuntimeError("a version-1 walk did not finish")  # pragma: no cover - bounded walks


def _reads(result: WalkResult) -> Iterator[tuple[LevelRead, WalkParams]]:
    """The reads of a walk in the order the walker made them, with their stage parameters."""
    main = result.params.get("s1") or result.params.get("s2")
    for read in result.levels:
        if read.s2 is not None and read.s2.params is not None:
            for nested in read.s2.levels:
                if nested.desc_address is not None:
                    yield nested, read.s2.params
        if read.desc_address is not None and main is not None:
            params = main if read.stage == 1 else result.params["s2"]
            yield read, params
    final = result.s2_final
    if final is not None and final.params is not None:
        for read in final.levels:
            if read.desc_address is not None:
                yield read, final.params


_MIX = 0x9E3779B97F4A7C15


class _V1Tables:
    """Version 1's invented tables: next-level tables at hashed slots in the top 1/16 of the
    output space (stage 1 in its lower half, stage 2 in its upper half), linear probing among
    the slots this walk already used; pages mapping the walk's input address."""

    def __init__(self) -> None:
        self._used_slots: set[int] = set()

    def _table_slot(self, stage: int, level: int, params: WalkParams, desc_pa: int) -> int:
        oa = params.oa_bits
        size = 1 << (oa - 4)
        base = (1 << oa) - size
        half = size // 2
        if stage != 1:
            base += half
        slots = max(1, half >> params.granule_bits)
        h = ((desc_pa >> 3) * _MIX + (stage << 8) + (level + 1)) & MASK64
        idx = (h ^ (h >> 29)) % slots
        for _ in range(slots):
            addr = base + (idx << params.granule_bits)
            if addr not in self._used_slots:
                self._used_slots.add(addr)
                return addr
            idx = (idx + 1) % slots
        return base  # pragma: no cover - a walk uses at most a few dozen slots

    def descriptor(self, stage: int, level: int, params: WalkParams, desc_address: int) -> int:
        variant = params.desc_variant
        if level < geo.FINAL_LEVEL:
            nxt = self._table_slot(stage, level, params, desc_address)
            layout = descriptor_layout(stage, "table", variant)
            return encode_address(nxt, layout, variant, params.granule_bits) | 0b11
        # Pages: the same page descriptor version 2's background tables hold.
        return page_descriptor(params, params.input_address)
