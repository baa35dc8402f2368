"""One 64-bit frame timeline across JACK's 32-bit frame counter, xruns and server restarts.

Why: JACK's ``last_frame_time`` is a ``uint32`` that wraps after 24.8 hours at
48 kHz, and restarts at 0 with a new server. The parameter store, the clock
follower and the rings all index by frame, so ravebox keeps its own frame
counter that only moves forward: unwrapped deltas of JACK's counter within one
server session, and wall-clock time across a reconnect.

Why not simply ``last_frame_time``: JACK2 (asynchronous mode) advances its frame
timer at every driver cycle, so a callback that runs late, around an xrun,
can read the *next* cycle's frame time, and a later cycle then reads the same
value again. So the timeline follows JACK's (unwrapped) counter forward, which
keeps MIDI stamps on real time when cycles are really skipped (a gap the audio
path fills with silence), but never goes backwards: a repeated or earlier
reading continues from the frames already processed.

Threads: :meth:`Timeline.on_cycle` runs on the JACK process thread;
:meth:`now` on any thread; :meth:`new_session` on the main thread while no
process callback runs.
"""

from __future__ import annotations

import time

MASK32 = 0xFFFFFFFF


class Timeline:
    """Maps each cycle's ``last_frame_time`` to an absolute, monotonic frame."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.skips = 0       # cycles whose frame jumped ahead (JACK skipped us)
        self.repeats = 0     # cycles whose JACK frame was not ahead of the last one (a late read)
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
            if self._jack > frame:
                frame = self._jack
                self.skips += 1
            elif self._jack < frame:
                self.repeats += 1
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
