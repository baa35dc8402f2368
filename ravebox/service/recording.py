"""Recording in the running daemon: start/stop from the control socket or a mapped toggle, status.

``ravebox status record start|stop`` and the ``record.enabled`` parameter (map a
button to it with ``button = "toggle"``) both end here. A take is a
:class:`~ravebox.recording.writer.Recorder`: its tap is handed to the audio
path (one reference assignment the process callback reads each period; set
again on a new path after a JACK restart), its thread writes the files.

Threads: :meth:`RecordingService.start`, :meth:`stop` and :meth:`poll` run on
the daemon's main thread (socket commands are queued to it); :meth:`status`
on any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ravebox.params.table import ParamKey
from ravebox.recording.settings import RecordSettings
from ravebox.recording.writer import Recorder

if TYPE_CHECKING:
    from ravebox.host.audiopath import AudioPath
    from ravebox.params.store import ParamStore

log = logging.getLogger("ravebox.record")

RECORD_ENABLED = ParamKey("record.enabled")


class RecordingService:
    """One take at a time. ``path()`` is the host's current AudioPath (its graphs and its ``tap``)."""

    def __init__(self, settings: RecordSettings, path: Callable[[], AudioPath | None], store: ParamStore | None) -> None:
        self.settings = settings
        self._path = path
        self._store = store
        self.take: Recorder | None = None
        self.last: str | None = None            # the last take's closing line, for status
        self._enabled = 0.0                     # record.enabled as last seen

    # -- main thread ------------------------------------------------------------------------
    def start(self) -> dict:
        if self.take is not None and self.take.running:
            return {"ok": True, "message": f"already recording to {self.take.path}"}
        path = self._path()
        if path is None:
            raise RuntimeError("no audio path to record (JACK is not connected)")
        wet = sum(g.outputs for g in path.graphs)
        dry = sum(g.inputs for g in path.graphs)
        take = Recorder(self.settings, path.sample_rate, wet, dry).start()
        self.take = take
        path.tap = take.tap
        log.info("recording to %s%s", take.path, f" (+ dry {take.dry_path.name})" if take.dry_path else "")
        return {"ok": True, "message": f"recording to {take.path}", "file": str(take.path)}

    def stop(self) -> dict:
        take = self.take
        if take is None:
            return {"ok": True, "message": "not recording"}
        self._detach()
        take.stop()
        self.take = None
        self.last = self._closing_line(take)
        log.info("%s", self.last)
        return {"ok": True, "message": self.last, "file": str(take.path), "seconds": round(take.seconds, 1)}

    def poll(self) -> None:
        """Main thread, every main-loop pass: follow ``record.enabled``; notice a take that ended by itself."""
        if self._store is not None:
            enabled = self._store.target(RECORD_ENABLED)
            if enabled != self._enabled:
                self._enabled = enabled
                try:
                    self.start() if enabled >= 0.5 else self.stop()
                except Exception as exc:  # noqa: BLE001 - a mapped button must never stop the box
                    self.last = f"recording not started: {exc}"
                    log.error("%s", self.last)
        take = self.take
        if take is not None and take.stopped_reason is not None and not take.running:
            self._detach()
            self.take = None
            self.last = f"recording stopped: {take.stopped_reason}"
            log.error("%s", self.last)

    def reattach(self) -> None:
        """Main thread, after the host built a new audio path (JACK restart with another period)."""
        path = self._path()
        if path is not None and self.take is not None and self.take.running:
            path.tap = self.take.tap

    def close(self) -> None:
        if self.take is not None:
            self.stop()

    def _detach(self) -> None:
        path = self._path()
        if path is not None:
            path.tap = None

    @staticmethod
    def _closing_line(take: Recorder) -> str:
        files = take.path.name + (f" + {take.dry_path.name}" if take.dry_path else "")
        why = f" ({take.stopped_reason})" if take.stopped_reason else ""
        return f"recorded {take.seconds:.1f} s to {take.path.parent}/{files}{why}"

    # -- any thread -------------------------------------------------------------------------
    def status(self) -> dict:
        take = self.take
        if take is None:
            return {"recording": False, "folder": str(self.settings.folder), "free_mb": _free_mb(self.settings.folder),
                    "last": self.last}
        return {**take.status(), "last": self.last}


def _free_mb(folder: str | Path) -> float | None:
    """Free space where takes go (the nearest existing parent while the folder does not exist yet)."""
    import shutil

    place = Path(folder)
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        return round(shutil.disk_usage(place).free / (1024 * 1024), 1)
    except OSError:
        return None
