"""The background memory of an explorer state: translation tables invented for any address the
user did not set, consistent enough that a walk of any address completes."""

from __future__ import annotations

from collections.abc import Mapping

from model.arch import geometry as geo
from model.arch.descriptors import encode_address
from model.arch.fields import descriptor_layout
from model.arch.memory import Memory, WalkGeometry, as_memory

_MIX = 0x9E3779B97F4A7C15


class SyntheticMemory(Memory):
    """A memory that answers every descriptor read the user did not supply with an invented but
    consistent descriptor, so that a walk of any address completes.

    * Levels below 3 read table descriptors pointing at next-level tables placed in a region at
      the top of the output address space (stage-1 tables in the lower half of that region,
      stage-2 tables in the upper half), at slots derived from (stage, level, descriptor
      address) by hashing, with linear probing so distinct paths never share a table.
    * Level 3 reads page descriptors: identity mapping of the input address (folded into the
      output size when it does not fit), AF=1, AttrIndx 0 / MemAttr Normal WB, read/write at
      EL1 and EL0 (stage 2: S2AP=RW), SH inner-shareable when the format has an SH field.
    * With DS=1 (or 64KB+LPA) and a 52-bit output size the table region lies above 2^48, so the
      high address bits (desc[9:8], desc[49:48] or desc[15:12]) are exercised; with a smaller
      output size they stay zero.

    ``seed_region`` = (base, size) overrides where tables go; a synthesized value is remembered,
    so re-reading an address returns the same descriptor.
    """

    def __init__(
        self,
        base_memory: Mapping[int, int] | Memory | None = None,
        seed_region: tuple[int, int] | None = None,
    ) -> None:
        self.base = as_memory(base_memory) if base_memory is not None else None
        self.seed_region = seed_region
        self.synthesized: dict[int, int] = {}
        self._used_slots: set[int] = set()

    def _in_base(self, pa: int) -> bool:
        if self.base is None:
            return False
        try:
            return pa in self.base  # type: ignore[operator]
        except TypeError:
            return self.base.read64(pa) != 0

    def read64(self, pa: int) -> int:
        pa &= ~7
        if self._in_base(pa):
            return self.base.read64(pa)  # type: ignore[union-attr]
        return self.synthesized.get(pa, 0)

    def read_descriptor(
        self, pa: int, stage: int, level: int, params: WalkGeometry
    ) -> tuple[int, bool]:
        pa &= ~7
        if self._in_base(pa):
            return self.base.read64(pa), False  # type: ignore[union-attr]
        if pa not in self.synthesized:
            self.synthesized[pa] = self.synthesize(stage, level, params, pa)
        return self.synthesized[pa], True

    # -- synthesis -------------------------------------------------------------------------
    def _region(self, stage: int, params: WalkGeometry) -> tuple[int, int]:
        if self.seed_region is not None:
            base, size = self.seed_region
        else:
            oa = params.oa_bits
            size = 1 << (oa - 4)
            base = (1 << oa) - size
        half = size // 2
        return (base, half) if stage == 1 else (base + half, half)

    def _table_slot(self, stage: int, level: int, params: WalkGeometry, desc_pa: int) -> int:
        base, size = self._region(stage, params)
        gb = params.granule_bits
        slots = max(1, size >> gb)
        h = ((desc_pa >> 3) * _MIX + (stage << 8) + (level + 1)) & ((1 << 64) - 1)
        idx = (h ^ (h >> 29)) % slots
        for _ in range(slots):
            addr = base + (idx << gb)
            if addr not in self._used_slots:
                self._used_slots.add(addr)
                return addr
            idx = (idx + 1) % slots
        return base

    def synthesize(self, stage: int, level: int, params: WalkGeometry, desc_address: int) -> int:
        """Invent the descriptor at ``desc_address`` for a walk with ``params``."""
        variant = params.desc_variant
        if level < geo.FINAL_LEVEL:
            nxt = self._table_slot(stage, level, params, desc_address)
            layout = descriptor_layout(stage, "table", variant)
            value = encode_address(nxt, layout, variant, params.granule_bits)
            return value | 0b11
        layout = descriptor_layout(stage, "page", variant)
        ia = params.input_address
        oa = ia & ((1 << params.oa_bits) - 1) & ~((1 << params.granule_bits) - 1)
        value = encode_address(oa, layout, variant, params.granule_bits) | 0b11
        value = layout.set(value, "AF", 1)
        if "SH" in layout:
            value = layout.set(value, "SH", 0b11)
        if stage == 1:
            value = layout.set(value, "AP", 0b01)
            value = layout.set(value, "AttrIndx", 0)
        else:
            value = layout.set(value, "S2AP", 0b11)
            value = layout.set(value, "MemAttr", 0b1111)
        return value
