"""Settings of recording on the box (the validated ``[record]`` table of a box config).

Why here and not in ``config/``: the recorder builds and uses these; ``ravebox.config.record``
only turns TOML into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_FOLDER = Path("/var/lib/ravebox/recordings")


@dataclass(frozen=True, slots=True)
class RecordSettings:
    """Where and how ``ravebox status record start`` writes.

    ``folder`` gets one ``ravebox-YYYYmmdd-HHMMSS.flac`` per take (and ``...-dry.flac``
    with ``dry``); ``reserve_mb`` of free space is never used, so the recording stops
    cleanly, with a readable file, before the disk is full; ``bits`` is 16 or 24;
    ``buffer_s`` sizes the ring between the process callback and the writer thread.
    """

    folder: Path = DEFAULT_FOLDER
    dry: bool = False
    reserve_mb: float = 64.0
    bits: int = 24
    buffer_s: float = 8.0
