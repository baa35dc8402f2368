"""``Waiting``: what ``ravebox run`` does when the box cannot start, instead of exiting.

Why: under systemd an exit is a restart, and a box that cannot start (a model
file that fails to load, a model JACK's rate cannot serve) would restart until
``StartLimitBurst`` and then stay dead, with the reason buried in the journal.
So the service waits: it says why once in the log, tells systemd READY with a
``STATUS=waiting: <reason>`` line (and keeps the watchdog fed: waiting is
healthy), answers ``ravebox status`` on the control socket with
``{"state": "waiting", "reason": ...}``, and tries again when the box file or
one of its model files changes, on SIGHUP or ``ravebox status reload``.

Runs on the main thread (the observers' ``on_tick`` too); the control socket's
``status`` handler reads a plain dict from its own thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from ravebox.errors import ServiceError
from ravebox.service import signals
from ravebox.service.observers import Observer, notify

log = logging.getLogger("ravebox.waiting")


class Waiting:
    """The daemon's stand-in for the observers while the box cannot start."""

    state = "waiting"

    def __init__(self, config: str | Path, reason: str, observers: Sequence[Observer] = (), poll_s: float = 1.0) -> None:
        self.config, self.reason, self.observers, self.poll_s = Path(config), reason, list(observers), poll_s
        self.learning = None
        self._stop = threading.Event()
        self._retry = threading.Event()
        self.exit_code = 0

    # -- what the observers and the control socket ask --------------------------------------------
    def status(self) -> dict:
        return {"state": "waiting", "reason": self.reason, "config": str(self.config),
                "hint": "fix the box or its models; ravebox retries when a file changes, on reload or SIGHUP"}

    def health(self) -> tuple[bool, str]:
        return True, ""

    def reload(self) -> dict:
        self._retry.set()
        return {"ok": True, "message": "retrying the start"}

    def _refuse(self, *_: object) -> dict:
        raise ServiceError(f"waiting, not playing: {self.reason}")

    recall_preset = panic = record = set_param = save_preset = _refuse

    def presets(self) -> dict:
        return {"presets": [], "current": None}

    @property
    def commands(self) -> "Waiting":
        """The live commands (``Daemon.commands``): refused while waiting, answered here."""
        return self

    def debug_hang_worker(self) -> None:
        """No worker to hold while waiting."""

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    # -- the loop ----------------------------------------------------------------------------------
    def wait(self, watched: list[Path]) -> bool:
        """Block until a retry is due (True) or a stop is asked (False)."""
        log.error("cannot start, waiting (retrying when the box or a model file changes, or on reload): %s",
                  self.reason)
        self._install_signals()
        stamps = _stamps(watched)
        notify(self.observers, lambda o: o.on_ready(self))
        try:
            while not self._stop.is_set():
                self._stop.wait(self.poll_s)
                notify(self.observers, lambda o: o.on_tick(self))
                if self._retry.is_set() or _stamps(watched) != stamps:
                    return not self._stop.is_set()
            return False
        finally:
            notify(self.observers, lambda o: o.on_stopping(self))

    def _install_signals(self) -> None:
        signals.install(self.request_stop, lambda *_: self._retry.set())


def watched_files(config: str | Path) -> list[Path]:
    """The box file and every model file it names (those that parse); changes to any of them retry."""
    files = [Path(config)]
    try:
        from ravebox.config.box import load_box

        files += [spec.path for spec in load_box(config).models.values()]
    except Exception:  # noqa: BLE001 -- a box that does not parse is still watched by its own file
        pass
    return files


def _stamps(files: list[Path]) -> tuple[tuple[int, int] | None, ...]:
    out: list[tuple[int, int] | None] = []
    for f in files:
        try:
            st = f.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)
