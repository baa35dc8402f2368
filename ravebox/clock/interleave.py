"""Telling a second MIDI clock merged into the same input from the one being followed, by timing.

Why: JACK merges everything connected to one input, so two clocks on it (a
drum machine and a DAW, or one device reached by two connections) arrive as
one stream at twice the tempo. When they share a tempo, their ticks alternate:
gaps short, long, short, long. White jitter cannot do that: the second
differences of tick times correlate with those two ticks later by about 1/6
for jitter, but by nearly 1 for an alternation. Past ``CORRELATION`` over
``WINDOW`` ticks, with short and long gaps more than an eighth of a period
apart (closer, two clocks look like one at twice the tempo), the ticks that end a short gap are taken as the second clock
and dropped; the follower follows the other one and shows a conflict.

Only asked while more than one source is connected to the input (the host's
label then names no device): one device's timestamps quantised to the JACK
period can alternate too, at some tempos.

Pure; the follower's thread.
"""

from __future__ import annotations

from collections import deque

import numpy as np

WINDOW = 48          # ticks the alternation is measured over
CORRELATION = 0.8    # lag-2 correlation of second differences that means two clocks
FORGET_PAIRS = 4     # pairs of ticks without a second clock before the filter lets go


class SecondClock:
    """Says which ticks belong to a second clock interleaved with the followed one."""

    def __init__(self) -> None:
        self._raw: deque[float] = deque(maxlen=WINDOW + 2)
        self.pair: float | None = None   # period of one clock while two interleave (frames)
        self.dropped = 0
        self._last_drop = 0.0

    def is_second(self, frame: float, several_sources: bool) -> bool:
        """Take a tick; True when it belongs to a second clock (drop it)."""
        raw = self._raw
        prev = raw[-1] if raw else None
        raw.append(float(frame))
        if prev is None:
            return False
        if self.pair is None and not self._detect(several_sources):
            return False
        assert self.pair is not None
        if frame - prev < 0.5 * self.pair:
            self.dropped += 1
            self._last_drop = float(frame)
            return True
        if frame - self._last_drop > FORGET_PAIRS * self.pair:
            self.pair = None  # the second clock stopped (or drifted onto the first's half beat):
            raw.clear()       # measure afresh, from this tick
            raw.append(float(frame))
        return False

    @property
    def detected(self) -> bool:
        return self.pair is not None

    def _detect(self, several_sources: bool) -> bool:
        if not several_sources or len(self._raw) < WINDOW:
            return False
        raw = np.asarray(self._raw)
        d2 = np.diff(raw, 2)
        energy = float(d2 @ d2)
        if energy <= 0.0 or float(d2[:-2] @ d2[2:]) / energy < CORRELATION:
            return False
        gaps = np.diff(raw)[-16:]
        pair = float(np.median(gaps[1:] + gaps[:-1]))  # a short and a long gap: one period
        if float(np.median(np.abs(d2))) < pair / 8:
            return False  # a pattern too small to be a second clock (rounding, a ramp)
        self.pair = pair
        self._last_drop = self._raw[-1]
        return True
