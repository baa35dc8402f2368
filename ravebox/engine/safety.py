"""The always-on safety stage: NaN/Inf scrub, DC blocker, brick-wall limiter.

Why vectorised closed forms instead of per-sample loops: this runs inside the
JACK process callback (and the render loop), must not allocate in steady
state, and Python cannot afford a loop per sample. Both recursive filters
are rewritten so numpy ufuncs with ``out=`` compute them exactly:

* DC blocker ``y[n] = x[n] - x[n-1] + R*y[n-1]`` becomes, over a chunk,
  ``y[n] = R**n * (R*y[-1] + cumsum(R**-m * d[m]))``; chunks are at most
  :data:`CHUNK` samples so ``R**-m`` stays small (below e**1 at 5 Hz).
* The limiter's gain envelope (instant attack, linear release of ``step`` per
  sample) is ``env[n] = min(1, env[-1] + (n+1)*step, min_{m<=n} req[m] + (n-m)*step)``,
  a running minimum: ``minimum.accumulate(req - n*step) + n*step``.

A final clip to the ceiling makes "never above the ceiling" hold by
construction, whatever the envelope did. Thread: whoever calls the output
stage (JACK process thread live, the render loop offline).
"""

from __future__ import annotations

import math

import numpy as np

from ravebox.levels import HUGE

CHUNK = 1024


def ceiling_linear(ceiling_db: float) -> float:
    """The ceiling as a float64 whose float32 rounding is not above ``10**(dB/20)``."""
    exact = 10.0 ** (ceiling_db / 20.0)
    as32 = np.float32(exact)
    if float(as32) > exact:
        as32 = np.nextafter(as32, np.float32(0.0))
    return float(as32)


class DCBlocker:
    """One-pole DC blocker per channel (cutoff ``dc_hz``), state carried across calls."""

    def __init__(self, channels: int, sample_rate: int, dc_hz: float) -> None:
        self.r = 1.0 - 2.0 * math.pi * dc_hz / sample_rate
        n = np.arange(CHUNK, dtype=np.float64)
        self._pow = self.r ** n                      # R**n
        self._inv = self.r ** -n                     # R**-n
        self._x1 = np.zeros((channels, 1))           # last input sample
        self._y1 = np.zeros((channels, 1))           # last output sample
        self._d = np.empty((channels, CHUNK))

    def process(self, x: np.ndarray) -> None:
        """Filter ``x`` (channels, n) in place."""
        for start in range(0, x.shape[1], CHUNK):
            self._chunk(x[:, start:start + CHUNK])

    def _chunk(self, x: np.ndarray) -> None:
        n = x.shape[1]
        d = self._d[:, :n]
        np.subtract(x[:, :1], self._x1, out=d[:, :1])
        np.subtract(x[:, 1:], x[:, :-1], out=d[:, 1:])
        self._x1[:, 0] = x[:, n - 1]
        np.multiply(d, self._inv[:n], out=d)
        np.cumsum(d, axis=1, out=d)
        np.multiply(self._y1, self.r, out=self._y1)
        np.add(d, self._y1, out=d)
        np.multiply(d, self._pow[:n], out=x)
        self._y1[:, 0] = x[:, n - 1]

    def reset(self) -> None:
        self._x1.fill(0.0)
        self._y1.fill(0.0)


class Limiter:
    """Channel-linked brick-wall limiter: instant attack, linear release, hard clip at the ceiling."""

    def __init__(self, channels: int, sample_rate: int, ceiling_db: float, release_ms: float,
                 max_block: int) -> None:
        self.ceiling = ceiling_linear(ceiling_db)
        self.step = 1.0 / max(1.0, release_ms * sample_rate / 1000.0)
        self._ramp = np.arange(max_block, dtype=np.float64) * self.step
        # at rest (gain 1, every sample at or below the ceiling) the envelope computed below is
        # min((1 - ramp) + ramp, 1): exactly 1 for every release time tried, checked here once
        self._rest_is_unity = bool((np.minimum((1.0 - self._ramp) + self._ramp, 1.0) == 1.0).all())
        self._abs = np.empty((channels, max_block))
        self._env = np.empty(max_block)
        self._tmp = np.empty(max_block)
        self.gain = 1.0               # envelope at the end of the last block
        self.limited_samples = 0      # samples with gain reduction
        self.min_gain = 1.0           # deepest gain reduction seen

    def process(self, x: np.ndarray) -> None:
        """Limit ``x`` (channels, n) in place; afterwards ``|x| <= ceiling`` everywhere.

        A block at or below the ceiling while the envelope is at rest changes nothing (the
        envelope below is exactly 1 there, see ``_rest_is_unity``): two numpy calls instead of
        fifteen, which is most blocks, in the JACK process callback."""
        n = x.shape[1]
        mag = self._abs[:, :n]
        np.abs(x, out=mag)
        if self.gain == 1.0 and self._rest_is_unity and mag.max() <= self.ceiling:   # NaN: not <=
            return
        env, tmp, ramp = self._env[:n], self._tmp[:n], self._ramp[:n]
        np.max(mag, axis=0, out=env)
        np.maximum(env, self.ceiling, out=env)
        np.divide(self.ceiling, env, out=env)          # required gain, <= 1
        np.subtract(env, ramp, out=env)
        np.minimum.accumulate(env, out=env)
        np.add(env, ramp, out=env)
        np.add(ramp, self.gain + self.step, out=tmp)   # release from the previous block
        np.minimum(env, tmp, out=env)
        np.minimum(env, 1.0, out=env)
        self._count(env)
        np.multiply(x, env, out=x)
        np.clip(x, -self.ceiling, self.ceiling, out=x)

    def _count(self, env: np.ndarray) -> None:
        self.gain = float(env[-1])
        low = float(env.min())
        if low < 1.0:
            self.limited_samples += int(np.count_nonzero(env < 1.0))
            self.min_gain = min(self.min_gain, low)


class Scrubber:
    """Replaces NaN/Inf by 0 and clamps huge values to ±:data:`HUGE`, counting both."""

    def __init__(self, channels: int, max_block: int) -> None:
        self._ok = np.empty((channels, max_block), dtype=bool)
        self._bad = np.empty((channels, max_block), dtype=bool)
        self._abs = np.empty((channels, max_block))
        self.nonfinite = 0
        self.clamped = 0

    def process(self, x: np.ndarray) -> None:
        """Scrub ``x`` (channels, n) in place."""
        n = x.shape[1]
        ok, bad, mag = self._ok[:, :n], self._bad[:, :n], self._abs[:, :n]
        np.abs(x, out=mag)
        if mag.max() <= HUGE:   # NaN is not <= anything: a clean block costs two numpy calls
            return
        np.isfinite(x, out=ok)
        good = int(np.count_nonzero(ok))
        if good != ok.size:
            self.nonfinite += ok.size - good
            np.logical_not(ok, out=bad)
            np.copyto(x, 0.0, where=bad)
        np.abs(x, out=mag)
        np.greater(mag, HUGE, out=bad)
        huge = int(np.count_nonzero(bad))
        if huge:
            self.clamped += huge
            np.clip(x, -HUGE, HUGE, out=x)
