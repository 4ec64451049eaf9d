"""Memory images as the memory a walk reads: raw dumps placed at a physical base, and ELF core
files (QEMU ``dump-guest-memory``, kdump ``vmcore``) read through their PT_LOAD segments.

A ``MemoryImage`` is a set of *segments*: physical address ranges backed by bytes of a file.
A raw file given as ``FILE@0xBASE`` is one segment starting at BASE; an ELF core file has one
per PT_LOAD program header, placed at its physical address (``p_paddr``). Files are
memory-mapped and never read whole: a descriptor read touches one page of the file, and a
table read hands out a view of the mapped bytes.

Byte ranges a segment declares but its file does not hold (``p_memsz`` beyond ``p_filesz``)
read as zero, as the ELF specification defines them. A read that needs a byte outside every
segment raises ``ExternalAbort`` (``model.arch.memory``): there is no memory there, and a
table walk that reads it takes a synchronous External abort (FSC 0x14 + level, 0x13 at level
-1). Reads may straddle the edge between two adjacent segments.

Descriptors are read little-endian: SCTLR_ELx.EE = 0, the only endianness the model walks.

Everything wrong with a file (missing, empty, truncated, not an ELF core, segments that
overlap) is an ``ImageError`` whose message names the file and the problem.
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from model.arch.fields import MASK64
from model.arch.memory import ExternalAbort, Memory

_LITTLE_ENDIAN_HOST = sys.byteorder == "little"

# ELF constants (System V gABI; AArch64 ELF ABI for EM_AARCH64).
_ELF_MAGIC = b"\x7fELF"
ET_CORE = 4
EM_NONE = 0
EM_AARCH64 = 183
PT_LOAD = 1
PT_NOTE = 4
PN_XNUM = 0xFFFF
_MACHINES = {
    3: "x86 (EM_386)",
    21: "PowerPC64 (EM_PPC64)",
    22: "s390 (EM_S390)",
    40: "32-bit Arm (EM_ARM)",
    62: "x86-64 (EM_X86_64)",
    243: "RISC-V (EM_RISCV)",
}
_TYPES = {
    0: "ET_NONE",
    1: "a relocatable object (ET_REL)",
    2: "an executable (ET_EXEC)",
    3: "a shared object (ET_DYN)",
}
VMCOREINFO_NOTE = "VMCOREINFO"


class ImageError(ValueError):
    """A memory image file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ImageSpec:
    """One file of an image as the user named it: ``FILE`` or ``FILE@BASE``."""

    path: Path
    base: int | None = None

    @classmethod
    def parse(cls, text: str) -> ImageSpec:
        """``FILE`` or ``FILE@BASE`` (BASE in hex with 0x, or decimal; ``_`` allowed). A file
        name that itself contains ``@`` is taken whole when what follows is no number."""
        name, sep, base_text = text.rpartition("@")
        if sep and name:
            base = _parse_base(base_text)
            if base is not None:
                return cls(Path(name), base)
            if base_text.strip().lower().startswith(("0x", "0b")) or base_text.strip().isdigit():
                raise ImageError(f"{text}: base address {base_text!r} is not a number")
        return cls(Path(text))


def _parse_base(text: str) -> int | None:
    cleaned = text.strip().replace("_", "").lower()
    try:
        if cleaned.startswith("0x"):
            value = int(cleaned[2:], 16)
        elif cleaned.isdigit():
            value = int(cleaned, 10)
        else:
            return None
    except ValueError:
        return None
    return value if 0 <= value <= MASK64 else None


