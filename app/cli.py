"""``lpa2-explorer``: walks from the command line, with the model and no server.

    lpa2-explorer walk --preset 4k-52-lpa2 --va 0x000f123456789abc --tcr-el1 0x...
    lpa2-explorer walk 'https://host/?v=2&preset=4k-52-lpa2'     # a full link
    lpa2-explorer walk 'v=2&preset=4k-52-lpa2&access=el0w'       # its query string
    lpa2-explorer walk https://host/s/R2XxuxQ --data-dir ./var   # a short link
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
from pathlib import Path
from urllib.parse import urlsplit

from app.links import DEFAULT_BASE, Links
from app.linkstore import ID_RE, SQLiteLinkStore, existing_id
from app.settings import DATA_DIR_ENV, LINKS_DB_NAME, PUBLIC_URL_ENV, get_settings
from app.state import (
    CHOICE_PARAMS,
    build_config,
    decode,
    encode,
    problems_message,
    walk_document,
)
from model import CPU_PRESETS, Regime
from model.explore.configs import CONFIG_PRESETS, REGISTER_NAMES, run
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
    walk.add_argument(
        "link",
        nargs="?",
        help="full link (https://host/?v=2&...), its query string, or a short link "
        "(https://host/s/ID or just ID; needs the database, see --data-dir)",
    )
    walk.add_argument("--preset", choices=list(CONFIG_PRESETS), help="configuration preset")
    walk.add_argument("--regime", choices=[r.value for r in Regime], help="translation regime")
    walk.add_argument("--cpu", choices=list(CPU_PRESETS), help="CPU preset")
    walk.add_argument("--access", help="el0/el1/el2 + r/w/x, e.g. el1w")
    walk.add_argument("--va", "--ipa", "--address", dest="address", help="input address")
    for register in REGISTER_NAMES:
        walk.add_argument(_flag(register), dest=register, metavar="VALUE", help=register)
    walk.add_argument(
        "--mem",
        action="append",
        default=[],
        metavar="ADDR=VALUE",
        help="descriptor at a physical address (repeatable)",
    )
    walk.add_argument(
        "--choice",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="IMPLEMENTATION DEFINED choice: " + ", ".join(CHOICE_PARAMS.values()),
    )
    walk.add_argument(
        "--refill",
        action="store_true",
        help="build the background tables for the registers given (memory otherwise stays "
        "the preset's or the link's, whatever the registers say)",
    )
    walk.add_argument("--json", action="store_true", help="print JSON instead of text")
    walk.add_argument(
        "--data-dir",
        help=f"directory of the short-link database {LINKS_DB_NAME} "
        f"(default ${DATA_DIR_ENV} or ./var)",
    )
    walk.add_argument(
        "--public-url",
        help=f"base URL links are printed with (default ${PUBLIC_URL_ENV}, else the host of "
        f"the link given, else {DEFAULT_BASE})",
    )

    commands.add_parser("presets", help="list the configuration presets")
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


def _walk(args: argparse.Namespace) -> str:
    store = _store(args.data_dir)
    base = None
    config = None
    if args.link:
        query, base = _resolve_link(args.link, store)
        decoded = decode(query)
        if decoded.problems:
            raise CliError(problems_message(decoded.problems))
        config = decoded.config
    registers = {r: getattr(args, r) for r in REGISTER_NAMES if getattr(args, r) is not None}
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
        )
    except ValueError as error:
        raise CliError(str(error)) from None

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


def _presets() -> str:
    width = max(len(slug) for slug in CONFIG_PRESETS)
    return "".join(f"{slug:<{width}}  {c.title}\n" for slug, c in CONFIG_PRESETS.items())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        output = _walk(args) if args.command == "walk" else _presets()
    except CliError as error:
        print(f"lpa2-explorer: {error}", file=sys.stderr)
        return error.status
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
