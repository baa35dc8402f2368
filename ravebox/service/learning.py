"""MIDI learn in the running daemon: arm a capture, write the mapping file, hot-reload it.

The flow, and which thread does what:

1. ``ravebox status learn TARGET`` reaches :meth:`LearnService.request` on a
   control-socket thread. It checks the target, puts a fresh
   :class:`~ravebox.mapping.learn.LearnCapture` on the control loop (one
   reference assignment) and waits for it, up to ``timeout_s``.
2. The **control thread** offers every controller event to the capture before
   the mapping (so the teaching move does not also play) until one complete
   source is seen.
3. The **main thread** (:meth:`poll`, every pass of the daemon's main loop,
   about every 20 ms) sees the result and hands the file work to ``run``
   (the daemon's :class:`~ravebox.service.offmain.OffMainThread`): on the
   ``ravebox-reload`` thread :func:`~ravebox.mapping.learnfile.learn_into`
   edits the mapping file (layout kept, validated, atomic); back on the main
   thread the validated mapping is swapped in (no second read of the file) and
   the waiting socket thread is woken with the outcome. So the file is written
   and live a few tens of ms after the move, and a huge mapping never holds
   up the main loop (which feeds the watchdog).

The file is parsed once per learn: the running mapping stands for the file as
it is when the file has not changed since it was loaded (else the file is read
first), tomlkit reads it to edit it, and the edited text is validated once --
that validated mapping is what goes live.

Already mapped: the outcome says so and nothing is written; the capture is kept
for ``PENDING_S`` so that ``learn TARGET --replace`` (or ``--add``) applies it
without moving the control again. ``learn --cancel`` (any thread) ends a
waiting learn. One learn at a time: a second request cancels the first.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

from ravebox.errors import ConfigError, ServiceError
from ravebox.mapping.learn import LearnCapture, LearnedSource
from ravebox.mapping.learnfile import MODES, LearnOutcome, LearnTarget, learn_into
from ravebox.mapping.model import Mapping
from ravebox.mapping.reloader import LoadedMapping, MappingReloader, Reload

log = logging.getLogger("ravebox.learn")

PENDING_S = 120.0
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 300.0


@dataclass
class _Learn:
    capture: LearnCapture
    target: LearnTarget
    mode: str
    outcome: LearnOutcome | None = None
    finished: threading.Event = None  # type: ignore[assignment]
    writing: bool = False          # the file work was handed to ``run``
    button: tuple | None = None    # armed by a learn button: its (kind, number, channel), never learned
    deadline: float | None = None  # a button's learn ends unlearned at this monotonic time

    def __post_init__(self) -> None:
        self.finished = threading.Event()


Run = Callable[[Callable[[], Any], Callable[[Any], object]], object]   # (prepare, apply(prepare's result))


def run_here(prepare: Callable[[], object], apply: Callable[[object], object]) -> object:
    """A ``run`` for tools and benchmarks: both halves at once on the calling thread."""
    return apply(prepare())


class LearnService:
    """Owns the one learn in progress, learning into ``reloader``'s active mapping file.

    ``arm(capture)`` installs a capture on the control loop (None removes it); ``run(prepare, apply)``
    runs ``prepare`` off the main thread and then ``apply(result)`` on it; ``on_reload`` hears each
    swap (the daemon logs it and shows it in status).
    """

    def __init__(self, reloader: MappingReloader, arm: Callable[[LearnCapture | None], None], run: Run = run_here,
                 on_reload: Callable[[Reload], None] = lambda result: None, pair_window: int = 480) -> None:
        self._reloader = reloader
        self._arm = arm
        self._run = run
        self._on_reload = on_reload
        self._pair_window = pair_window
        self._current: _Learn | None = None
        self._pending: tuple[LearnedSource, LearnTarget, float] | None = None   # a conflict kept for --replace/--add
        self._lock = threading.Lock()
        self.last: dict | None = None             # the last outcome, for status

    # -- socket threads -------------------------------------------------------------------
    def request(self, target: LearnTarget, mode: str = "ask", timeout_s: float = DEFAULT_TIMEOUT_S) -> dict:
        """Socket thread: learn the next control for ``target``; blocks until learned, cancelled or timed out."""
        target.check()
        if mode not in MODES:
            raise ServiceError(f"learn mode must be one of {', '.join(MODES)}")
        self._writable_mapping()
        timeout_s = min(max(float(timeout_s), 0.1), MAX_TIMEOUT_S)
        learn = _Learn(LearnCapture(self._pair_window), target, mode)
        pending = self._pending
        if pending is not None and mode != "ask" and pending[1] == target and time.monotonic() - pending[2] < PENDING_S:
            learn.capture.result = pending[0]          # the move already made: apply it with the choice
            learn.capture.done.set()
        with self._lock:
            if self._current is not None:
                self._current.capture.cancel()
            self._current = learn
        if not learn.capture.done.is_set():
            self._arm(learn.capture)
        timed_out = not learn.finished.wait(timeout_s)
        if timed_out:
            if learn.capture.result is None:
                learn.capture.cancel()
            if not learn.finished.wait(5.0):    # a captured move is being written: let the main thread finish
                self._finish(learn, None)
        outcome = learn.outcome
        if outcome is None:
            why = f"no controller message within {timeout_s:g} s" if timed_out else "cancelled"
            return {"ok": False, "error": f"learn {target.describe()}: {why}"}
        return {"ok": outcome.ok, "message": outcome.message, "conflict": outcome.conflict,
                **({} if outcome.ok or outcome.conflict else {"error": outcome.message})}

    def cancel(self) -> dict:
        """Any thread: cancel the learn in progress (and forget a kept conflict)."""
        self._pending = None
        with self._lock:
            learn = self._current
        if learn is None:
            return {"ok": True, "message": "no learn in progress"}
        learn.capture.cancel()
        return {"ok": True, "message": f"learn {learn.target.describe()} cancelled"}

    # -- main thread ----------------------------------------------------------------------
    def arm_button(self, target: LearnTarget, button: tuple, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        """Main thread: a learn button was pressed: the next control moved drives ``target`` (``replace``: a
        player at the box cannot answer "replace or add?"); pressed again while it waits, the learn ends."""
        with self._lock:
            current = self._current
        if current is not None and current.button == button and not current.capture.done.is_set():
            current.capture.cancel()
            log.info("learn %s cancelled by its button", current.target.describe())
            return
        try:
            target.check()
            self._writable_mapping()
        except (ConfigError, ServiceError) as exc:
            self.last = {"ok": False, "message": str(exc), "at": time.strftime("%H:%M:%S")}
            log.warning("learn button: %s", exc)
            return
        learn = _Learn(LearnCapture(self._pair_window, ignore=button), target, "replace", button=button,
                       deadline=time.monotonic() + timeout_s)
        with self._lock:
            previous, self._current = self._current, learn
        if previous is not None:
            previous.capture.cancel()
            self._finish(previous, None)
        self._arm(learn.capture)
        log.info("learn %s: move a control now (learn button; press it again to cancel)", target.describe())

    def poll(self) -> None:
        """Main thread: arm what learn buttons asked for; once the capture has a result, have the file
        written and the mapping swapped."""
        requests = self._reloader.runtime.learn_requests
        while requests:
            key, button = requests.popleft()
            self.arm_button(LearnTarget(key.name, key.graph, key.dim), button)
        learn = self._current
        if learn is not None and learn.deadline is not None and time.monotonic() > learn.deadline \
                and not learn.capture.done.is_set():
            learn.capture.cancel()
            log.warning("learn %s: no control moved within %g s", learn.target.describe(), DEFAULT_TIMEOUT_S)
        if learn is None or learn.writing or not learn.capture.done.is_set():
            return
        source = learn.capture.result
        if source is None:                          # cancelled
            self._finish(learn, None)
            return
        learn.writing = True
        reloader = self._reloader
        current = reloader.runtime.mapping if not reloader.changed() else None   # the file as it is: no re-read
        self._run(lambda: self._write(learn, source, current), lambda result: self._written(learn, source, result))

    def _write(self, learn: _Learn, source: LearnedSource,
               current: Mapping | None) -> tuple[LearnOutcome, LoadedMapping | None]:
        """Reload thread (``run``): edit, validate and write the file; nothing live changes here."""
        try:
            path = self._writable_mapping()
            outcome = learn_into(path, source, learn.target, learn.mode, current)
        except (ConfigError, ServiceError, OSError) as exc:
            return LearnOutcome(False, f"learn {learn.target.describe()} not written: {exc}"), None
        except Exception as exc:  # noqa: BLE001 - any failure is an answer, never a requester left waiting
            return LearnOutcome(False, f"learn {learn.target.describe()} not written: {type(exc).__name__}: {exc}"), None
        if not outcome.ok or outcome.mapping is None:
            return outcome, None
        return outcome, LoadedMapping(path, self._reloader.signature(path, outcome.mapping), outcome.mapping)

    def _written(self, learn: _Learn, source: LearnedSource, result: tuple[LearnOutcome, LoadedMapping | None]) -> None:
        """Main thread: swap the learned mapping in, remember a conflict for --replace/--add, wake the requester."""
        outcome, loaded = result
        if loaded is not None:
            try:
                reload = self._reloader.install(loaded)
            except Exception as exc:  # noqa: BLE001 - the old mapping keeps playing; the requester hears why
                reload = Reload(False, f"{type(exc).__name__}: {exc}")
            self._on_reload(reload)
            if not reload.ok:
                outcome = LearnOutcome(False, f"{outcome.message}, but the reload failed: {reload.message}")
            self._pending = None
        elif outcome.conflict:
            self._pending = (source, learn.target, time.monotonic())
        (log.info if outcome.ok else log.warning)("%s", outcome.message)
        self._finish(learn, outcome)

    def _finish(self, learn: _Learn, outcome: LearnOutcome | None) -> None:
        with self._lock:
            if self._current is learn:
                self._current = None
                self._arm(None)
        learn.outcome = outcome
        if outcome is not None:
            self.last = {"ok": outcome.ok, "message": outcome.message, "at": time.strftime("%H:%M:%S")}
        learn.finished.set()

    # -- any thread -------------------------------------------------------------------------
    def status(self) -> dict:
        learn = self._current
        return {"learning": learn.target.describe() if learn is not None else None, "last": self.last}

    def _writable_mapping(self) -> Path:
        path = self._reloader.path
        if _is_bundled(path):
            raise ServiceError(f"learn: the active mapping is the bundled '{path.stem}' ({path}); copy it next to "
                               "the box config, set [mapping] file to the copy, and learn into that")
        if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise ServiceError(f"learn: cannot write the active mapping {path} (read-only for this user)")
        return path


def _is_bundled(path: Path) -> bool:
    from ravebox.mapping.bundled import bundled_path

    try:
        return bundled_path(path.stem).resolve() == path.resolve()
    except FileNotFoundError:
        return False
