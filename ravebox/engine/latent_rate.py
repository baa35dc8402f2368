"""Causal latent-rate conversion between two latent frame rates.

Why: an encoder (or prior) at one frame rate (``sample_rate / ratio``) feeds a
decoder at another -- another ratio, another sample rate, or both. Frame ``k``
of the target reads the source at position ``p = k * step - delay`` (in source
frames; ``step`` = source frames per target frame, an exact Fraction):
continuous latents are interpolated linearly between ``floor(p)`` and
``floor(p) + 1``; discrete codes (codebook indices) are held, ``floor(p)``,
never interpolated. ``delay`` keeps the reads causal: the engine computes the
smallest delay for which every read lands on a frame the source has already
produced (:func:`causal_delay`). Positions before the first source frame read
zeros. Equal rates with no delay pass frames through unchanged.

All position arithmetic is on integers (numerator over a common denominator),
so nothing drifts over an hour of frames.

Thread: the inference worker (live) or the render loop; pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np


class LatentRateConverter:
    """Source frames pushed in order -> target frames pulled in order."""

    def __init__(self, dims: int, step: Fraction, delay: Fraction = Fraction(0), hold: bool = False) -> None:
        if step <= 0 or delay < 0:
            raise ValueError(f"step must be > 0 and delay >= 0, got {step}, {delay}")
        self.dims, self.step, self.delay, self.hold = int(dims), Fraction(step), Fraction(delay), bool(hold)
        self.identity = self.step == 1 and self.delay == 0
        den = self.step.denominator * self.delay.denominator
        self._den = den
        self._step_num = self.step.numerator * (den // self.step.denominator)
        self._delay_num = self.delay.numerator * (den // self.delay.denominator)
        self.reset()

    def reset(self) -> None:
        self.pulled = 0            # target frames given out in total
        self.pushed = 0            # source frames taken in total
        self.late = 0              # reads past the newest source frame (held; expected 0)
        self._base = 0             # source index of self._frames[:, 0]
        self._frames = np.zeros((self.dims, 0), dtype=np.float32)
        self._queue: list[np.ndarray] = []
        self._steps = np.zeros(0, dtype=np.int64)   # j * step numerator, j = 0 .. (cached)

    def start_at(self, pushed: int, pulled: int) -> None:
        """Join a stream mid-way: ``pushed`` source frames already went by, ``pulled`` target frames were
        taken (a model swapped in). Reads before the first frame pushed from now on read that frame."""
        self.reset()
        self.pushed = self._base = int(pushed)
        self.pulled = int(pulled)

    def push(self, z: np.ndarray) -> None:
        """Append ``(dims, m)`` source frames."""
        if self.identity:
            self._queue.append(z)
        elif z.shape[1]:
            self._frames = np.concatenate([self._frames, np.asarray(z, dtype=np.float32)], axis=1)
        self.pushed += z.shape[1]

    def pull(self, k: int) -> np.ndarray:
        """The next ``k`` target frames, ``(dims, k)`` float32."""
        if self.identity:
            return self._pull_identity(k)
        if len(self._steps) < k:
            self._steps = np.arange(k, dtype=np.int64) * self._step_num
        num = self._steps[:k] + (self.pulled * self._step_num - self._delay_num)
        index = num // self._den                       # floor, also for negative positions
        self.pulled += k
        if not k:
            return np.zeros((self.dims, 0), np.float32)
        first, last = int(index[0]), int(index[-1])
        reach = last if self.hold else last + 1        # the newest source frame these reads touch
        if first >= self._base and reach < self.pushed:
            # the steady state, after the first frames: every read in range, no clipping, no zeros
            local = index - self._base
            out = self._frames[:, local]
            if not self.hold:
                frac = ((num - index * self._den) / self._den).astype(np.float32)
                out += frac * (self._frames[:, local + 1] - out)
        else:
            out = self._read(index)
            if not self.hold:
                frac = ((num - index * self._den) / self._den).astype(np.float32)
                nxt = self._read(index + 1, interpolating=True)
                out = (out + frac * (nxt - out)).astype(np.float32, copy=False)
        self._forget(last)
        return out.astype(np.float32, copy=False)

    def _read(self, index: np.ndarray, interpolating: bool = False) -> np.ndarray:
        newest = self.pushed - 1
        if not interpolating:
            self.late += int(np.count_nonzero(index > newest))
        clipped = np.minimum(index, newest) - self._base
        out = self._frames[:, np.clip(clipped, 0, max(self._frames.shape[1] - 1, 0))] if self._frames.shape[1] \
            else np.zeros((self.dims, len(index)), np.float32)
        return np.where(index >= 0, out, np.float32(0.0))

    def _forget(self, last_read: int) -> None:
        """Drop source frames no later read can need (reads only move forward)."""
        drop = min(last_read, self.pushed - 1) - self._base
        if drop > 0:
            self._frames = self._frames[:, drop:]
            self._base += drop

    def _pull_identity(self, k: int) -> np.ndarray:
        queue = self._queue
        if len(queue) == 1 and queue[0].shape[1] == k:   # the steady state: this block's frames, as pushed
            self.pulled += k
            return queue.pop()
        parts, have = [], 0
        while have < k and self._queue:
            z = self._queue[0]
            take = min(k - have, z.shape[1])
            parts.append(z[:, :take])
            if take == z.shape[1]:
                self._queue.pop(0)
            else:
                self._queue[0] = z[:, take:]
            have += take
        if have < k:
            self.late += k - have
            parts.append(np.zeros((self.dims, k - have), np.float32))
        self.pulled += k
        if not parts:   # k == 0
            return np.zeros((self.dims, 0), np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def causal_delay(available: Callable[[np.ndarray], np.ndarray], needed: Callable[[np.ndarray], np.ndarray], step: Fraction,
                 samples: int) -> Fraction:
    """Smallest delay (source frames) so that every read of ``needed`` frames is available.

    ``available(N)`` / ``needed(N)``: source frames produced / target frames pulled in
    total after the ``N``-th call (numpy int arrays over ``N = 1..samples``). A read at
    ``(K-1) * step - delay`` may touch ``floor`` + 1, so it must not exceed ``E - 1``.
    """
    calls = np.arange(1, samples + 1, dtype=np.int64)
    e, k = available(calls), needed(calls)
    # need: (k - 1) * step - delay <= e - 1   for every call with k > 0
    mask = k > 0
    if not mask.any():
        return Fraction(0)
    gap = (k[mask] - 1) * step.numerator - (e[mask] - 1) * step.denominator
    worst = int(gap.max())
    return max(Fraction(0), Fraction(worst, step.denominator))
