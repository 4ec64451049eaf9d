"""The memory-image side of ``lpa2-explorer``: ``--image``, ``--regs`` and ``--vmcoreinfo``
for ``walk``, ``serve`` and ``ptdump``, and the ``image`` command that says what an image
holds.

    lpa2-explorer image dump.elf                       # segments, sha256, VMCOREINFO
    lpa2-explorer walk --image dump.elf --regs regs.txt --va 0xffff800008000000
    lpa2-explorer walk --image ram.bin@0x40000000 --tcr-el1 0x... --ttbr1-el1 0x...
    lpa2-explorer ptdump --image vmcore --vmcoreinfo

A registers file holds ``NAME=VALUE`` lines (``#`` starts a comment) or a JSON object
``{"TCR_EL1": "0x...", ...}`` (numbers or strings; a ``registers`` member, as in the walk
JSON, is read too).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from app.state import parse_number
from model.explore.configs import REGISTER_NAMES
from model.explore.image import ImageError, MemoryImage, open_image, register
from model.explore.vmcoreinfo import kernel_tables


class ImageArgsError(ValueError):
    """Bad image, registers file or VMCOREINFO request (the CLI exits with status 2)."""


def add_image_arguments(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        required=required,
        metavar="FILE[@BASE]",
        help="memory image: a raw dump placed at physical BASE (default 0), or an ELF core "
        "file (QEMU dump-guest-memory, kdump vmcore) placed by its PT_LOAD segments; "
        "repeatable. Unset memory reads come from the image; outside it a table read takes "
        "an External abort",
    )
    parser.add_argument(
        "--regs",
        metavar="FILE",
        help="register values: NAME=VALUE lines or a JSON object (register flags win)",
    )
    parser.add_argument(
        "--vmcoreinfo",
        action="store_true",
        help="take TCR_EL1, TTBR1_EL1, MAIR_EL1 and SCTLR_EL1 from the image's VMCOREINFO "
        "(see `lpa2-explorer image` for how each is derived); --regs and flags win",
    )


def read_registers_file(path: str) -> dict[str, int]:
    """Register values from a ``NAME=VALUE`` or JSON file; ImageArgsError says what is
    wrong and where."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImageArgsError(f"{path}: no such registers file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ImageArgsError(f"{path}: cannot read the registers file ({error})") from None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ImageArgsError(f"{path}: not valid JSON ({error})") from None
        if isinstance(data.get("registers"), Mapping):
            data = data["registers"]
        items = [(str(k), v, f"{path}: {k}") for k, v in data.items()]
    else:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ImageArgsError(f"{path}:{number}: expected NAME=VALUE, got {line!r}")
            items.append((name, value, f"{path}:{number}"))
    registers: dict[str, int] = {}
    for name, value, where in items:
        key = name.strip().upper()
        if key not in REGISTER_NAMES:
            raise ImageArgsError(
                f"{where}: unknown register {name.strip()!r} (known: {', '.join(REGISTER_NAMES)})"
            )
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ImageArgsError(f"{where}: {key} must be a number or a string, not {value!r}")
        try:
            registers[key] = value if isinstance(value, int) else parse_number(value)
        except ValueError as error:
            raise ImageArgsError(f"{where}: {key}: {error}") from None
        if not 0 <= registers[key] < 1 << 64:
            raise ImageArgsError(f"{where}: {key} does not fit in 64 bits")
    return registers


def image_from_args(args: argparse.Namespace) -> MemoryImage | None:
    """The image the flags name (opened and registered), or None."""
    if not args.image:
        return None
    try:
        image = open_image(args.image)
    except ImageError as error:
        raise ImageArgsError(str(error)) from None
    register(image)
    return image


def registers_from_args(args: argparse.Namespace, image: MemoryImage | None) -> dict[str, int]:
    """Registers from ``--vmcoreinfo`` then ``--regs`` (the register flags come on top)."""
    registers: dict[str, int] = {}
    if args.vmcoreinfo:
        if image is None:
            raise ImageArgsError("--vmcoreinfo needs --image")
        if image.vmcoreinfo is None:
            raise ImageArgsError(f"{image.name}: the image has no VMCOREINFO note")
        tables = kernel_tables(image.vmcoreinfo)
        if not tables.registers:
            raise ImageArgsError(
                f"{image.name}: VMCOREINFO does not give the kernel's registers: "
                + "; ".join(tables.problems)
            )
        registers.update(tables.register_values())
    if args.regs:
        registers.update(read_registers_file(args.regs))
    return registers


def describe_image(image: MemoryImage) -> str:
    """What ``lpa2-explorer image`` prints: files, segments, notes, and what VMCOREINFO says
    about the kernel's tables, with the registers derived from it as NAME=VALUE lines."""
    info = image.describe()
    lines = [f"Image {image.name}: {image.size} bytes, sha256 {image.sha256}"]
    for f in info["files"]:
        lines.append(f"  file {f['path']} ({f['kind']}, {f['size']} bytes, sha256 {f['sha256']})")
    lines.append(f"Segments ({len(image.segments)}), physical ranges:")
    for seg in image.segments:
        held = "" if seg.data_size == seg.size else f", {seg.data_size:#x} bytes in the file"
        lines.append(
            f"  {seg.base:#018x}-{seg.end:#018x} {_size(seg.size):>7} {seg.file.name} "
            f"{seg.label} at offset {seg.offset:#x}{held}"
        )
    for f in image.files:
        if f.skipped:
            lines.append(f"  {f.name}: {', '.join(f.skipped)} skipped: no physical address")
    if image.notes:
        names = sorted({n.name for n in image.notes})
        lines.append(f"Notes: {len(image.notes)} ({', '.join(names)})")
    if image.vmcoreinfo is None:
        lines.append("No VMCOREINFO note.")
        return "\n".join(lines) + "\n"
    tables = kernel_tables(image.vmcoreinfo)
    lines.append("VMCOREINFO about the kernel's tables:")
    for key, value, meaning in tables.facts:
        lines.append(f"  {key}={value}")
        lines.append(f"      {meaning}")
    for what, va, pa, how in tables.addresses:
        lines.append(f"  {what}: VA {va:#x} -> PA {pa:#x} ({how})")
    for problem in tables.problems:
        lines.append(f"  problem: {problem}")
    if tables.registers:
        lines.append("Registers for the kernel's stage 1 (use with --vmcoreinfo, or as --regs):")
        for derived in tables.registers:
            lines.append(f"{derived.name}={derived.value:#x}")
            lines.append(f"    # {derived.how}")
    return "\n".join(lines) + "\n"


def image_document(image: MemoryImage) -> dict:
    doc = image.describe()
    if image.vmcoreinfo is not None:
        doc["vmcoreinfo"] = kernel_tables(image.vmcoreinfo).to_dict()
    return doc


def _size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n}B" if n < 1024 else f"{n / 1024:.1f}K"
