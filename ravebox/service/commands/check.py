"""``ravebox check FILE...``: validate mapping, preset and box config files, starting nothing.

Runs on the main thread of a short-lived CLI process; imports no torch and
no JACK, so it answers quickly on a Raspberry Pi.

The kind of a file is told by its tables: a box config has ``[box]``,
``[graphs]``, ``[models]`` ...; a preset file has ``[values]`` or
``[[preset]]``; anything else is read as a mapping. ``--kind`` overrides.

A folder argument checks every ``*.toml`` below it.

Exit codes: 0 every file is valid, 1 some file is invalid, 2 usage error or
a file that cannot be read (or checked) at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ravebox.config.diagnostics import read_toml
from ravebox.errors import ConfigError

HELP = "validate mapping, preset and box config files without starting anything"
BOX_TABLES = ("box", "models", "graphs", "output", "clock", "gates", "jack")  # [mapping] is in both kinds
OK, INVALID, UNUSABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="TOML files to check (a folder: every *.toml in it)")
    parser.add_argument("--kind", choices=("auto", "mapping", "preset", "box"), default="auto",
                        help="what the files are (default: tell by their tables)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")


def run(args: argparse.Namespace) -> int:
    status = OK
    for name in args.files:
        path = Path(name)
        try:
            files = sorted(path.rglob("*.toml")) if path.is_dir() else [path]
        except (OSError, RuntimeError) as exc:   # a symlink loop, a name too long, no permission
            print(f"{path}: cannot read: {_why(exc)}")
            status = max(status, UNUSABLE)
            continue
        for file in files or [path]:
            status = max(status, check_file(file, args.kind, args.quiet))
    return status


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deep to read (TOML arrays or tables thousands of levels deep)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def check_file(path: Path, kind: str = "auto", quiet: bool = False, out=None) -> int:
    """Check one file, print its verdict or problems, and return its exit status."""
    out = out or sys.stdout
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, RuntimeError) as exc:
        print(f"{path}: cannot read: {_why(exc)}", file=out)
        return UNUSABLE
    if not is_file:
        print(f"{path}: cannot read: {'is a folder' if is_dir else 'no such file'}", file=out)
        return UNUSABLE
    try:
        data, _ = read_toml(path)
        kind = detect(data) if kind == "auto" else kind
        summary = CHECKERS[kind](path)
    except ConfigError as exc:
        print(exc, file=out)
        return UNUSABLE if _unreadable(exc) else INVALID
    except Exception as exc:  # noqa: BLE001 - check never tracebacks: name the file and the cause
        print(f"{path}: cannot check: {_why(exc)}", file=out)
        return UNUSABLE
    if not quiet:
        print(f"{path}: ok ({summary})", file=out)
    return OK


def detect(data: dict) -> str:
    """``box``, ``preset`` or ``mapping``, from the top-level tables of a parsed file."""
    from ravebox.mapping.presets import is_preset_table

    if any(table in data for table in BOX_TABLES):
        return "box"
    return "preset" if is_preset_table(data) else "mapping"


def _mapping(path: Path) -> str:
    from ravebox.mapping import load_mapping

    mapping = load_mapping(path)
    presets = f", {len(mapping.presets)} presets" if mapping.has_presets else ""
    return f"mapping '{mapping.name}': {len(mapping.rules)} rules{presets}"


def _presets(path: Path) -> str:
    from ravebox.mapping import load_presets

    bank = load_presets([path])
    return "presets: " + ", ".join(f"{p.index} '{p.name}'" for p in bank.presets)


def _box(path: Path) -> str:
    from ravebox.config.box import load_box

    config = load_box(path)
    mapping = config.mapping.mapping
    return f"box config: graphs {', '.join(config.graph_names)}; mapping '{mapping.name}': {len(mapping.rules)} rules"


def _unreadable(exc: ConfigError) -> bool:
    return all("cannot read:" in str(d) for d in exc.diagnostics)


CHECKERS = {"mapping": _mapping, "preset": _presets, "box": _box}
