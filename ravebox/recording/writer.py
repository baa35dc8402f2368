"""The recording writer: a non-realtime thread drains the tap into FLAC files (soundfile / libsndfile).

Why stop before the disk is full: libsndfile writes a FLAC file's STREAMINFO
header when the file is closed; a write that fails for lack of space leaves a
file no reader accepts (measured: libsndfile then reports a garbage length).
So before each chunk the writer checks the free space of the folder and, when
writing the chunk would leave less than ``reserve_mb``, stops and closes the
file properly: what was recorded stays readable, and the status line says why
the take ended. A write error all the same (another process filled the disk)
also stops the take with its reason; the file is closed as well as it can be.

Files: ``ravebox-YYYYmmdd-HHMMSS.flac`` with every graph's output channels in
order (``main_out_1``, ``main_out_2``, then the next graph's), and with ``dry``
``...-dry.flac`` with the input channels the same way.

Threads: :meth:`Recorder.start` and :meth:`Recorder.stop` on the caller's
thread (the daemon's main thread); :meth:`_run` on its own ``ravebox-record``
thread; :meth:`status` on any thread (plain attribute reads).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import soundfile

from ravebox.errors import RaveboxError
from ravebox.recording.settings import RecordSettings
from ravebox.recording.tap import RecordTap

log = logging.getLogger("ravebox.record")

CHUNK = 16384            # frames per write
POLL_S = 0.05
MB = 1024 * 1024


class RecordError(RaveboxError):
    """A take could not start (folder not writable, file not creatable)."""


class Recorder:
    """One take: files, tap and writer thread. ``stop()`` drains what the tap holds, then closes."""

    def __init__(self, settings: RecordSettings, sample_rate: int, wet_channels: int, dry_channels: int) -> None:
        self.settings = settings
        self.sample_rate = int(sample_rate)
        dry = dry_channels if settings.dry else 0
        capacity = 1 << int(np.ceil(np.log2(max(settings.buffer_s * sample_rate, 4 * CHUNK))))
        self.tap = RecordTap(wet_channels, dry, capacity)
        self.path, self.dry_path = self._names(Path(settings.folder), dry > 0)
        self.frames = 0
        self.stopped_reason: str | None = None    # why the take ended by itself (disk, write error)
        self.started_at = 0.0
        self._files: list[soundfile.SoundFile] = []
        self._buf = np.zeros((wet_channels + dry, CHUNK), dtype=np.float32)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _names(folder: Path, dry: bool) -> tuple[Path, Path | None]:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base, n = f"ravebox-{stamp}", 1
        while (folder / f"{base}.flac").exists():
            n += 1
            base = f"ravebox-{stamp}-{n}"
        return folder / f"{base}.flac", (folder / f"{base}-dry.flac") if dry else None

    # -- caller's thread ------------------------------------------------------------------
    def start(self) -> "Recorder":
        """Create the folder and the files, start the writer; RecordError with the reason if that fails."""
        folder = Path(self.settings.folder)
        subtype = f"PCM_{self.settings.bits}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(folder).free
            if free < self.settings.reserve_mb * MB:
                raise RecordError(f"cannot record to {folder}: {free / MB:.0f} MB free, less than the "
                                  f"{self.settings.reserve_mb:g} MB reserve ([record] reserve_mb)")
            self._files.append(soundfile.SoundFile(self.path, "w", self.sample_rate, self.tap.wet, subtype,
                                                   format="FLAC"))
            if self.dry_path is not None:
                self._files.append(soundfile.SoundFile(self.dry_path, "w", self.sample_rate, self.tap.dry, subtype,
                                                       format="FLAC"))
        except (OSError, RuntimeError) as exc:
            self._close()
            raise RecordError(f"cannot record to {folder}: {exc}") from exc
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ravebox-record", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what the tap still holds, close the files (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        """Writer thread: drain the tap every ``POLL_S`` until stopped or the disk is (nearly) full."""
        try:
            while not self._stop.is_set() and self.stopped_reason is None:
                self._drain()
                self._stop.wait(POLL_S)
            if self.stopped_reason is None:
                self._drain()
        finally:
            self._close()

    def _drain(self) -> None:
        tap = self.tap
        while tap.available() and self.stopped_reason is None:
            if not self._room_for(min(tap.available(), CHUNK)):
                return
            n = tap.read(self._buf)
            try:
                self._files[0].write(np.ascontiguousarray(self._buf[:tap.wet, :n].T))
                if len(self._files) > 1:
                    self._files[1].write(np.ascontiguousarray(self._buf[tap.wet:, :n].T))
            except (OSError, RuntimeError) as exc:
                self.stopped_reason = f"write failed after {self.seconds:.1f} s: {exc}"
                return
            self.frames += n

    def _room_for(self, frames: int) -> bool:
        need = frames * self._buf.shape[0] * 4        # FLAC never needs more than raw float32
        free = shutil.disk_usage(self.path.parent).free
        if free - need >= self.settings.reserve_mb * MB:
            return True
        self.stopped_reason = (f"disk nearly full: stopped after {self.seconds:.1f} s with {free / MB:.1f} MB free "
                               f"(reserve {self.settings.reserve_mb:g} MB); {self.path.name} is complete")
        return False

    def _close(self) -> None:
        for handle in self._files:
            try:
                handle.close()
            except (OSError, RuntimeError) as exc:
                log.error("closing %s failed: %s", handle.name, exc)
        self._files = []

    # -- any thread -------------------------------------------------------------------------
    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def status(self) -> dict:
        try:
            free_mb = round(shutil.disk_usage(self.path.parent).free / MB, 1)
        except OSError:
            free_mb = None
        return {"recording": self.running and self.stopped_reason is None, "file": str(self.path),
                "dry_file": str(self.dry_path) if self.dry_path else None, "seconds": round(self.seconds, 1),
                "free_mb": free_mb, "overruns": self.tap.overruns, "stopped": self.stopped_reason}
