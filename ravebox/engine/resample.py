"""Streaming band-limited sample-rate conversion with exact sample counts.

Why a wrapper around libsamplerate (the ``samplerate`` package, medium sinc):
the library keeps the fractional phase and the filter state between calls, but
how many samples one call returns varies with its look-ahead. The engine needs
counts it can plan with, so :class:`StreamResampler` promises that after
``T`` input samples in total exactly ``floor(T * rate_out / rate_in)`` output
samples have come out -- integer arithmetic on the running totals, so nothing
drifts however long it runs. It pays for that with a fixed ``latency`` of
output samples (silence at the start) that covers the library's look-ahead;
that latency is counted into what the engine reports. The choice of library
and converter is measured in ``bench/resample_choice.py`` (docs/rates.md):
what is heard (a decoder's output back to the box rate) goes through the
medium sinc (flat to 19 kHz at 44.1 kHz); what an encoder hears goes through
the fastest sinc (flat to 16 kHz, -88 dB alias, 2.4x cheaper, 0.45 ms): the
encoder's latents barely depend on the top octave's last kilohertz, and its
input is the larger share of conversion's CPU.

Equal rates pass through untouched (no copy, no latency).

Thread: the inference worker (live) or the render loop, like the graph that
owns it; construction on the loading thread.
"""

from __future__ import annotations

from math import gcd
from typing import Any

import numpy as np

CONVERTER = "sinc_medium"               # a decoder's output: what the audience hears
ANALYSIS_CONVERTER = "sinc_fastest"     # the box's input into an encoder: what the model hears
_PROBE_CHUNKS = (3, 64, 509)  # input chunk sizes whose worst shortfall sets the latency
_PROBE_SAMPLES = 8192


def _library_resampler(channels: int, converter: str) -> Any:
    import samplerate

    return samplerate.Resampler(converter, channels=channels)


class StreamResampler:
    """``(channels, n)`` float32 at ``rate_in`` -> ``(channels, m)`` at ``rate_out``, exact counts."""

    def __init__(self, rate_in: int, rate_out: int, channels: int, converter: str | None = None) -> None:
        if rate_in <= 0 or rate_out <= 0 or channels <= 0:
            raise ValueError(f"rates and channels must be positive, got {rate_in}, {rate_out}, {channels}")
        g = gcd(int(rate_in), int(rate_out))
        self.rate_in, self.rate_out, self.channels = int(rate_in), int(rate_out), int(channels)
        self._num, self._den = self.rate_out // g, self.rate_in // g
        self.identity = self._num == self._den
        self.ratio = self.rate_out / self.rate_in
        self.converter = converter = converter or CONVERTER
        self.consumed = 0   # input samples taken in total
        self.emitted = 0    # output samples given out in total
        self.short = 0      # output samples the library owed and did not deliver (padded; expected 0)
        self.latency = 0 if self.identity else _latency_for(self.ratio, converter)
        self._lib: Any = None if self.identity else _library_resampler(channels, converter)   # samplerate.Resampler
        self._fifo = np.zeros((channels, 0), dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """A fresh stream: counters to zero, the library's filter cleared, the latency re-primed."""
        self.consumed = self.emitted = self.short = 0
        self._stale = False
        if not self.identity:
            self._lib.reset()
            self._fifo = np.zeros((self.channels, self.latency), dtype=np.float32)

    def skip(self, samples: int) -> int:
        """Count ``samples`` of input as heard without converting them (a decoder not playing);
        returns the output samples now due, which the caller takes as silence. The library's
        filter restarts at the next :meth:`process` (a fresh stream, re-primed with the latency)."""
        self.consumed += samples
        due = self.owed(self.consumed) - self.emitted
        self.emitted += due
        self._stale = not self.identity
        return due

    def skip_to(self, consumed: int) -> None:
        """Start counting at ``consumed`` input samples (a stream joining mid-way)."""
        self.consumed, self.emitted = consumed, self.owed(consumed)
        self._stale = not self.identity

    def owed(self, consumed: int) -> int:
        """Output samples due in total after ``consumed`` input samples."""
        return consumed * self._num // self._den

    def process(self, x: np.ndarray) -> np.ndarray:
        """Convert the next ``(channels, n)`` block; returns exactly the samples now due."""
        if self.identity:
            self.consumed += x.shape[1]
            self.emitted += x.shape[1]
            return x
        if self._stale:  # after skipped input: a fresh filter, re-primed (the counts go on)
            self._stale = False
            self._lib.reset()
            self._fifo = np.zeros((self.channels, self.latency), dtype=np.float32)
        self.consumed += x.shape[1]
        due = self.owed(self.consumed) - self.emitted
        if x.shape[1]:
            y = self._lib.process(np.ascontiguousarray(x.T, dtype=np.float32), self.ratio, end_of_input=False)
            y = np.asarray(y, dtype=np.float32).reshape(-1, self.channels).T
            self._fifo = np.concatenate([self._fifo, y], axis=1) if self._fifo.shape[1] else y
        have = self._fifo.shape[1]
        if have < due:  # never expected (the latency covers the look-ahead): pad, count, keep counts exact
            self.short += due - have
            self._fifo = np.concatenate([self._fifo, np.zeros((self.channels, due - have), np.float32)], axis=1)
        out, self._fifo = self._fifo[:, :due], self._fifo[:, due:]
        self.emitted += due
        return np.ascontiguousarray(out)


_LATENCIES: dict[tuple[float, str], int] = {}


def latency_of(rate_in: int, rate_out: int, converter: str | None = None) -> int:
    """Output samples of latency a :class:`StreamResampler` with these rates and converter adds."""
    if rate_in == rate_out:
        return 0
    return _latency_for(int(rate_out) / int(rate_in), converter or CONVERTER)


def _latency_for(ratio: float, converter: str) -> int:
    """Output samples of silence that cover the library's worst look-ahead shortfall at ``ratio``.

    Measured, not derived: the library is fed silence in several chunk sizes and the
    largest gap between the exact count owed and what it returned is kept, plus two
    samples for rounding. Deterministic (the library is), and cached per ratio.
    """
    key = (ratio, converter)
    if key not in _LATENCIES:
        worst = 0
        for chunk in _PROBE_CHUNKS:
            lib = _library_resampler(1, converter)
            zeros = np.zeros((chunk, 1), dtype=np.float32)
            consumed = emitted = 0
            while consumed < _PROBE_SAMPLES:
                emitted += len(lib.process(zeros, ratio, end_of_input=False))
                consumed += chunk
                worst = max(worst, int(consumed * ratio) - emitted)
        _LATENCIES[key] = worst + 2
    return _LATENCIES[key]
