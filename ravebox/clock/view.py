"""What the rest of ravebox reads of the clock: an immutable line of beats over frames.

Why a line: the clock follower runs on the control thread, while the inference
worker and the JACK process callback need the beat position at frames that lie
ahead of the last tick. A frozen :class:`ClockView` (anchor frame, anchor beat,
beats per frame) answers that for any frame by extrapolation; the follower
publishes a new view by replacing one reference, which readers pick up without
a lock. The follower is responsible for making successive views continuous and
monotonic at the frame where one replaces the other (it slews, never snaps).

A slewing view is two joined segments: from the anchor it runs at
``beats_per_frame`` for ``slew_frames`` frames (catching up a phase error),
then at ``tempo_beats_per_frame`` (the estimated tempo), so that a reader who
extrapolates one view for a long time never runs away with a correction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ClockView:
    """Beat position as ``anchor_beat + (frame - anchor_frame) * beats_per_frame``.

    ``running`` is the transport state: while stopped the beat position holds
    at ``anchor_beat`` (gates and loops then use it as their position).
    ``locked`` says whether an external clock leads and its ticks meet the follower's
    predictions; ``lock`` says more (see :class:`ravebox.clock.follower.Lock`); ``bpm`` is the
    precise internal tempo, ``display_bpm`` the tempo with hysteresis for people.
    Beat 0.0 is the downbeat of bar 1; ``beats_per_bar`` defines bars.
    ``epoch`` counts transport Starts, so loops and patterns can re-trigger.
    ``slew_frames``/``tempo_beats_per_frame`` describe the knee (see the module
    docstring; 0 = a single line). ``gates_open`` asks the gates to open (the
    external clock was lost and the dropout policy is "open").
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
    slew_frames: float = 0.0
    tempo_beats_per_frame: float = 0.0
    gates_open: bool = False
    lock: str = "internal"

    def beat_at(self, frame: int) -> float:
        if not self.running:
            return self.anchor_beat
        d = frame - self.anchor_frame
        if self.slew_frames <= 0.0 or d <= self.slew_frames:
            return self.anchor_beat + d * self.beats_per_frame
        knee = self.anchor_beat + self.slew_frames * self.beats_per_frame
        return knee + (d - self.slew_frames) * self.tempo_beats_per_frame

    def beats_over(self, frames: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`beat_at` (float64)."""
        if not self.running:
            return np.full(frames.shape, self.anchor_beat, dtype=np.float64)
        out = np.empty(frames.shape, dtype=np.float64)
        self.beats_into(out, 0, np.asarray(frames, dtype=np.float64))
        return out

    def beats_into(self, out: np.ndarray, start_frame: int, ramp: np.ndarray) -> None:
        """Write the beat at ``start_frame + ramp[i]`` into ``out[i]``, allocating nothing.

        For the JACK process callback: ``ramp`` is a preallocated float64
        ``arange`` (or any frame offsets), ``out`` a float64 array of the same shape.
        """
        if not self.running:
            out.fill(self.anchor_beat)
            return
        c = float(start_frame - self.anchor_frame)
        np.add(ramp, c, out=out)
        s1, s2, k = self.beats_per_frame, self.tempo_beats_per_frame, self.slew_frames
        if k > 0.0 and s2 > 0.0:
            # b = a + s2*d + (s1 - s2)*min(d, k), computed in place through one buffer
            np.minimum(out, k, out=out)
            out *= (s1 - s2) / s2
            out += ramp
            out += c
            out *= s2
        else:
            out *= s1
        out += self.anchor_beat

    def frame_at_beat(self, beat: float) -> float | None:
        """The (fractional) frame where this view reaches ``beat``; None while stopped.

        Beats before the anchor are extrapolated backwards along the first segment.
        """
        if not self.running or self.beats_per_frame <= 0.0:
            return None
        d = (beat - self.anchor_beat) / self.beats_per_frame
        if self.slew_frames <= 0.0 or d <= self.slew_frames or self.tempo_beats_per_frame <= 0.0:
            return self.anchor_frame + d
        knee = self.anchor_beat + self.slew_frames * self.beats_per_frame
        return self.anchor_frame + self.slew_frames + (beat - knee) / self.tempo_beats_per_frame

    @staticmethod
    def internal(bpm: float, sample_rate: int, frame: int = 0, beat: float = 0.0) -> "ClockView":
        """A free-running clock at ``bpm`` (no external lead)."""
        return ClockView(frame, beat, bpm / 60.0 / sample_rate, True, False, bpm, bpm)
