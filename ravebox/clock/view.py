"""What the rest of ravebox reads of the clock: an immutable line of beats over frames.

Why a line: the clock follower runs on the control thread, while the inference
worker and the JACK process callback need the beat position at frames that lie
ahead of the last tick. A frozen :class:`ClockView` (anchor frame, anchor beat,
beats per frame) answers that for any frame by extrapolation; the follower
publishes a new view by replacing one reference, which readers pick up without
a lock. The follower is responsible for making successive views continuous and
monotonic at the frame where one replaces the other (it slews, never snaps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ClockView:
    """Beat position as ``anchor_beat + (frame - anchor_frame) * beats_per_frame``.

    ``running`` is the transport state: while stopped the beat position holds
    at ``anchor_beat`` (gates and loops then use it as their position).
    ``locked`` says whether an external clock currently leads; ``bpm`` is the
    precise internal tempo, ``display_bpm`` the tempo with hysteresis for people.
    Beat 0.0 is the downbeat of bar 1; ``beats_per_bar`` defines bars.
    ``epoch`` counts transport Starts, so loops and patterns can re-trigger.
    """

    anchor_frame: int
    anchor_beat: float
    beats_per_frame: float
    running: bool = True
    locked: bool = False
    bpm: float = 120.0
    display_bpm: float = 120.0
    beats_per_bar: int = 4
    epoch: int = 0

    def beat_at(self, frame: int) -> float:
        if not self.running:
            return self.anchor_beat
        return self.anchor_beat + (frame - self.anchor_frame) * self.beats_per_frame

    def beats_over(self, frames: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`beat_at` (float64)."""
        if not self.running:
            return np.full(frames.shape, self.anchor_beat, dtype=np.float64)
        return self.anchor_beat + (frames - self.anchor_frame) * self.beats_per_frame

    @staticmethod
    def internal(bpm: float, sample_rate: int, frame: int = 0, beat: float = 0.0) -> "ClockView":
        """A free-running clock at ``bpm`` (no external lead)."""
        return ClockView(frame, beat, bpm / 60.0 / sample_rate, True, False, bpm, bpm)