class ImageFile:
    """One memory-mapped file of an image, with its identity (name, size, sha256)."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind  # "raw" | "elf"
        try:
            handle = open(path, "rb")  # noqa: SIM115 - the mapping outlives the with-block
        except FileNotFoundError:
            raise ImageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ImageError(f"{path}: is a directory, not a memory image") from None
        except OSError as error:
            raise ImageError(f"{path}: cannot open ({error.strerror})") from None
        with handle:
            stat = os.fstat(handle.fileno())
            self.size = stat.st_size
            self._stat_key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self.size == 0:
                raise ImageError(f"{path}: the file is empty")
            try:
                self.map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as error:
                raise ImageError(f"{path}: cannot be memory-mapped ({error})") from None
        self.view = memoryview(self.map)
        self.skipped: tuple[str, ...] = ()  # PT_LOADs without a physical address

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the file, streamed through the mapping in chunks (once per process for
        an unchanged file: reopening it finds the digest by device, inode, size and mtime)."""
        known = _DIGESTS.get(self._stat_key)
        if known is None:
            digest = hashlib.sha256()
            chunk = 16 << 20
            for start in range(0, self.size, chunk):
                digest.update(self.view[start : start + chunk])
            known = _DIGESTS[self._stat_key] = digest.hexdigest()
        return known


_DIGESTS: dict[tuple[int, int, int, int], str] = {}


@dataclass(frozen=True)
class Segment:
    """Physical ``[base, base + size)``, backed by ``data_size`` bytes of ``file`` from
    ``offset`` on; bytes beyond ``data_size`` read as zero."""

    base: int
    size: int
    data_size: int
    offset: int
    file: ImageFile = field(compare=False, repr=False)
    label: str = ""  # e.g. "PT_LOAD 3"

    @property
    def end(self) -> int:
        return self.base + self.size

    def to_dict(self) -> dict:
        return {
            "file": self.file.name,
            "what": self.label,
            "base": f"{self.base:#x}",
            "end": f"{self.end:#x}",
            "size": self.size,
            "file_offset": self.offset,
            "file_bytes": self.data_size,
        }


@dataclass(frozen=True)
class Note:
    """One ELF note: its owner name, type and contents."""

    name: str
    type: int
    desc: bytes


