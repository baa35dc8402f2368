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

from pathlib import Path

from ravebox.config.diagnostics import Diagnostics, did_you_mean
from ravebox.recording.settings import RecordSettings

_RANGES = {"reserve_mb": (0.0, 1e6), "buffer_s": (1.0, 120.0)}
KEYS = ("folder", "dry", "reserve_mb", "bits", "buffer_s")


def parse(table: object, diags: Diagnostics, prefix: str = "record") -> RecordSettings:
    """Validate a ``[record]`` table; every problem goes to ``diags``."""
    if not isinstance(table, dict):
        diags.error(prefix, "must be a table")
        return RecordSettings()
    values: dict = {}
    for key, value in table.items():
        path = f"{prefix}.{key}"
        if key not in KEYS:
            diags.error(path, "unknown key" + did_you_mean(key, KEYS))
        elif key == "folder":
            if isinstance(value, str) and value:
                values[key] = (Path(diags.file).parent / value).resolve()
            else:
                diags.error(path, "must be a folder path (a string)")
        elif key == "dry":
            if isinstance(value, bool):
                values[key] = value
            else:
                diags.error(path, f"must be true or false, not {value!r}")
        elif key == "bits":
            if value in (16, 24) and not isinstance(value, bool):
                values[key] = int(value)
            else:
                diags.error(path, f"must be 16 or 24, not {value!r}")
        else:
            lo, hi = _RANGES[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                diags.error(path, f"must be a number in range {lo:g}..{hi:g}, not {value!r}")
            else:
                values[key] = float(value)
    return RecordSettings(**values)
