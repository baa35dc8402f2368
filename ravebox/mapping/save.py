"""``save NAME``: write the current live values as a preset, into the preset files the player keeps.

Why edit in place with tomlkit (:mod:`ravebox.tomlwrite`): preset files are written by hand, with
comments and an order of their own; saving one preset must leave the rest of the file as it was.
Why atomic and checked: the daemon hot-reloads preset files, so the file is replaced in one step and
read back with :func:`load_presets`; a result that does not load puts the old text back.

Where a preset goes:

* a preset of that name exists: its ``values`` are replaced, in its own file (single-preset file or
  one ``[[preset]]`` table of a shared file); its name and program number stay;
* otherwise, with a preset folder (``[presets] dir``): a new file ``NAME.toml`` in it;
* otherwise, a new ``[[preset]]`` table at the end of the first ``[[preset]]`` file.

A new preset gets the lowest free program number, written into the file, so adding a preset never
renumbers the others. Only graph and dimension values are saved (:func:`is_sound_parameter`).

Runs on the main thread (the control socket's ``save`` command); never on the audio path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from ravebox.errors import ConfigError, RaveboxError
from ravebox.mapping.model import PresetBank
from ravebox.mapping.presets import KEY, is_sound_parameter, load_presets
from ravebox.params.table import PARAMS, ParamKind
from ravebox.tomlwrite import atomic_write_text, read_document

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class PresetSaveError(RaveboxError):
    """The preset could not be saved (no preset files, a bad name, a file that would not load)."""


def preset_values(snapshot: Mapping[str, float]) -> dict[str, float | int | bool]:
    """The sound values of a ``ParamStore.snapshot()``, as a preset's ``[values]`` table writes them."""
    values: dict[str, float | int | bool] = {}
    for key in sorted(snapshot):
        match = KEY.match(key)
        if match is None or not is_sound_parameter(match["name"]):
            continue
        kind = PARAMS[match["name"]].kind
        value = float(snapshot[key])
        if kind is ParamKind.TOGGLE:
            values[key] = value >= 0.5
        elif kind is ParamKind.CHOICE:
            values[key] = int(round(value))
        else:
            values[key] = round(value, 6)
    return values


def save_preset(bank: PresetBank, name: str, values: Mapping[str, float | int | bool]) -> Path:
    """Write preset ``name`` with ``values`` (see the module docstring for where); returns the file."""
    if not NAME.match(name):
        raise PresetSaveError(f"preset name {name!r}: use letters, digits, space, '_', '.', '-' (at most 64)")
    existing = bank.find(name)
    if existing is not None and existing.file:
        path = Path(existing.file)
        doc = read_document(path)
        table = _table_named(doc, name, path)
        table["values"] = _values_table(values)
    else:
        program = next((i for i in range(128) if i not in bank.by_index), None)
        if program is None:
            raise PresetSaveError("all 128 program numbers are taken; delete a preset first")
        folder = next((p for p in bank.sources if p.is_dir()), None)
        if folder is not None:
            path = folder / f"{name}.toml"
            doc = tomlkit.document()
            doc.add(tomlkit.comment(f"Saved by `ravebox status save {name}`."))
            doc["name"] = name
            doc["program"] = program
            doc["values"] = _values_table(values)
        else:
            path = _shared_file(bank)
            doc = read_document(path)
            entry = tomlkit.table()
            entry["name"] = name
            entry["program"] = program
            entry["values"] = _values_table(values)
            doc["preset"].append(entry)
    _write_checked(path, tomlkit.dumps(doc), bank)
    return path


def _values_table(values: Mapping[str, float | int | bool]) -> tomlkit.items.Table:
    table = tomlkit.table()
    for key, value in values.items():
        table[key] = value
    return table


def _table_named(doc: tomlkit.TOMLDocument, name: str, path: Path) -> Any:
    """The table of preset ``name`` in ``doc``: the document itself, or one of its ``[[preset]]``."""
    if "preset" not in doc:
        return doc
    for table in doc["preset"]:
        if table.get("name") == name:
            return table
    raise PresetSaveError(f"{path}: preset '{name}' not found as a [[preset]] table")


def _shared_file(bank: PresetBank) -> Path:
    for path in bank.sources:
        if path.is_file() and "preset" in read_document(path):
            return path
    raise PresetSaveError("no preset folder or [[preset]] file to save into: give the mapping a "
                          "[presets] dir (or a box [mapping] presets folder)")


def _write_checked(path: Path, text: str, bank: PresetBank) -> None:
    """Replace ``path`` atomically, then load the bank again; put the old file back if it does not load."""
    old = path.read_text(encoding="utf-8") if path.exists() else None
    atomic_write_text(path, text)
    try:
        load_presets(bank.sources)
    except ConfigError as exc:
        if old is None:
            path.unlink()
        else:
            atomic_write_text(path, old)
        raise PresetSaveError(f"{path}: the saved preset would not load, file left as it was: {exc}") from exc
