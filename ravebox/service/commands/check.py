"""``ravebox check FILE...``: validate mapping, preset and box config files, starting nothing.

Runs on the main thread of a short-lived CLI process; imports no JACK, and
no torch unless it opens model files (see below).

The kind of a file is told by its tables: a box config has ``[box]``,
``[graphs]``, ``[models]`` ...; a preset file has ``[values]`` or
``[[preset]]``; anything else is read as a mapping. ``--kind`` overrides.

A folder argument checks every ``*.toml`` below it.

A box config's model files are opened too (their interfaces only: no warm-up,
no stream; this imports torch): roles, rates and ratios of decoder
alternatives, latent counts, streaming, mapping dims and latent operations
on discrete models (``ravebox.engine.boxcheck``). ``--no-models`` skips that;
``--models`` takes model files (``*.ts``) as arguments and checks each alone.

Exit codes: 0 every file is valid, 1 some file is invalid, 2 usage error or
a file that cannot be read (or checked) at all.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO
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
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--models", action="store_true",
                        help="the files are model files (.ts): open each one's interface and report problems")
    models.add_argument("--no-models", action="store_true",
                        help="check box configs without opening their model files (no torch import)")


def run(args: argparse.Namespace) -> int:
    status = OK
    pattern, check = ("*.ts", check_model_file) if args.models else ("*.toml", check_file)
    for name in args.files:
        path = Path(name)
        try:
            files = sorted(path.rglob(pattern)) if path.is_dir() else [path]
        except (OSError, RuntimeError) as exc:   # a symlink loop, a name too long, no permission
            print(f"{path}: cannot read: {_why(exc)}")
            status = max(status, UNUSABLE)
            continue
        for file in files or [path]:
            status = max(status, check(file, args.kind, args.quiet, models=not args.no_models))
    return status


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deep to read (TOML arrays or tables thousands of levels deep)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def check_model_file(path: Path, kind: str = "auto", quiet: bool = False, out: TextIO | None = None,
                     models: bool = True) -> int:
    """Open one model file's interface; print what it is, or why it cannot play."""
    out = out or sys.stdout
    if not path.is_file():
        print(f"{path}: cannot read: {'is a folder' if path.is_dir() else 'no such file'}", file=out)
        return UNUSABLE
    from ravebox.models.loader import inspect_model

    try:
        info = inspect_model(path)
    except Exception as exc:  # noqa: BLE001 -- any damage to the file is reported, never raised
        print(f"{path}: cannot open the model: {exc}", file=out)
        return INVALID
    problems = []
    if info.kind == "unknown":
        problems.append("neither a RAVE model (encode and decode) nor a prior (forward and temperature)")
    if not info.streaming:
        problems.append("not a streaming export (no cache buffers): live it clicks at every block")
    for problem in problems:
        print(f"{path}: {problem}", file=out)
    if not problems and not quiet:
        rate = f"{info.sample_rate} Hz" if info.sample_rate else "rate unknown (plays at the box rate)"
        latents = f"discrete, codebook of {info.codebook_size}" if info.discrete else "continuous"
        print(f"{path}: ok ({info.kind}, {rate}, ratio {info.ratio}, {info.latent_size} latents, {latents})",
              file=out)
    return INVALID if problems else OK


def check_file(path: Path, kind: str = "auto", quiet: bool = False, out: TextIO | None = None,
               models: bool = True) -> int:
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
    warnings: list[str] = []
    try:
        data, _ = read_toml(path)
        kind = detect(data) if kind == "auto" else kind
        summary = _box(path, models, warnings) if kind == "box" else CHECKERS[kind](path)
    except ConfigError as exc:
        print(exc, file=out)
        return UNUSABLE if _unreadable(exc) else INVALID
    except Exception as exc:  # noqa: BLE001 - check never tracebacks: name the file and the cause
        print(f"{path}: cannot check: {_why(exc)}", file=out)
        return UNUSABLE
    if not quiet:
        print(f"{path}: ok ({summary})", file=out)
    for warning in warnings:   # what the box will not use: not an error, shown even with --quiet
        print(f"warning: {warning}", file=out)
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


def _box(path: Path, models: bool = True, warnings: list[str] | None = None) -> str:
    """Check a box config (and its model files unless ``models`` is false); ``warnings`` gets what the
    box will not use (a model no graph plays, mapping entries for a graph or dimension it lacks)."""
    from ravebox.assembly.parts import box_warnings
    from ravebox.config.box import load_box

    config = load_box(path)
    dims: dict[str, int] = {}
    if models:
        from ravebox.engine.boxcheck import check_models

        problems = check_models(config, dims)
        if problems:
            raise ConfigError(problems)
    if warnings is not None:   # without the models' latent counts, no dimension is judged missing
        warnings += box_warnings(config, {g: dims.get(g, 1 << 30) for g in config.graph_names})
    mapping = config.mapping.mapping
    return f"box config: graphs {', '.join(config.graph_names)}; mapping '{mapping.name}': {len(mapping.rules)} rules"


def _unreadable(exc: ConfigError) -> bool:
    return all("cannot read:" in str(d) for d in exc.diagnostics)


CHECKERS = {"mapping": _mapping, "preset": _presets, "box": _box}
