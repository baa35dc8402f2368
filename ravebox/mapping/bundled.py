"""The mapping files shipped with ravebox (``mappings/`` in the source tree).

Runs on the main thread at start-up. They are package data
(``ravebox/data/mappings``, a link to ``mappings/`` in the source tree), so an
editable install and a wheel both find them.
"""

from __future__ import annotations

from pathlib import Path

from ravebox.data import mappings_dir
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.model import Mapping

_PLACES = (mappings_dir(),)


def bundled_path(name: str = "default") -> Path:
    """Path of bundled mapping ``name`` (with or without ``.toml``); FileNotFoundError if absent."""
    filename = name if name.endswith(".toml") else f"{name}.toml"
    for place in _PLACES:
        if (place / filename).is_file():
            return place / filename
    raise FileNotFoundError(f"no bundled mapping '{name}' in {', '.join(map(str, _PLACES))}")


def bundled_names() -> list[str]:
    """Names of every bundled mapping (file names without ``.toml``)."""
    return sorted({p.stem for place in _PLACES if place.is_dir() for p in place.glob("*.toml")})


def bundled_mapping(name: str) -> Mapping:
    return load_mapping(bundled_path(name))


def default_mapping() -> Mapping:
    """The daemon's default mapping, used when a box config names none."""
    return bundled_mapping("default")
