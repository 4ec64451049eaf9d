"""``lpa2-explorer``: walks from the command line, with the model and no server.

    lpa2-explorer walk --preset 4k-52-lpa2 --va 0x000f123456789abc --tcr-el1 0x...
    lpa2-explorer walk 'https://host/?v=2&preset=4k-52-lpa2'     # a full link
    lpa2-explorer walk 'v=2&preset=4k-52-lpa2&access=el0w'       # its query string
    lpa2-explorer walk https://host/s/R2XxuxQ --data-dir ./var   # a short link
    lpa2-explorer walk --image dump.elf --regs regs.txt --va 0x...  # tables in a dump
    lpa2-explorer image dump.elf                                # what an image holds
    lpa2-explorer ptdump --image dump.elf --regs regs.txt       # every mapping
    lpa2-explorer serve --image dump.elf --regs regs.txt        # the explorer on it
    lpa2-explorer presets

``walk`` prints the same plain text as ``/walk.txt`` (or ``--json``: the same JSON as
``/walk.json``). Flags given with a link change the linked state. Bad input ends with a
one-line message on stderr and exit status 2 (unknown short link: 3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from app.cli_image import (
    ImageArgsError,
    add_image_arguments,
    describe_image,
    image_document,
    image_from_args,
    registers_from_args,
)
from app.images import IMAGES_ENV
from app.images import environment as images_environment
from app.links import DEFAULT_BASE, Links
from app.linkstore import ID_RE, SQLiteLinkStore, existing_id
from app.settings import DATA_DIR_ENV, LINKS_DB_NAME, PUBLIC_URL_ENV, get_settings
from app.state import (
    CHOICE_PARAMS,
    build_config,
    decode,
    encode,
    parse_number,
    problems_message,
    walk_document,
)
from model import CPU_PRESETS, Regime
from model.explore.configs import (
    CONFIG_PRESETS,
    DEFAULT_PRESET,
    REGISTER_NAMES,
    Configuration,
    run,
    state_memory,
)
from model.explore.ptdump import list_mappings
from model.explore.ptdump_text import listing_to_dict, render_listing
from model.explore.text import render_text

EXIT_BAD_INPUT = 2
EXIT_UNKNOWN_LINK = 3


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise CliError(f"{message} (see {self.prog} --help)")


def _flag(register: str) -> str:
    return "--" + register.lower().replace("_", "-")


def _state_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that make a state: a link, a preset, registers, memory, an image."""
    parser.add_argument(
        "link",
        nargs="?",
        help="full link (https://host/?v=2&...), its query string, or a short link "
        "(https://host/s/ID or just ID; needs the database, see --data-dir)",
    )
    parser.add_argument("--preset", choices=list(CONFIG_PRESETS), help="configuration preset")
    parser.add_argument("--regime", choices=[r.value for r in Regime], help="translation regime")
    parser.add_argument("--cpu", choices=list(CPU_PRESETS), help="CPU preset")
    parser.add_argument("--access", help="el0/el1/el2 + r/w/x, e.g. el1w")
    parser.add_argument("--va", "--ipa", "--address", dest="address", help="input address")
    for register in REGISTER_NAMES:
        parser.add_argument(_flag(register), dest=register, metavar="VALUE", help=register)
    parser.add_argument(
        "--mem",
        action="append",
        default=[],
        metavar="ADDR=VALUE",
        help="descriptor at a physical address (repeatable)",
    )
    parser.add_argument(
        "--choice",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="IMPLEMENTATION DEFINED choice: " + ", ".join(CHOICE_PARAMS.values()),
    )
    parser.add_argument(
        "--refill",
        action="store_true",
        help="build the background tables for the registers given (memory otherwise stays "
        "the preset's or the link's, whatever the registers say)",
    )
    add_image_arguments(parser)
    parser.add_argument(
        "--data-dir",
        help=f"directory of the short-link database {LINKS_DB_NAME} "
        f"(default ${DATA_DIR_ENV} or ./var)",
    )
    parser.add_argument(
        "--public-url",
        help=f"base URL links are printed with (default ${PUBLIC_URL_ENV}, else the host of "
        f"the link given, else {DEFAULT_BASE})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lpa2-explorer",
        description="Arm64 address translation with FEAT_LPA2, walked bit by bit.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    walk = commands.add_parser(
        "walk",
        help="print the plain-text walk (or JSON) of a link or of flags",
        description="Walk a translation and print it as the .txt twin prints it. Start from a "
        "link (full link, short link or query string) or a preset; flags change the state.",
    )
    _state_arguments(walk)
    walk.add_argument("--json", action="store_true", help="print JSON instead of text")

    ptdump = commands.add_parser(
        "ptdump",
        help="list every mapping of a regime's tables in a memory image",
        description="List every valid mapping of a regime as merged ranges (size, level, "
        "block/page, contiguous runs, permissions, memory type, table format), and the "
        "faults met on the way: stage 1 (el10, el2, el20: VA -> OA), stage 2 (stage2: IPA -> "
        "PA) or both (el10_s12: VA -> PA). Registers as for walk.",
    )
    _state_arguments(ptdump)
    ptdump.add_argument("--json", action="store_true", help="print JSON instead of text")

    commands.add_parser("presets", help="list the configuration presets")

    serve = commands.add_parser(
        "serve",
        help="serve the explorer on a memory image (read-only; edits lie over it)",
        description="Start the explorer with a memory image as the memory every walk reads "
        "(links made there carry the image's sha256). / starts at the registers given.",
    )
    add_image_arguments(serve, required=True)
    for register in REGISTER_NAMES:
        serve.add_argument(_flag(register), dest=register, metavar="VALUE", help=register)
    serve.add_argument("--regime", choices=[r.value for r in Regime], help="translation regime")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")

    image = commands.add_parser(
        "image",
        help="say what a memory image holds (segments, sha256, VMCOREINFO)",
        description="List the segments of a memory image, its sha256 and, for a kdump vmcore "
        "(or a QEMU dump of a guest with a vmcoreinfo device), what VMCOREINFO says about the "
        "kernel's tables and the registers derived from it.",
    )
    image.add_argument("files", nargs="+", metavar="FILE[@BASE]", help="image files")
    image.add_argument("--json", action="store_true", help="print JSON instead of text")
    image.add_argument(
        "--registers",
        action="store_true",
        help="print only the registers derived from VMCOREINFO, as a --regs file",
    )
    return parser


