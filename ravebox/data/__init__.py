"""Files shipped inside the package: the default box config.

``default_box_path()`` is what the service layer loads when no box is given;
its model path is relative to the file (see the comment in ``default.toml``).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def default_box_path() -> Path:
    return HERE / "default.toml"
