"""The health watch: is the box making sound, as far as the process can tell?

Healthy means the JACK process callback advances and the inference worker
commits blocks in time, both within the last few seconds. The systemd watchdog
ping is withheld while unhealthy (``service/observers.py``), so a worker stuck
in a model call gets the service restarted; blocks that finish but are every
one late (a model taking seconds per block) count as no progress.

Why its own object: the daemon only asks :meth:`HealthWatch.health`; what
progress means, and how long a stall may last, is decided here.

Threads: :meth:`HealthWatch.update` runs on the main thread about once a
second; :meth:`HealthWatch.health` may be called from any thread (it returns an
immutable tuple set by ``update``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

#: A stall shorter than this (or three engine blocks, if longer) is not yet unhealthy.
STALL_S = 2.0


class Progress(Protocol):
    """What the watch reads from the host (:meth:`ravebox.host.host.Host.progress`)."""

    def progress(self) -> tuple[int, int, float, bool]:
        """``(callback cycles, blocks committed in time, engine block in seconds, connected)``."""
        ...


class HealthWatch:
    """Compares the host's progress counters with the last mark, once a second."""

    def __init__(self, host: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self._clock = clock
        self._mark = (0, 0, clock())
        self._last: tuple[bool, str] = (True, "")

    def restart(self) -> None:
        """Main thread: the box just became ready; the start-up was not a stall."""
        cycles, on_time, _, _ = self.host.progress()
        self._mark = (cycles, on_time, self._clock())
        self._last = (True, "")

    def health(self) -> tuple[bool, str]:
        """Any thread: ``(True, "")`` or ``(False, reason)`` as of the last :meth:`update`."""
        return self._last

    def update(self) -> tuple[bool, str]:
        """Main thread, about once a second: advance the mark if both counters moved, else judge the stall."""
        cycles, on_time, block_s, connected = self.host.progress()
        last_cycles, last_on_time, since = self._mark
        now = self._clock()
        if cycles != last_cycles and on_time != last_on_time:
            self._mark = (cycles, on_time, now)
            self._last = (True, "")
        elif now - since >= max(STALL_S, 3.0 * block_s):
            if not connected:
                reason = "JACK server not connected"
            elif cycles == last_cycles:
                reason = "JACK process callback not advancing"
            else:
                reason = "inference worker made no progress"
            self._last = (False, reason)
        return self._last