class MemoryImage(Memory):
    """Physical memory held by one or more image files (see the module docstring)."""

    source_name = "image"  # what ``StateMemory.source`` calls a value read from here

    def __init__(self, files: Sequence[ImageFile], segments: Iterable[Segment], notes=()) -> None:
        self.files = tuple(files)
        self.segments: tuple[Segment, ...] = tuple(sorted(segments, key=lambda s: s.base))
        self.notes: tuple[Note, ...] = tuple(notes)
        self._bases = [s.base for s in self.segments]
        for before, after in zip(self.segments, self.segments[1:], strict=False):
            if after.base < before.end:
                raise ImageError(
                    f"{_where(before)} and {_where(after)} overlap at physical "
                    f"{after.base:#x}..{min(before.end, after.end):#x}"
                )

    # -- identity ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return " + ".join(f.name for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @cached_property
    def sha256(self) -> str:
        """The image's identity: a single file's own SHA-256 (what ``sha256sum`` prints);
        for several files, the SHA-256 of the lines ``<file sha256> <base or elf>``."""
        if len(self.files) == 1:
            return self.files[0].sha256
        text = "".join(f"{f.sha256} {_placement(self, f)}\n" for f in self.files)
        return hashlib.sha256(text.encode()).hexdigest()

    # -- reading -----------------------------------------------------------------------------
    def _segment_at(self, pa: int) -> Segment | None:
        i = bisect.bisect_right(self._bases, pa) - 1
        if i >= 0:
            seg = self.segments[i]
            if pa < seg.end:
                return seg
        return None

    def source(self, pa: int) -> str:
        """Where a word comes from (``model.arch.memory``): the image."""
        return self.source_name

    def __contains__(self, pa: int) -> bool:
        """Whether the 8-byte word at ``pa`` (aligned down) lies wholly in the image."""
        pa &= ~7
        seg = self._segment_at(pa)
        if seg is None:
            return False
        return pa + 8 <= seg.end or self._covers(pa, 8)

    def _covers(self, pa: int, length: int) -> bool:
        end = pa + length
        while pa < end:
            seg = self._segment_at(pa)
            if seg is None:
                return False
            pa = seg.end
        return True

    def read(self, pa: int, length: int) -> bytes:
        """``length`` bytes from ``pa``; raises ExternalAbort at the first byte outside."""
        out = bytearray()
        end = pa + length
        while pa < end:
            seg = self._segment_at(pa)
            if seg is None:
                raise ExternalAbort(pa)
            stop = min(end, seg.end)
            rel = pa - seg.base
            held = max(0, min(stop - seg.base, seg.data_size) - rel)
            if held:
                start = seg.offset + rel
                out += seg.file.view[start : start + held]
            out += bytes(stop - pa - held)
            pa = stop
        return bytes(out)

    def read64(self, pa: int) -> int:
        """The little-endian word at ``pa`` (aligned down to 8 bytes)."""
        pa &= ~7
        i = bisect.bisect_right(self._bases, pa) - 1
        if i >= 0:
            seg = self.segments[i]
            rel = pa - seg.base
            if rel + 8 <= seg.data_size:
                return _WORD.unpack_from(seg.file.map, seg.offset + rel)[0]
        return int.from_bytes(self.read(pa, 8), "little")

    def words(self, pa: int, count: int) -> Sequence[int]:
        """``count`` little-endian words from ``pa`` (8-byte aligned): a view of the mapped
        file where one segment holds them all, else a copy; raises ExternalAbort at the first
        byte outside the image."""
        length = count * 8
        seg = self._segment_at(pa)
        if seg is not None and _LITTLE_ENDIAN_HOST:
            rel = pa - seg.base
            if rel + length <= seg.data_size:
                start = seg.offset + rel
                return seg.file.view[start : start + length].cast("Q")
        data = self.read(pa, length)
        return struct.unpack(f"<{count}Q", data)

    def extent(self, pa: int, length: int) -> list[tuple[int, int]]:
        """The parts of ``[pa, pa + length)`` outside the image, as ``(start, end)``."""
        missing: list[tuple[int, int]] = []
        end = pa + length
        while pa < end:
            seg = self._segment_at(pa)
            if seg is not None:
                pa = min(end, seg.end)
                continue
            i = bisect.bisect_right(self._bases, pa)
            nxt = min(end, self.segments[i].base) if i < len(self.segments) else end
            missing.append((pa, nxt))
            pa = nxt
        return missing

    # -- what the image says about itself -----------------------------------------------------
    @cached_property
    def vmcoreinfo(self) -> str | None:
        """The text of the VMCOREINFO note (Linux ``crash_save_vmcoreinfo``), if any."""
        for note in self.notes:
            if note.name == VMCOREINFO_NOTE:
                return note.desc.split(b"\0", 1)[0].decode("ascii", "replace")
        return None

    def describe(self) -> dict:
        """Files, identity and segments, as plain data."""
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "files": [
                {
                    "path": str(f.path),
                    "name": f.name,
                    "kind": f.kind,
                    "size": f.size,
                    "sha256": f.sha256,
                }
                for f in self.files
            ],
            "segments": [s.to_dict() for s in self.segments],
            "notes": [{"name": n.name, "type": n.type, "size": len(n.desc)} for n in self.notes],
        }


_WORD = struct.Struct("<Q")


def _where(seg: Segment) -> str:
    return f"{seg.file.path} ({seg.label})" if seg.label else str(seg.file.path)


def _placement(image: MemoryImage, f: ImageFile) -> str:
    if f.kind == "elf":
        return "elf"
    base = next(s.base for s in image.segments if s.file is f)
    return f"{base:#x}"


# -- opening ----------------------------------------------------------------------------------


def open_image(specs: Iterable[ImageSpec | str]) -> MemoryImage:
    """Open the files of one image (raw files at their bases, ELF core files through their
    PT_LOAD segments). Raises ImageError naming the file and the problem."""
    files: list[ImageFile] = []
    segments: list[Segment] = []
    notes: list[Note] = []
    for item in specs:
        spec = item if isinstance(item, ImageSpec) else ImageSpec.parse(item)
        f = ImageFile(spec.path, "raw")
        if f.map[:4] == _ELF_MAGIC:
            if spec.base is not None:
                raise ImageError(
                    f"{spec.path}: an ELF core file places its segments at their physical "
                    f"addresses (p_paddr); drop @{spec.base:#x}"
                )
            f.kind = "elf"
            elf_segments, elf_notes = _read_elf(f)
            segments += elf_segments
            notes += elf_notes
        else:
            base = spec.base if spec.base is not None else 0
            if base + f.size > 1 << 64:
                raise ImageError(f"{spec.path}: {f.size} bytes at {base:#x} go past 2^64")
            segments.append(Segment(base, f.size, f.size, 0, f, f"raw at {base:#x}"))
        files.append(f)
    if not files:
        raise ImageError("no image file given")
    return MemoryImage(files, segments, notes)


