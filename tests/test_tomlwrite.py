"""tomlwrite: edits keep comments and layout; a failed write leaves the old file whole."""

from __future__ import annotations

import os
import tomllib

import pytest
import tomlkit

from ravebox.tomlwrite import atomic_write_text, edit_toml

HAND_WRITTEN = """# my controller, tuned by hand
[defaults]
port = "nanoKONTROL2"     # the USB name
takeover = "pickup"

[[map]]
cc     = 0                # aligned on purpose
target = "loop.dissolve"
"""


def test_edit_appends_a_table_and_keeps_every_comment_and_column(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(HAND_WRITTEN)
    with edit_toml(path) as doc:
        entry = tomlkit.table()
        entry["cc"] = 21
        entry["target"] = "mix.wet"
        doc["map"].append(entry)
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.rstrip("\n"))
    assert tomllib.loads(text)["map"][1] == {"cc": 21, "target": "mix.wet"}


def test_an_exception_inside_the_block_writes_nothing(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(HAND_WRITTEN)
    with pytest.raises(RuntimeError):
        with edit_toml(path) as doc:
            doc["defaults"]["port"] = "other"
            raise RuntimeError("changed my mind")
    assert path.read_text() == HAND_WRITTEN


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "map.toml"
    path.write_text(HAND_WRITTEN)
    os.chmod(path, 0o640)

    def full_disk(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        atomic_write_text(path, "x = 1\n")
    monkeypatch.undo()
    assert path.read_text() == HAND_WRITTEN
    assert [p.name for p in tmp_path.iterdir()] == ["map.toml"]
    atomic_write_text(path, "x = 1\n")
    assert path.read_text() == "x = 1\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)     # permission bits kept


def test_editing_a_missing_file_creates_it(tmp_path):
    path = tmp_path / "new.toml"
    with edit_toml(path) as doc:
        doc["name"] = "fresh"
    assert tomllib.loads(path.read_text()) == {"name": "fresh"}