def _pairs(items: Sequence[str], what: str, placeholder: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        sep = "=" if "=" in item else ":"
        key, found, value = item.partition(sep)
        if not found or not key.strip() or not value.strip():
            raise CliError(f"{what} {item!r}: expected {placeholder}")
        out.append((key.strip(), value.strip()))
    return out


def _store(data_dir: str | None) -> SQLiteLinkStore:
    directory = Path(data_dir) if data_dir else get_settings().data_dir
    return SQLiteLinkStore(directory / LINKS_DB_NAME)


def _resolve_link(text: str, store: SQLiteLinkStore) -> tuple[str, str | None]:
    """(query, base URL of the link or None) of a full link, query string or short link."""
    text = text.strip()
    parts = urlsplit(text)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
    path = parts.path if base else ""
    short_id = None
    if base and "/s/" in path:
        short_id = path.rsplit("/s/", 1)[1].strip("/")
    elif not base and text.startswith("/s/"):
        short_id = text[3:].strip("/")
    elif not base and "=" not in text and ID_RE.fullmatch(text):
        short_id = text
    if short_id is not None:
        if not ID_RE.fullmatch(short_id):
            raise CliError(f"{short_id!r} is not a short-link id")
        query = store.get(short_id)
        if query is None:
            raise CliError(
                f"unknown short link {short_id!r} in {store.path} "
                "(use --data-dir, or give the full link)",
                EXIT_UNKNOWN_LINK,
            )
        return query, base
    if base:
        if not parts.query:
            raise CliError(f"{text!r} has no query string (expected ...?v=2&...)")
        return parts.query, base
    return text.lstrip("?"), None


def _config(args: argparse.Namespace) -> tuple[Configuration, str | None, SQLiteLinkStore]:
    """The state the flags describe, the base URL of the link given (if any) and the store."""
    store = _store(args.data_dir)
    base = None
    config = None
    image = image_from_args(args)
    if args.link:
        query, base = _resolve_link(args.link, store)
        decoded = decode(query)
        if decoded.problems:
            raise CliError(problems_message(decoded.problems))
        config = decoded.config
        if config.image is not None and image is not None and config.image != image.sha256:
            raise CliError(
                f"the link reads the memory image with sha256 {config.image}, but "
                f"{image.name} has sha256 {image.sha256}"
            )
    elif image is not None and args.preset is None:
        # The tables of an image have nothing to do with a preset's registers: those not
        # given are 0.
        default = CONFIG_PRESETS[DEFAULT_PRESET]
        config = replace(default, registers=dict.fromkeys(REGISTER_NAMES, 0))
    registers: dict[str, int | str] = dict(registers_from_args(args, image))
    registers.update({r: getattr(args, r) for r in REGISTER_NAMES if getattr(args, r) is not None})
    try:
        config = build_config(
            base=config,
            preset=args.preset,
            regime=args.regime,
            cpu=args.cpu,
            access=args.access,
            address=args.address,
            registers=registers,
            memory=dict(_pairs(args.mem, "--mem", "ADDR=VALUE")),
            choices=dict(_pairs(args.choice, "--choice", "NAME=VALUE")),
            refill=args.refill,
            image=image.sha256 if image is not None else None,
        )
    except ValueError as error:
        raise CliError(str(error)) from None
    if config.image is not None and image is None:
        raise CliError(
            f"the link reads the memory image with sha256 {config.image}: give it with --image FILE"
        )
    return config, base, store


def _walk(args: argparse.Namespace) -> str:
    config, base, store = _config(args)
    base = (args.public_url or "").rstrip("/") or get_settings().public_url or base or DEFAULT_BASE
    links = Links(base)
    query = encode(config)
    result = run(config)
    link_id = existing_id(store, query)
    short = links.short(link_id) if link_id else None
    if args.json:
        data = walk_document(config, result.to_dict(), base=base, short_link=short)
        return json.dumps(data, indent=2) + "\n"
    return render_text(config, result=result, link=short or links.page(query))


def _ptdump(args: argparse.Namespace) -> str:
    config, _base, _store = _config(args)
    if config.image is None:
        raise CliError("ptdump lists the tables of a memory image: give --image FILE[@BASE]")
    listing = list_mappings(
        config.regime, config.registers, state_memory(config), config.cpu, config.choices
    )
    if args.json:
        return json.dumps(listing_to_dict(listing), indent=2) + "\n"
    return render_listing(listing)


def _serve(args: argparse.Namespace) -> str:
    image = image_from_args(args)
    assert image is not None
    registers = registers_from_args(args, image)
    for name in REGISTER_NAMES:
        if getattr(args, name) is not None:
            try:
                registers[name] = parse_number(getattr(args, name))
            except ValueError as error:
                raise CliError(f"{_flag(name)}: {error}") from None
    os.environ[IMAGES_ENV] = images_environment(args.image, registers, args.regime)
    import uvicorn  # only the server needs it

    print(f"LPA2 Explorer on {image.name} (sha256 {image.sha256}): http://{args.host}:{args.port}/")
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port)
    return ""


def _image(args: argparse.Namespace) -> str:
    args.image = args.files
    image = image_from_args(args)
    assert image is not None
    if args.json:
        return json.dumps(image_document(image), indent=2) + "\n"
    if args.registers:
        args.vmcoreinfo, args.regs = True, None
        regs = registers_from_args(args, image)
        return "".join(f"{name}={value:#x}\n" for name, value in regs.items())
    return describe_image(image)


def _presets(_args: argparse.Namespace | None = None) -> str:
    width = max(len(slug) for slug in CONFIG_PRESETS)
    return "".join(f"{slug:<{width}}  {c.title}\n" for slug, c in CONFIG_PRESETS.items())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        commands = {"walk": _walk, "ptdump": _ptdump, "image": _image, "serve": _serve}
        output = commands.get(args.command, _presets)(args)
    except CliError as error:
        print(f"lpa2-explorer: {error}", file=sys.stderr)
        return error.status
    except ImageArgsError as error:
        print(f"lpa2-explorer: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    try:
        sys.stdout.write(output)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
