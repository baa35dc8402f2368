"""One graph's health record: bad output and lateness, with the thresholds that mute or flag it.

Why apart from the engine: the record is pure bookkeeping (counters, runs in a row,
hysteresis) that the engine consults once per graph and block; the engine decides
what to do with a change (mute, log an event, cut over on a swap).

Threads: the inference worker (or render loop) writes; any thread reads ``status()``.
"""

from __future__ import annotations

import numpy as np

from ravebox.levels import HUGE

#: Blocks in a row with non-finite or huge wet output (beyond the safety stage's clamp) before the graph is muted.
BAD_BLOCKS = 4
#: Blocks in a row slower than real time before a graph is flagged degraded.
LATE_BLOCKS = 4


class GraphHealth:
    """One graph's output and timing record (worker thread writes, any thread reads)."""

    def __init__(self) -> None:
        self.bad_blocks = 0      # blocks with non-finite or huge wet output, ever
        self.bad_run = 0         # ... in a row, up to now
        self.late_blocks = 0     # blocks the graph's models took longer than real time, ever
        self.late_run = 0
        self.ok_run = 0
        self.degraded = False
        self.mutes = 0           # times this graph was muted for a failure
        self.worst_ratio = 0.0   # slowest block / real-time duration

    def checked(self, y: np.ndarray) -> int:
        """Count a bad block (NaN/Inf or beyond :data:`HUGE`); returns the current run of them.

        One pass (the engine's hot path, every graph and block): ``max`` propagates NaN and
        ``NaN <= HUGE`` is false; Inf is beyond HUGE."""
        if y.size == 0 or float(np.abs(y).max()) <= HUGE:
            self.bad_run = 0
        else:
            self.bad_blocks += 1
            self.bad_run += 1
        return self.bad_run

    def timed(self, seconds: float, budget: float) -> str | None:
        """Record one block's time against its real-time ``budget``; the change of state, if any."""
        ratio = seconds / budget if budget > 0 else 0.0
        self.worst_ratio = max(self.worst_ratio, ratio)
        if ratio > 1.0:
            self.late_blocks += 1
            self.late_run, self.ok_run = self.late_run + 1, 0
            if not self.degraded and self.late_run >= LATE_BLOCKS:
                self.degraded = True
                return f"degraded: its models took {ratio:.1f}x real time in {LATE_BLOCKS} blocks in a row"
        else:
            self.ok_run, self.late_run = self.ok_run + 1, 0
            if self.degraded and self.ok_run >= 4 * LATE_BLOCKS:  # hysteresis: no flapping on a busy machine
                self.degraded = False
                return "back in time"
        return None

    def fresh_start(self) -> None:
        """A new model: the old record of lateness and bad output no longer applies."""
        self.bad_run = self.late_run = self.ok_run = 0
        self.degraded = False

    def status(self) -> dict[str, object]:
        return {"degraded": self.degraded, "bad_blocks": self.bad_blocks, "late_blocks": self.late_blocks,
                "mutes": self.mutes, "worst_time_ratio": round(self.worst_ratio, 3)}
