"""The ``[record]`` table of a box config -> :class:`~ravebox.recording.settings.RecordSettings`.

Example::

    [record]
    folder = "/var/lib/ravebox/recordings"   # relative paths: next to the box file
    dry = true             # also write the dry input to ...-dry.flac
    reserve_mb = 64        # stop (cleanly, file readable) before free space drops below this
    bits = 24              # 16 or 24

Parsed on the main thread at start-up, by ``ravebox check`` and by render; never raises itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.schema import INVALID, Field, Flag, Number, Text, check_table, is_table
from ravebox.recording.settings import RecordSettings


@dataclass(frozen=True, slots=True)
class _Bits:
    """16 or 24 (an integer)."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if value in (16, 24) and isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        diags.error(path, f"must be 16 or 24, not {value!r}")
        return INVALID


#: Every key of ``[record]`` with its range (``folder`` is resolved against the box file's folder).
FIELDS: dict[str, Field] = {
    "folder": Text(what="folder path (a string)"),
    "dry": Flag(),
    "reserve_mb": Number(0.0, 1e6),
    "bits": _Bits(),
    "buffer_s": Number(1.0, 120.0),
}
KEYS = tuple(FIELDS)


def parse(table: object, diags: Diagnostics, prefix: str = "record") -> RecordSettings:
    """Validate a ``[record]`` table; every problem goes to ``diags``."""
    if not is_table(table, diags, prefix):
        return RecordSettings()
    values = check_table(table, FIELDS, diags, prefix)
    if "folder" in values:
        values["folder"] = (Path(diags.file).parent / str(values["folder"])).resolve()
    return RecordSettings(**values)
