"""Preset files: named snapshots of parameter values, as TOML.

Runs on the main thread (load, reload) or in ``ravebox check``.

A preset file holds one preset::

    name = "drift"          # optional, defaults to the file name
    program = 3             # optional: the program change / preset.recall index
    reset_unlisted = true   # optional: this recall first puts every other moved value back to its default
    [values]
    "loop.dissolve" = 0.3
    "latent.bias" = [0.5, -0.5]     # a list sets dims 0, 1, ...
    "latent.bias[3]" = 1.0          # one dimension
    "main/prior.temperature" = 0.8  # one graph

or several, as ``[[preset]]`` tables with the same keys (``values`` inline
or as ``[preset.values]``). Keys are written as :class:`ParamKey` prints them,
so a snapshot of the :class:`ParamStore` is a valid ``[values]`` table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from ravebox.config.diagnostics import Diagnostic, Diagnostics, did_you_mean, key_path, read_toml
from ravebox.config.schema import INVALID, Field, Flag, Integer, Text, check_table, is_table
from ravebox.errors import ConfigError
from ravebox.mapping.fields import param_value
from ravebox.mapping.model import Preset, PresetBank
from ravebox.params.table import PARAMS, ParamKey, ParamKind, ParamScope

KEY = re.compile(r"^(?:(?P<graph>[^/\[\]]+)/)?(?P<name>[A-Za-z0-9_.]+)(?:\[(?P<dim>\d+)\])?$")
PRESET_FIELDS: dict[str, Field] = {"name": Text(), "program": Integer(0, 127), "reset_unlisted": Flag()}


def is_sound_parameter(name: str) -> bool:
    """Whether a preset stores parameter ``name``: graph and dimension values, not box-wide state.

    Box-wide parameters (``preset.recall``, ``clock.bpm``, ``clock.offset_ms``, ``record.enabled``) and
    triggers are left alone by ``save`` and by a recall with ``reset_unlisted``.
    """
    spec = PARAMS.get(name)
    return spec is not None and spec.scope is not ParamScope.BOX and spec.kind is not ParamKind.TRIGGER


def is_preset_table(data: dict) -> bool:
    """Does a parsed TOML file look like a preset file (``ravebox check`` detection)?"""
    return "values" in data or "preset" in data


def load_presets(paths: Iterable[str | Path]) -> PresetBank:
    """Load preset files (a directory means its ``*.toml``); raises ConfigError with every problem."""
    asked = [Path(p) for p in paths]
    files = _expand(asked)
    problems: list[Diagnostic] = []
    all_diags: list[Diagnostics] = []
    presets: list[Preset] = []
    for path in files:
        try:
            data, diags = read_toml(path)
        except ConfigError as exc:
            problems += exc.diagnostics
            continue
        all_diags.append(diags)
        many = "preset" in data
        tables = data["preset"] if many else [data]
        if not isinstance(tables, list):
            diags.error("preset", "expected [[preset]] tables")
            tables = []
        for i, table in enumerate(tables):
            preset = _preset(table, diags, key_path("preset", i) if many else "")
            if preset is not None:
                presets.append(preset)
    numbered = _number(presets, problems)
    problems = [item for d in all_diags for item in d.items] + problems
    if problems:
        raise ConfigError(problems)
    return PresetBank(tuple(numbered), tuple(files), tuple(asked))


def parse_setting(key: str, value: object) -> list[tuple[ParamKey, float]]:
    """One ``KEY = VALUE`` as a preset's ``[values]`` reads it (``set PARAM VALUE``); ConfigError if invalid."""
    diags = Diagnostics("set")
    pairs = _value(key, value, diags, key)
    if diags.items:
        raise ConfigError(diags.items)
    return pairs


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.toml")) if path.is_dir() else [path]
    return files


def _preset(table: dict, diags: Diagnostics, prefix: str) -> Preset | None:
    def at(*parts: str | int) -> str:
        return f"{prefix}.{key_path(*parts)}" if prefix else key_path(*parts)

    before = len(diags.items)
    if not is_table(table, diags, prefix):
        return None
    checked = check_table(table, PRESET_FIELDS, diags, prefix, known=("values",))
    name, program = checked.get("name", Path(diags.file).stem), checked.get("program", -1)
    reset = checked.get("reset_unlisted", False)
    values = table.get("values", {})
    if not isinstance(values, dict):
        diags.error(at("values"), "must be a table of parameter = value")
        values = {}
    pairs = [pair for key, value in values.items() for pair in _value(key, value, diags, at("values", key))]
    if len(diags.items) > before:
        return None
    return Preset(str(name), int(program), tuple(pairs), diags.file, bool(reset))


def _value(key: str, value: object, diags: Diagnostics, path: str) -> list[tuple[ParamKey, float]]:
    match = KEY.match(key)
    if not match:
        diags.error(path, "expected a key like 'name', 'graph/name' or 'name[dim]'")
        return []
    name, graph, dim = match["name"], match["graph"], match["dim"]
    spec = PARAMS.get(name)
    if spec is None:
        diags.error(path, f"unknown parameter '{name}'{did_you_mean(name, PARAMS)}")
        return []
    if spec.kind is ParamKind.TRIGGER:
        diags.error(path, f"'{name}' is a trigger and has no value to store")
        return []
    if (dim is not None or isinstance(value, list)) and spec.scope is not ParamScope.DIM:
        diags.error(path, f"'{name}' has no latent dimensions")
        return []
    if graph is not None and spec.scope is ParamScope.BOX:
        diags.error(path, f"'{name}' belongs to the whole box, not to a graph")
        return []
    if isinstance(value, list):
        if dim is not None:
            diags.error(path, "a list of values needs a key without [dim]")
            return []
        pairs = [(ParamKey(name, graph, d), v) for d, v in enumerate(value)]
        paths = [f"{path}[{d}]" for d in range(len(value))]
    else:
        pairs = [(ParamKey(name, graph, None if dim is None else int(dim)), value)]
        paths = [path]
    good = []
    field = param_value(spec)
    for (pkey, v), p in zip(pairs, paths):
        if isinstance(v, bool) and spec.kind is ParamKind.TOGGLE:
            v = float(v)
        checked = field.check(v, diags, p)
        if checked is not INVALID:
            good.append((pkey, float(checked)))  # type: ignore[arg-type]
    return good


def _number(presets: list[Preset], problems: list[Diagnostic]) -> list[Preset]:
    """Give presets without a program number the lowest free ones, in name order; refuse clashes."""
    seen_names: dict[str, Preset] = {}
    seen_index: dict[int, Preset] = {}
    for preset in presets:
        if preset.name in seen_names:
            problems.append(Diagnostic(preset.file, None, "name",
                                       f"duplicate preset name '{preset.name}' (also in {seen_names[preset.name].file})"))
        seen_names[preset.name] = preset
        if preset.index >= 0:
            if preset.index in seen_index:
                problems.append(Diagnostic(preset.file, None, "program",
                                           f"program {preset.index} is also used by preset "
                                           f"'{seen_index[preset.index].name}'"))
            seen_index[preset.index] = preset
    free = (i for i in range(128) if i not in seen_index)
    out = []
    for preset in sorted(presets, key=lambda p: (p.index < 0, p.index, p.name)):
        if preset.index < 0:
            preset = dataclasses.replace(preset, index=next(free, 127))
        out.append(preset)
    return out
