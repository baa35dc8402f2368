"""One 64-bit frame timeline across JACK's 32-bit frame counter, xruns and server restarts.

Why: JACK's ``last_frame_time`` is a ``uint32`` that wraps after 24.8 hours at
48 kHz, and restarts at 0 with a new server. The parameter store, the clock
follower and the rings all index by frame, so ravebox keeps its own frame
counter that only moves forward: unwrapped deltas of JACK's counter within one
server session, and wall-clock time across a reconnect.

Why not simply ``last_frame_time``: JACK2 (asynchronous mode) advances its frame
timer at each driver cycle, so a client whose callback runs late, around an
xrun, reads the *next* cycle's frame time; taken literally that shifts the
stream by a period and then jumps back. So the timeline advances by exactly the
frames processed, and follows JACK's counter only when it has drifted ahead by
``resync_periods`` periods or more (cycles really skipped, or a new session).

Threads: :meth:`Timeline.on_cycle` runs on the JACK process thread;
:meth:`now` on any thread; :meth:`new_session` on the main thread while no
process callback runs.
"""

from __future__ import annotations

import time

MASK32 = 0xFFFFFFFF


class Timeline:
    """Maps each cycle's ``last_frame_time`` to an absolute, monotonic frame."""

    def __init__(self, sample_rate: int, resync_periods: int = 4) -> None:
        self.sample_rate = sample_rate
        self.resync_periods = resync_periods
        self.resyncs = 0
        self.frame: int | None = None   # absolute frame of the latest cycle's start
        self.wall = 0.0                 # time.monotonic() at that cycle
        self._lft: int | None = None
        self._jack = 0
        self._next = 0
        self._resume: int | None = None

    def on_cycle(self, lft: int, n: int) -> int:
        """Process thread: the absolute frame at which this cycle (of ``n`` frames) starts."""
        if self._lft is None:
            frame = self._resume if self._resume is not None else lft
            self._jack = frame
            self._next = frame
        else:
            self._jack += (lft - self._lft) & MASK32      # JACK's own count, unwrapped
            frame = self._next
            if self._jack - frame >= self.resync_periods * n:
                frame = self._jack
                self.resyncs += 1
        self._lft = lft
        self._next = frame + n
        self.frame = frame
        self.wall = time.monotonic()
        return frame

    def new_session(self, sample_rate: int | None = None) -> None:
        """Main thread: the next cycle comes from a new server; continue by wall-clock time."""
        if sample_rate:
            self.sample_rate = sample_rate
        if self.frame is not None:
            self._resume = self.now()
        self._lft = None

    def now(self) -> int:
        """Any thread: the current absolute frame, extrapolated from the latest cycle."""
        if self.frame is None:
            return 0
        return self.frame + int((time.monotonic() - self.wall) * self.sample_rate)
