"""Test helper: reading recorded signals (any test package: engine, render, host).

The one pitch reader: the host tests need it robust to a broken recording, and the offline tests
use the same one so that a pitch means the same everywhere.
"""

from __future__ import annotations

import numpy as np


def pitch(y: np.ndarray, sr: int, settle: float = 0.0) -> float:
    """Pitch (Hz) of a recorded tone over its unbroken stretches of periods (fractional upward zero
    crossings); the first ``settle`` fraction of ``y`` is left out (a model's or a resampler's warm-up).

    Why not crossings over the whole record: a cycle the sink or the daemon lost on a loaded VM (silence,
    a late block's dry fallback) breaks the sine, and counting across it read 964 Hz for a correct 1 kHz.
    """
    y = np.asarray(y, dtype=np.float64)[int(len(y) * settle):]
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    at = up + (-y[up]) / (y[up + 1] - y[up])
    period = np.diff(at)
    regular = np.abs(period - np.median(period)) < 0.05 * np.median(period)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], regular.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    periods = int(np.sum(ends - starts))
    assert periods >= len(period) // 2           # most of the record is one steady tone
    return sr * periods / float(np.sum(at[ends] - at[starts]))
