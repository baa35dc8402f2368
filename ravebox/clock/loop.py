"""Beat-locked loop timing: where a loop starts and where a frame falls inside it.

Why a separate helper: the engine records and replays latent frames; it needs
only the clock side answered (which beat the loop starts on, which pass and
which offset a frame is at), and those answers must follow the clock phase,
never a frame counter, so the loop stays locked through tempo changes.

Rules: a loop is armed at a frame and starts on the next beat or bar boundary
at or after that frame's beat (``align``); it repeats every ``length_beats``.
A transport Start (a new ``ClockView.epoch``) re-triggers it at beat 0, the new
downbeat of bar 1.

Pure and immutable; used on the inference worker thread (or the render loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ravebox.clock.view import ClockView

ALIGNS = ("beat", "bar")


@dataclass(frozen=True, slots=True)
class LoopTiming:
    """A loop of ``length_beats`` starting at ``start_beat``, armed in clock ``epoch``."""

    length_beats: float
    start_beat: float
    epoch: int

    @staticmethod
    def arm(clock: ClockView, frame: int, length_beats: float, align: str = "bar") -> "LoopTiming":
        """Arm at ``frame``: the loop starts on the next ``align`` boundary at or after it."""
        if length_beats <= 0.0 or align not in ALIGNS:
            raise ValueError(f"loop needs length_beats > 0 and align in {ALIGNS}")
        unit = float(clock.beats_per_bar) if align == "bar" else 1.0
        beat = clock.beat_at(frame)
        start = math.ceil(beat / unit - 1e-9) * unit
        return LoopTiming(float(length_beats), start, clock.epoch)

    def follow(self, clock: ClockView) -> "LoopTiming":
        """This loop as seen by ``clock``: re-triggered at beat 0 when a Start began a new epoch."""
        if clock.epoch == self.epoch:
            return self
        return replace(self, start_beat=0.0, epoch=clock.epoch)

    def position(self, beat: float) -> tuple[int, float]:
        """(pass, offset in beats) at ``beat``; pass -1 means the loop has not started yet."""
        rel = beat - self.start_beat
        if rel < 0.0:
            return -1, rel
        n = math.floor(rel / self.length_beats)
        return n, rel - n * self.length_beats

    def positions(self, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`position`: (passes as int64, offsets in beats)."""
        rel = np.asarray(beats, dtype=np.float64) - self.start_beat
        n = np.floor(rel / self.length_beats)
        offset = rel - n * self.length_beats
        n = np.where(rel < 0.0, -1, n).astype(np.int64)
        return n, np.where(rel < 0.0, rel, offset)

    def start_frame(self, clock: ClockView, loop_pass: int = 0) -> float | None:
        """The frame where pass ``loop_pass`` begins, by ``clock``'s line; None while stopped."""
        return clock.frame_at_beat(self.start_beat + loop_pass * self.length_beats)
