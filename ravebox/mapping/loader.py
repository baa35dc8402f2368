"""Mapping files (TOML) -> a validated :class:`Mapping`, reporting every problem at once.

Runs on the main thread (start-up, hot reload) and in ``ravebox check``.
This module reads the file's top-level tables; each ``[[map]]`` entry is
validated by :mod:`ravebox.mapping.rules` and the rules are compared with each
other by :mod:`ravebox.mapping.duplicates`. Every value goes through the one
checker (``config/schema.py``), so a mapping file's problems read like a box
file's: ``file:line: map[3].cc: must be an integer in range 0..127, got 128``.
The file format is documented in ``docs/mapping-reference.md``; in short::

    [mapping]
    name = "my controller"
    [defaults]              # apply to every [[map]] unless it says otherwise
    channel = 1             # 1..16, a list, or "any"
    port = "nanoKONTROL2"   # port name glob, or a word the name contains
    takeover = "pickup"
    [presets]
    dir = "presets"         # relative to this file
    glide_ms = 300
    reset_unlisted = false  # true: a recall also resets what the preset does not list
    [[map]]
    cc = 1
    target = "loop.dissolve"
"""

from __future__ import annotations

from pathlib import Path

from ravebox.config.diagnostics import Diagnostics, key_path, read_toml
from ravebox.config.schema import Field, Flag, ListOf, Number, Text, check_table, is_table, unknown_keys
from ravebox.errors import ConfigError
from ravebox.mapping.duplicates import report_duplicates
from ravebox.mapping.model import Mapping, PresetBank
from ravebox.mapping.presets import load_presets
from ravebox.mapping.rules import DEFAULT_FIELDS, parse_defaults, parse_rules

TOP_KEYS = ("mapping", "defaults", "presets", "map")
MAPPING_FIELDS: dict[str, Field] = {"name": Text(), "description": Text(nonempty=False),
                                    "device": Text(nonempty=False)}
PRESET_TABLE_FIELDS: dict[str, Field] = {"dir": Text(what="folder name"),
                                         "files": ListOf(Text(what="file name"), what="file names"),
                                         "glide_ms": Number(0, 60000), "reset_unlisted": Flag()}
MAPPING_KEYS, DEFAULT_KEYS, PRESET_TABLE_KEYS = tuple(MAPPING_FIELDS), tuple(DEFAULT_FIELDS), tuple(PRESET_TABLE_FIELDS)


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file (and the presets it names); raises ConfigError with all problems."""
    data, diags = read_toml(path)
    mapping = parse_mapping(data, diags, Path(path))
    diags.raise_if_any()
    assert mapping is not None
    return mapping


def parse_mapping(data: dict[str, object], diags: Diagnostics, path: Path) -> Mapping | None:
    """Validate parsed TOML into a Mapping, appending problems to ``diags`` (None if any)."""
    unknown_keys(data, TOP_KEYS, diags, "", what="table")
    meta = check_table(_table(data, "mapping", diags), MAPPING_FIELDS, diags, "mapping")
    defaults = parse_defaults(_table(data, "defaults", diags), diags)
    presets, glide_ms, preset_files, reset_unlisted = _presets(data, diags, path)
    rules = parse_rules(data.get("map", []), defaults, presets if "presets" in data else None, diags)
    report_duplicates(rules, diags)
    if diags:
        return None
    name = meta.get("name", path.stem)
    return Mapping(str(name), tuple(rules), presets, glide_ms, path, (path, *preset_files), "presets" in data,
                   reset_unlisted)


def _table(data: dict[str, object], name: str, diags: Diagnostics) -> dict[str, object]:
    table = data.get(name, {})
    return table if is_table(table, diags, name) else {}


def _presets(data: dict[str, object], diags: Diagnostics, path: Path) -> tuple[PresetBank, float, tuple[Path, ...], bool]:
    """The ``[presets]`` table: bank, glide, files read, and whether a recall resets unlisted values."""
    table = _table(data, "presets", diags)
    v = check_table(table, PRESET_TABLE_FIELDS, diags, "presets")
    glide, reset = float(v.get("glide_ms", 0.0)), bool(v.get("reset_unlisted", False))
    names = [path.parent / str(v["dir"])] if "dir" in v else []
    names += [path.parent / str(f) for f in v.get("files", ())]
    for i, name in enumerate(names):
        if not name.exists():
            key = "presets.dir" if "dir" in v and i == 0 else key_path("presets", "files")
            diags.error(key, f"no such file or folder: {name}")
    try:
        bank = load_presets([n for n in names if n.exists()])
    except ConfigError as exc:
        diags.extend(exc.diagnostics)
        return PresetBank(), glide, tuple(names), reset
    return bank, glide, tuple(names) + tuple(f for f in bank.files if f not in names), reset
