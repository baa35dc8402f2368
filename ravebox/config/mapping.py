"""The ``[mapping]`` section of a box config: which mapping file plays the box.

Runs on the main thread while a box config loads (``config/box.py`` calls
:func:`parse`). The mapping file itself is
loaded and validated here, so one ``ravebox check box.toml`` reports the
box's and its mapping's problems together::

    [mapping]
    file = "nanokontrol2"      # a bundled mapping by name, or a path relative to the box file
    presets = "presets"        # optional: preset folder/file replacing the mapping's own
    watch = true               # reload when the file changes (SIGHUP always reloads)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ravebox.config.diagnostics import Diagnostics, did_you_mean
from ravebox.config.schema import Field, Flag, Text, check_table, is_table
from ravebox.errors import ConfigError
from ravebox.mapping import Mapping, PresetBank, bundled_path, load_mapping, load_presets
from ravebox.mapping.bundled import bundled_names

FIELDS: dict[str, Field] = {"file": Text(what="mapping file name"), "presets": Text(what="file or folder name"),
                            "watch": Flag()}


@dataclass(frozen=True)
class MappingSettings:
    path: Path
    watch: bool
    mapping: Mapping
    presets: PresetBank | None = None  # None: the mapping's own presets
    presets_path: Path | None = None


def parse(table: dict, diags: Diagnostics, prefix: str = "mapping") -> MappingSettings | None:
    """Validate ``table``; problems (including the mapping file's own) go to ``diags``."""
    if not is_table(table, diags, prefix):
        return None
    values = check_table(table, FIELDS, diags, prefix)
    if "file" in table and "file" not in values:
        return None
    base = Path(diags.file).parent
    path = _mapping_path(str(values.get("file", "default")), base, diags, prefix)
    watch = values.get("watch", True)
    presets_path = base / str(values["presets"]) if "presets" in values else None
    if path is None:
        return None
    try:
        mapping = load_mapping(path)
        presets = load_presets([presets_path]) if presets_path is not None else None
    except ConfigError as exc:
        diags.extend(exc.diagnostics)
        return None
    return MappingSettings(path, bool(watch), mapping, presets, presets_path)


def _mapping_path(name: str, base: Path, diags: Diagnostics, prefix: str) -> Path | None:
    if "/" not in name and not name.endswith(".toml"):
        try:
            return bundled_path(name)
        except FileNotFoundError:
            pass
    path = base / name
    if not path.is_file():
        hint = did_you_mean(name, bundled_names()) if "/" not in name else ""
        diags.error(f"{prefix}.file", f"no such mapping file: {path}{hint}")
        return None
    return path
