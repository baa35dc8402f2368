"""Slow work off the main thread, its result applied on it: the reload's file reading, MIDI learn's file edit.

Why: the daemon's main thread pings the systemd watchdog (``WatchdogSec=10``) and
applies everything that changes the running box; reading a box and its mapping
can take seconds (a generated mapping of 10,000 rules), so the reading runs on a
short-lived ``ravebox-reload`` thread and only the swap of what was read runs on
the main thread. One preparation at a time, in the order they were asked for, so
a learn's write and a reload's read never interleave.

Threads: :meth:`OffMainThread.submit` any thread; each preparation runs on a
daemon thread ``ravebox-reload``; :meth:`OffMainThread.poll` on the main thread
(every pass of the daemon's main loop) starts the next and runs the apply steps.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("ravebox.reload")


@dataclass
class _Job:
    prepare: Callable[[], Any]
    apply: Callable[[Any], Any]
    future: concurrent.futures.Future
    thread: threading.Thread | None = None
    result: Any = None
    error: BaseException | None = None


class OffMainThread:
    """Preparations on a background thread, one at a time and in order; their apply steps on the main thread."""

    def __init__(self, name: str = "ravebox-reload") -> None:
        self.name = name
        self._jobs: collections.deque[_Job] = collections.deque()
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Any thread: a preparation is waiting, running, or waiting for its apply step."""
        return bool(self._jobs)

    def submit(self, prepare: Callable[[], Any], apply: Callable[[Any], Any]) -> concurrent.futures.Future:
        """Any thread: run ``prepare()`` off the main thread, then ``apply(result)`` on it; the future gets
        ``apply``'s return value (or the exception either raised)."""
        job = _Job(prepare, apply, concurrent.futures.Future())
        with self._lock:
            self._jobs.append(job)
        return job.future

    def poll(self) -> int:
        """Main thread: apply every finished preparation in order, start the next; returns how many applied."""
        applied = 0
        while True:
            with self._lock:
                job = self._jobs[0] if self._jobs else None
            if job is None:
                return applied
            if job.thread is None:
                job.thread = threading.Thread(target=self._prepare, args=(job,), name=self.name, daemon=True)
                job.thread.start()
            if job.thread.is_alive():
                return applied
            with self._lock:
                self._jobs.popleft()
            self._apply(job)
            applied += 1

    @staticmethod
    def _prepare(job: _Job) -> None:
        """Reload thread: the slow half (reading files); nothing it does touches the running box."""
        try:
            job.result = job.prepare()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, reported there
            job.error = exc

    @staticmethod
    def _apply(job: _Job) -> None:
        """Main thread: the quick half (always run, even when nobody waits for the future any more)."""
        if job.error is not None:
            log.error("reload preparation failed: %s: %s", type(job.error).__name__, job.error)
            job.future.set_exception(job.error)
            return
        try:
            job.future.set_result(job.apply(job.result))
        except BaseException as exc:  # noqa: BLE001 - the caller (or its log) gets it; the main loop goes on
            job.future.set_exception(exc)
