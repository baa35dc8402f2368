"""Files shipped inside the package, so a wheel install has them too.

``default.toml`` is the box the service layer loads when none is given, with its
model in ``models/``; ``mappings/`` holds the bundled mappings and presets and
``systemd/`` the unit files. In the source tree ``mappings``, ``systemd`` and
``models/rave_a.ts`` are symbolic links to the repository's ``mappings/``,
``systemd/`` and ``tests/models/rave_a.ts``; building a wheel copies their contents.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def default_box_path() -> Path:
    return HERE / "default.toml"


def mappings_dir() -> Path:
    return HERE / "mappings"


def systemd_dir() -> Path:
    return HERE / "systemd"