# -- ELF core files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _ElfFormat:
    cls64: bool
    endian: str  # "<" or ">"

    def unpack(self, fmt32: str, fmt64: str, data, offset: int) -> tuple:
        return struct.unpack_from(self.endian + (fmt64 if self.cls64 else fmt32), data, offset)


# Header fields after e_ident: type, machine, version, entry, phoff, shoff, flags, ehsize,
# phentsize, phnum, shentsize, shnum, shstrndx.
_EHDR = ("HHIIIIIHHHHHH", "HHIQQQIHHHHHH")
# Program header: ELF32 (type, offset, vaddr, paddr, filesz, memsz, flags, align), ELF64
# (type, flags, offset, vaddr, paddr, filesz, memsz, align).
_PHDR = ("IIIIIIII", "IIQQQQQQ")
# Section header 0 (for PN_XNUM): name, type, flags, addr, offset, size, link, info.
_SHDR0 = ("IIIIIIII", "IIQQQQII")


def _read_elf(f: ImageFile) -> tuple[list[Segment], list[Note]]:
    data = f.map
    path = f.path
    if f.size < 16:
        raise ImageError(f"{path}: truncated ELF header ({f.size} bytes, e_ident needs 16)")
    ei_class, ei_data, ei_version = data[4], data[5], data[6]
    if ei_class not in (1, 2):
        raise ImageError(f"{path}: corrupt ELF header: EI_CLASS={ei_class} (1 or 2 expected)")
    if ei_data not in (1, 2):
        raise ImageError(f"{path}: corrupt ELF header: EI_DATA={ei_data} (1 or 2 expected)")
    if ei_version != 1:
        raise ImageError(f"{path}: corrupt ELF header: EI_VERSION={ei_version} (1 expected)")
    fmt = _ElfFormat(ei_class == 2, "<" if ei_data == 1 else ">")
    ehsize = 64 if fmt.cls64 else 52
    if f.size < ehsize:
        raise ImageError(f"{path}: truncated ELF header ({f.size} bytes, needs {ehsize})")
    (e_type, machine, _v, _entry, phoff, shoff, _flags, _eh, phentsize, phnum, shentsize,
     _shnum, _shstrndx) = fmt.unpack(*_EHDR, data, 16)  # fmt: skip
    if e_type != ET_CORE:
        what = _TYPES.get(e_type, f"e_type {e_type}")
        raise ImageError(f"{path}: is {what}, not an ELF core file (ET_CORE)")
    if machine not in (EM_AARCH64, EM_NONE):
        what = _MACHINES.get(machine, f"machine {machine}")
        raise ImageError(f"{path}: is a core file of {what}, not AArch64 (EM_AARCH64)")
    want = 56 if fmt.cls64 else 32
    if phnum and phentsize != want:
        raise ImageError(f"{path}: corrupt ELF header: e_phentsize={phentsize} ({want} expected)")
    if phnum == PN_XNUM:
        # More than 0xfffe program headers: the real count is section header 0's sh_info.
        if not shoff or shoff + shentsize > f.size:
            raise ImageError(
                f"{path}: e_phnum=PN_XNUM but section header 0 (at {shoff:#x}) is missing"
            )
        phnum = fmt.unpack(*_SHDR0, data, shoff)[7]
    if phnum == 0:
        raise ImageError(f"{path}: the ELF core file has no program headers")
    end = phoff + phnum * phentsize
    if end > f.size:
        raise ImageError(
            f"{path}: truncated: {phnum} program headers at offset {phoff:#x} end at "
            f"{end:#x}, the file ends at {f.size:#x}"
        )
    segments: list[Segment] = []
    notes: list[Note] = []
    skipped: list[str] = []
    for i in range(phnum):
        fields = fmt.unpack(*_PHDR, data, phoff + i * phentsize)
        if fmt.cls64:
            p_type, _pf, offset, _vaddr, paddr, filesz, memsz, _align = fields
        else:
            p_type, offset, _vaddr, paddr, filesz, memsz, _pf, _align = fields
        if p_type not in (PT_LOAD, PT_NOTE):
            continue
        label = f"{'PT_LOAD' if p_type == PT_LOAD else 'PT_NOTE'} {i}"
        if offset + filesz > f.size:
            raise ImageError(
                f"{path}: truncated: {label} (physical {paddr:#x}) holds {filesz:#x} bytes "
                f"from offset {offset:#x} up to {offset + filesz:#x}, but the file ends at "
                f"{f.size:#x}"
            )
        if p_type == PT_NOTE:
            notes += _read_notes(f, fmt, offset, filesz, label)
            continue
        if filesz > memsz:
            raise ImageError(
                f"{path}: corrupt {label}: p_filesz={filesz:#x} is larger than p_memsz={memsz:#x}"
            )
        if memsz == 0:
            continue
        if paddr == (1 << (64 if fmt.cls64 else 32)) - 1:
            skipped.append(label)  # no physical address (as /proc/kcore marks vmalloc space)
            continue
        if paddr + memsz > 1 << 64:
            raise ImageError(f"{path}: corrupt {label}: physical {paddr:#x} + {memsz:#x} > 2^64")
        segments.append(Segment(paddr, memsz, filesz, offset, f, label))
    if not segments:
        why = f" ({', '.join(skipped)} have no physical address)" if skipped else ""
        raise ImageError(f"{path}: the ELF core file has no PT_LOAD segment (no memory){why}")
    f.skipped = tuple(skipped)
    return segments, notes


