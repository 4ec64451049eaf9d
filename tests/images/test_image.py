"""Memory images: raw files at a base, ELF core files through their PT_LOAD segments, reads
across segment edges and outside them, and every kind of broken file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from model.arch.memory import ExternalAbort
from model.explore.image import ImageError, ImageSpec, open_image

from .elfcore import Load, core_bytes, note, vmcoreinfo_note


def words(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}Q", *values)


def test_raw_file_at_a_base(tmp_path):
    path = tmp_path / "ram.bin"
    path.write_bytes(words(0x11, 0x22, 0x33))
    image = open_image([f"{path}@0x4000_0000"])
    assert image.read64(0x4000_0008) == 0x22
    assert image.read64(0x4000_000C) == 0x22  # aligned down, as a descriptor read is
    assert 0x4000_0010 in image and 0x4000_0018 not in image
    with pytest.raises(ExternalAbort) as err:
        image.read64(0x4000_0018)
    assert err.value.address == 0x4000_0018
    with pytest.raises(ExternalAbort):
        image.read64(0x3FFF_FFF8)
    assert list(image.words(0x4000_0000, 3)) == [0x11, 0x22, 0x33]


def test_raw_file_without_base_is_at_zero(tmp_path):
    path = tmp_path / "low.bin"
    path.write_bytes(words(7))
    assert open_image([str(path)]).read64(0) == 7


def test_a_word_across_two_adjacent_files(tmp_path):
    (tmp_path / "a").write_bytes(bytes(range(12)))  # 0x1000..0x100c
    (tmp_path / "b").write_bytes(bytes(range(100, 112)))  # 0x100c..0x1018
    image = open_image([f"{tmp_path / 'a'}@0x1000", f"{tmp_path / 'b'}@0x100c"])
    assert image.read64(0x1008) == int.from_bytes(
        bytes([8, 9, 10, 11, 100, 101, 102, 103]), "little"
    )
    assert list(image.words(0x1008, 2))[1] == int.from_bytes(bytes(range(104, 112)), "little")
    assert 0x1010 in image and 0x1018 not in image
    # half a word past the last file: the missing bytes are an External abort at their address
    (tmp_path / "c").write_bytes(bytes(4))
    short = open_image([f"{tmp_path / 'c'}@0x2000"])
    with pytest.raises(ExternalAbort) as err:
        short.read64(0x2000)
    assert err.value.address == 0x2004
    assert short.extent(0x1FF8, 0x18) == [(0x1FF8, 0x2000), (0x2004, 0x2010)]


def test_elf_core_segments_by_physical_address(tmp_path):
    path = tmp_path / "core.elf"
    path.write_bytes(
        core_bytes(
            [
                Load(0x8000_0000, words(1, 2), memsz=0x20, vaddr=0xFFFF_0000_0000_0000),
                Load(0x8000_0020, words(3)),  # adjacent: a word may span the edge
                Load(0x9_0000_0000, words(0xABCD)),
            ],
            note("CORE", 1, bytes(16)),
        )
    )
    image = open_image([str(path)])
    assert [s.base for s in image.segments] == [0x8000_0000, 0x8000_0020, 0x9_0000_0000]
    assert image.read64(0x8000_0008) == 2
    assert image.read64(0x8000_0010) == 0  # p_memsz beyond p_filesz reads as zero
    assert image.read64(0x8000_0020) == 3
    assert image.read64(0x9_0000_0000) == 0xABCD
    assert list(image.words(0x8000_0010, 3)) == [0, 0, 3]
    with pytest.raises(ExternalAbort):
        image.read64(0x8000_0028)
    assert image.vmcoreinfo is None
    assert [n.name for n in image.notes] == ["CORE"]
    assert len(image.sha256) == 64


def test_vmcoreinfo_note_is_read(tmp_path):
    path = tmp_path / "vmcore"
    text = "OSRELEASE=6.12.0\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffff800081234000\n"
    path.write_bytes(core_bytes([Load(0, words(0))], vmcoreinfo_note(text)))
    assert open_image([str(path)]).vmcoreinfo == text


def test_identity_of_several_files_depends_on_placement(tmp_path):
    (tmp_path / "a").write_bytes(words(1))
    one = open_image([f"{tmp_path / 'a'}@0x1000"])
    two = open_image([f"{tmp_path / 'a'}@0x2000"])
    assert one.sha256 == two.sha256  # one file: its own sha256, as sha256sum prints it
    (tmp_path / "b").write_bytes(words(2))
    both = open_image([f"{tmp_path / 'a'}@0x1000", f"{tmp_path / 'b'}@0x2000"])
    moved = open_image([f"{tmp_path / 'a'}@0x1000", f"{tmp_path / 'b'}@0x3000"])
    assert both.sha256 != moved.sha256


def test_spec_parsing():
    assert ImageSpec.parse("dump@0x40_000000") == ImageSpec(Path("dump"), 0x4000_0000)
    assert ImageSpec.parse("name@host.bin").base is None  # an @ in a file name
    with pytest.raises(ImageError, match="not a number"):
        ImageSpec.parse("dump@0xZZ")


# -- broken files: a message naming the file and the problem -------------------------------------


def _elf(tmp_path, data: bytes):
    path = tmp_path / "bad.elf"
    path.write_bytes(data)
    return path


def _error(path) -> str:
    with pytest.raises(ImageError) as err:
        open_image([str(path)])
    assert str(path) in str(err.value)
    return str(err.value)


def test_truncated_elf_segment(tmp_path):
    good = core_bytes([Load(0x1000, words(*range(64)))])
    assert "truncated: PT_LOAD 0" in _error(_elf(tmp_path, good[:-100]))


def test_truncated_program_headers_and_header(tmp_path):
    good = core_bytes([Load(0x1000, words(1))])
    assert "truncated: 1 program headers" in _error(_elf(tmp_path, good[:80]))
    assert "truncated ELF header" in _error(_elf(tmp_path, good[:40]))
    assert "truncated ELF header" in _error(_elf(tmp_path, good[:10]))


def test_corrupt_elf_headers(tmp_path):
    good = bytearray(core_bytes([Load(0x1000, words(1))]))
    bad = bytearray(good)
    bad[4] = 7
    assert "EI_CLASS=7" in _error(_elf(tmp_path, bytes(bad)))
    bad = bytearray(good)
    struct.pack_into("<H", bad, 16, 2)  # ET_EXEC
    assert "not an ELF core file" in _error(_elf(tmp_path, bytes(bad)))
    bad = bytearray(good)
    struct.pack_into("<H", bad, 18, 62)  # EM_X86_64
    assert "x86-64" in _error(_elf(tmp_path, bytes(bad)))
    bad = bytearray(good)
    struct.pack_into("<H", bad, 54, 40)  # e_phentsize
    assert "e_phentsize=40" in _error(_elf(tmp_path, bytes(bad)))


def test_overlapping_and_inconsistent_segments(tmp_path):
    overlap = core_bytes([Load(0x1000, words(1, 2)), Load(0x1008, words(3))])
    assert "overlap at physical 0x1008" in _error(_elf(tmp_path, overlap))
    bigger = bytearray(core_bytes([Load(0x1000, words(1, 2))]))
    struct.pack_into("<Q", bigger, 64 + 40, 8)  # p_memsz < p_filesz
    assert "p_filesz=0x10 is larger than p_memsz=0x8" in _error(_elf(tmp_path, bytes(bigger)))
    no_load = core_bytes([], note("CORE", 1, bytes(8)))
    assert "no PT_LOAD" in _error(_elf(tmp_path, no_load))


def test_corrupt_note(tmp_path):
    bad = bytearray(core_bytes([Load(0x1000, words(1))], note("VMCOREINFO", 0, b"X=1\n")))
    struct.pack_into("<I", bad, 64 + 2 * 56 + 4, 4096)  # descsz past the segment
    assert "the note at offset" in _error(_elf(tmp_path, bytes(bad)))


def test_missing_and_empty_files(tmp_path):
    assert "no such file" in _error(tmp_path / "nothing")
    (tmp_path / "empty").write_bytes(b"")
    assert "the file is empty" in _error(tmp_path / "empty")
    assert "is a directory" in _error(tmp_path)


def test_elf_with_a_base_is_refused(tmp_path):
    path = _elf(tmp_path, core_bytes([Load(0x1000, words(1))]))
    with pytest.raises(ImageError, match="drop @0x1000"):
        open_image([f"{path}@0x1000"])


def test_many_program_headers_and_segments_without_a_physical_address(tmp_path):
    """e_phnum = PN_XNUM: the count is in section header 0's sh_info (gABI), as QEMU writes a
    dump of more than 65534 segments. A PT_LOAD whose p_paddr is all ones has no physical
    address (the kernel's /proc/kcore marks vmalloc space so): skipped, said so."""
    data = bytearray(
        core_bytes(
            [Load(0x1000, words(5)), Load(0xFFFF_FFFF_FFFF_FFFF, words(6)), Load(0x2000, words(7))]
        )
    )
    shoff = len(data)
    data += struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 3, 0, 0)  # sh_info = 3
    struct.pack_into("<Q", data, 40, shoff)  # e_shoff
    struct.pack_into("<HHH", data, 58, 64, 1, 0)  # e_shentsize, e_shnum, e_shstrndx
    struct.pack_into("<H", data, 56, 0xFFFF)  # e_phnum = PN_XNUM
    path = tmp_path / "xnum.elf"
    path.write_bytes(bytes(data))
    image = open_image([str(path)])
    assert [s.base for s in image.segments] == [0x1000, 0x2000]
    assert image.read64(0x2000) == 7
    assert image.files[0].skipped == ("PT_LOAD 1",)
