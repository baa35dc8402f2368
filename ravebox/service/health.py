"""The health watch: is the box making progress, as far as the process can tell?

Three states, judged once a second over a stall window (``STALL_S``, or three
engine blocks if longer):

* healthy, ``(True, "")``: the JACK process callback advances and the inference
  worker commits blocks in time;
* degraded, ``(True, "degraded: ...")``: the callback advances and the worker
  finishes blocks, but none in time (an overloaded machine, a model too big for
  the block: the box plays, mostly its dry fallback; each graph's ``degraded``
  flag in status says which). The systemd watchdog is still fed: a restart would
  only add a model load to the overload;
* unhealthy, ``(False, reason)``: the box as a whole makes no progress -- the
  callback stopped, the worker finished no block, or its last block took longer
  than the whole stall window (a model hanging seconds per block, whose rare
  finished blocks must not read as progress). The watchdog ping is withheld
  (``service/observers.py``), so systemd restarts the service.

Why its own object: the daemon only asks :meth:`HealthWatch.health`; what
progress means, and how long a stall may last, is decided here. Nothing here
reads the models' start-up timing (that sizes the latency headroom, ``host/headroom.py``):
a start-up measured on a loaded machine can read ten times the block and must
not turn a playing box unhealthy.

Threads: :meth:`HealthWatch.update` runs on the main thread about once a
second; :meth:`HealthWatch.health` may be called from any thread (it returns an
immutable tuple set by ``update``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ravebox.host.worker import Progress

#: A stall shorter than this (or three engine blocks, if longer) is not yet unhealthy.
STALL_S = 2.0
#: The reason while blocks finish but none in time (fixed, so the systemd status line does not churn).
DEGRADED = "degraded: every block late, the worker cannot keep up (the dry fallback plays)"


class ProgressSource(Protocol):
    """What the watch reads from the host (:meth:`ravebox.host.host.Host.progress`)."""

    def progress(self) -> Progress:
        ...


class HealthWatch:
    """Compares the host's progress counters with the last marks, once a second."""

    def __init__(self, host: ProgressSource, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self._clock = clock
        now = clock()
        self._moved = (0, 0, now)      # callback cycles and finished blocks, when both last moved
        self._in_time = (0, now)       # blocks in time, when it last moved
        self._last: tuple[bool, str] = (True, "")

    def restart(self) -> None:
        """Main thread: the box just became ready; the start-up was not a stall."""
        p = self.host.progress()
        now = self._clock()
        self._moved = (p.cycles, p.finished, now)
        self._in_time = (p.on_time, now)
        self._last = (True, "")

    def health(self) -> tuple[bool, str]:
        """Any thread: ``(True, "")``, ``(True, "degraded: ...")`` or ``(False, reason)`` as of the last update."""
        return self._last

    def update(self) -> tuple[bool, str]:
        """Main thread, about once a second: advance the marks that moved, then judge what stalled."""
        p = self.host.progress()
        now = self._clock()
        window = max(STALL_S, 3.0 * p.block_s)
        cycles, finished, since = self._moved
        if p.cycles != cycles and p.finished != finished:
            self._moved = (p.cycles, p.finished, now)
        if p.on_time != self._in_time[0]:
            self._in_time = (p.on_time, now)
        stalled = now - self._moved[2] >= window
        if stalled and not p.connected:
            self._last = (False, "JACK server not connected")
        elif stalled and p.cycles == cycles:
            self._last = (False, "JACK process callback not advancing")
        elif stalled:
            self._last = (False, "inference worker made no progress")
        elif p.last_block_s >= window:
            self._last = (False, f"inference worker took {p.last_block_s:.1f} s for one "
                                 f"{1e3 * p.block_s:.0f} ms block (a hung model)")
        elif now - self._in_time[1] >= window:
            self._last = (True, DEGRADED)
        else:
            self._last = (True, "")
        return self._last
