"""Reading ambiguous MIDI clock gaps: missed ticks, duplicates, or a new tempo?

Why a search: a gap of two periods is either a lost tick or a tempo halved,
and a gap of half a period a doubled message or a tempo doubled. One gap
cannot tell; a few can, because a new tempo repeats while losses do not.

Pure; called by :class:`~ravebox.clock.estimator.TickEstimator` on the control thread.
"""

from __future__ import annotations

import numpy as np


def read_gaps(gaps: np.ndarray, old_period: float, noise: float, odd_cost: float) -> tuple[int | None, np.ndarray]:
    """The likeliest reading of tick gaps: where the tempo changed, and ticks per gap.

    Each gap spans ``m`` tick periods (0 = a duplicate, 2+ = missed ticks);
    gaps before the change use ``old_period``, gaps after it one new period
    fitted to them. The cost is the squared misfit in units of the gap noise
    plus ``odd_cost`` for every gap read as other than one tick. Returns
    ``(None, steps)`` when no change reads best, else ``(index of the first
    gap at the new tempo, steps)``. Pure; a few dozen candidates at most.
    """
    var = 2.0 * noise * noise
    n = len(gaps)

    def cost(d: np.ndarray, period: float) -> tuple[float, np.ndarray]:
        m = np.maximum(np.floor(d / period + 0.5), 0.0)
        return float(np.sum((d - m * period) ** 2) / var + odd_cost * np.count_nonzero(m != 1)), m

    best_cost, best_m = cost(gaps, old_period)
    best: tuple[int | None, np.ndarray] = (None, best_m)
    for c in range(n - 2):  # a new period needs three gaps: two missed ticks also look like one
        head_cost, head_m = cost(gaps[:c], old_period)
        tail = gaps[c:]
        for seed in tail[tail > 0.25 * old_period]:
            m = np.maximum(np.floor(tail / seed + 0.5), 0.0)
            if not np.any(m):
                continue
            period = float(np.dot(m, tail) / np.dot(m, m))
            if not 0.25 * old_period < period < 4.0 * old_period:
                continue
            tail_cost, tail_m = cost(tail, period)
            total = head_cost + tail_cost + odd_cost  # a change itself must earn its keep
            if total < best_cost:
                best_cost, best = total, (c, np.concatenate([head_m, tail_m]))
    change, m = best
    return change, m.astype(np.int64)
