"""Writes ELF core files the way QEMU's ``dump-guest-memory`` and kdump lay them out: an ELF
header, the program headers (one PT_NOTE, then one PT_LOAD per memory range, placed at its
physical address in p_paddr), the notes, then each range's bytes.

Written from the System V gABI (ELF header, program header and note formats), not from the
reader in ``model.explore.image``, so that a test can tell the two apart.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ET_CORE = 4
EM_AARCH64 = 183
PT_LOAD = 1
PT_NOTE = 4


@dataclass(frozen=True)
class Load:
    """A PT_LOAD: ``data`` at physical ``paddr``; ``memsz`` larger than the data leaves the
    rest to read as zero."""

    paddr: int
    data: bytes
    memsz: int | None = None
    vaddr: int = 0


def note(name: str, ntype: int, desc: bytes) -> bytes:
    """One ELF note: namesz, descsz, type, then name and desc, each padded to 4 bytes."""
    raw_name = name.encode() + b"\0"
    return (
        struct.pack("<III", len(raw_name), len(desc), ntype)
        + raw_name.ljust((len(raw_name) + 3) & ~3, b"\0")
        + desc.ljust((len(desc) + 3) & ~3, b"\0")
    )


def vmcoreinfo_note(text: str) -> bytes:
    return note("VMCOREINFO", 0, text.encode())


def core_bytes(loads: Sequence[Load], notes: bytes = b"", machine: int = EM_AARCH64) -> bytes:
    """An ELF64 little-endian core file holding ``loads`` and the ``notes`` blob."""
    phnum = len(loads) + (1 if notes else 0)
    header_size = 64 + 56 * phnum
    offset = header_size
    phdrs = b""
    body = b""
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 0, offset, 0, 0, len(notes), 0, 0)
        body += notes
        offset += len(notes)
    for load in loads:
        pad = (-offset) % 8
        body += bytes(pad)
        offset += pad
        memsz = load.memsz if load.memsz is not None else len(load.data)
        phdrs += struct.pack(
            "<IIQQQQQQ", PT_LOAD, 7, offset, load.vaddr, load.paddr, len(load.data), memsz, 0
        )
        body += load.data
        offset += len(load.data)
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack("<HHIQQQIHHHHHH", ET_CORE, machine, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    return ehdr + phdrs + body


def write_core(path: Path, loads: Sequence[Load], notes: bytes = b"") -> Path:
    path.write_bytes(core_bytes(loads, notes))
    return path


def words_to_bytes(base: int, size: int, words: dict[int, int]) -> bytes:
    """``size`` bytes of memory from ``base`` holding ``words`` ({pa: 64-bit value})."""
    buf = bytearray(size)
    for pa, value in words.items():
        if base <= pa and pa + 8 <= base + size:
            struct.pack_into("<Q", buf, pa - base, value)
    return bytes(buf)


def ranges_of(words: Iterable[int], granule: int = 4096) -> list[tuple[int, int]]:
    """The granule-aligned ranges ``(base, size)`` that hold the addresses ``words``, merged
    where they touch."""
    pages = sorted({pa & ~(granule - 1) for pa in words})
    out: list[tuple[int, int]] = []
    for page in pages:
        if out and out[-1][0] + out[-1][1] == page:
            out[-1] = (out[-1][0], out[-1][1] + granule)
        else:
            out.append((page, granule))
    return out


def core_of(words: dict[int, int], granule: int = 4096, notes: bytes = b"") -> bytes:
    """An ELF core file holding ``words`` ({pa: value}): one PT_LOAD per run of
    granule-sized pages that hold them."""
    loads = [Load(b, words_to_bytes(b, s, words)) for b, s in ranges_of(words, granule)]
    return core_bytes(loads, notes)