def _read_notes(f: ImageFile, fmt: _ElfFormat, offset: int, size: int, label: str) -> list[Note]:
    """The notes of one PT_NOTE segment: (namesz, descsz, type) words, then the name and the
    contents, each padded to 4 bytes (ELF64 core files from Linux and QEMU pad to 4 too)."""
    out = []
    pos, end = offset, offset + size
    while pos + 12 <= end:
        namesz, descsz, ntype = struct.unpack_from(fmt.endian + "III", f.map, pos)
        name_at = pos + 12
        desc_at = name_at + _align4(namesz)
        nxt = desc_at + _align4(descsz)
        if nxt > end:
            raise ImageError(
                f"{f.path}: corrupt {label}: the note at offset {pos:#x} "
                f"(namesz={namesz}, descsz={descsz}) runs past the segment's end {end:#x}"
            )
        name = bytes(f.map[name_at : name_at + namesz]).split(b"\0", 1)[0]
        out.append(Note(name.decode("ascii", "replace"), ntype, bytes(f.map[desc_at:nxt])[:descsz]))
        pos = nxt
    return out


def _align4(n: int) -> int:
    return (n + 3) & ~3


# -- the images a process has open ------------------------------------------------------------

# A state names its image by sha256 (``Configuration.image``); the memory behind it is one of
# the images this process opened. An image is read-only and shared by every state.
_OPEN: dict[str, MemoryImage] = {}


class ImageNeeded(LookupError):
    """A state reads an image this process has not opened."""

    def __init__(self, sha256: str) -> None:
        super().__init__(
            f"this walk reads the memory image with sha256 {sha256}, which is not open here "
            "(start with --image FILE to open it)"
        )
        self.sha256 = sha256


def register(image: MemoryImage) -> str:
    """Make ``image`` available to states that name it; returns its sha256."""
    _OPEN[image.sha256] = image
    return image.sha256


def image_for(sha256: str) -> MemoryImage:
    """The open image with this sha256; raises ImageNeeded."""
    image = _OPEN.get(sha256)
    if image is None:
        raise ImageNeeded(sha256)
    return image


def open_images() -> tuple[MemoryImage, ...]:
    return tuple(_OPEN.values())
