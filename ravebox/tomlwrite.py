"""Writing TOML files the player also edits by hand: layout kept, never half-written.

Why tomlkit: MIDI learn (``ravebox status learn``) and preset saving add tables
to files people maintain with comments, aligned columns and their own order.
tomlkit parses into a document that keeps all of that and prints it back
unchanged except for what was edited; ``tomllib`` (read-only) and ``tomli-w``
(drops comments) cannot, and string surgery breaks on the first unusual layout.

Why atomic: the daemon watches the mapping file and hot-reloads it, and a crash
or a full disk mid-write must leave the old, good file. The text goes to a
temporary file in the same folder (same file system), is flushed and fsynced,
keeps the old file's permission bits, then ``os.replace`` swaps it in (atomic
on POSIX) and the folder is fsynced so the rename itself survives a power cut.

A leaf module (stdlib and tomlkit only): any layer may use it. Runs on whatever
thread edits a file (the main thread in the daemon); never on the audio path.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tomlkit
from tomlkit import TOMLDocument


def atomic_write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; on any error the old file is untouched."""
    path = Path(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def fsync_path(path: str | Path) -> None:
    """fsync a file or a folder by its path (a folder: so a rename in it survives a power cut).

    Also used by the render's audio writer (``render/audio_file.py``), the other atomic writer.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fsync_path(folder)


def read_document(path: str | Path) -> TOMLDocument:
    """Parse ``path`` keeping comments and layout (an empty document if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return tomlkit.document()
    return tomlkit.parse(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def edit_toml(path: str | Path) -> Iterator[TOMLDocument]:
    """``with edit_toml(p) as doc: doc["x"] = 1`` -- written back atomically only if the block succeeds."""
    doc = read_document(path)
    yield doc
    atomic_write_text(path, tomlkit.dumps(doc))
