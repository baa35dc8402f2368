"""TickEstimator: indexing, outliers, step detection, resume."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.clock.estimator import TickEstimator

SR = 48000


def bpm_of(est: TickEstimator) -> float:
    return 60.0 * SR / (24.0 * est.line.period)


def feed(est: TickEstimator, times) -> list:
    return [est.tick(t) for t in times]


def test_clean_ticks_give_the_exact_period_and_consecutive_indices():
    est = TickEstimator(48.0)
    ks = feed(est, 5000 + np.arange(100) * 1000.0)
    assert ks == list(range(100))
    assert est.line.period == pytest.approx(1000.0)
    assert est.restarts == 0


def test_a_missed_tick_skips_an_index():
    est = TickEstimator(48.0)
    times = list(np.arange(50) * 1000.0) + [51_000.0, 52_000.0]
    ks = feed(est, times)
    assert ks[-2:] == [51, 52]
    assert est.line.period == pytest.approx(1000.0)


def test_an_isolated_outlier_is_dropped_and_does_not_bend_the_line():
    est = TickEstimator(48.0)
    rng = np.random.default_rng(0)
    times = np.arange(200) * 1000.0 + rng.uniform(-48, 48, 200)
    times[120] += 400.0                   # one tick 8 ms late (less than half a period)
    feed(est, times)
    assert est.rejected == 1
    assert bpm_of(est) == pytest.approx(120.0, abs=0.01)
    assert est.restarts == 0


def test_a_tempo_step_restarts_the_fit_at_the_kink():
    est = TickEstimator(48.0)
    rng = np.random.default_rng(4)
    periods = np.r_[np.full(240, 1000.0), np.full(72, 60 * SR / (24 * 126.0))]
    times = np.concatenate([[0.0], np.cumsum(periods)[:-1]]) + rng.uniform(-48, 48, 312)
    feed(est, times)
    assert est.restarts >= 1
    assert bpm_of(est) == pytest.approx(126.0, abs=0.12)


def test_resume_keeps_counting_across_a_gap():
    est = TickEstimator(48.0)
    feed(est, np.arange(100) * 1000.0)
    est.resume()
    assert est.line is None
    k = est.tick(200_000.0)               # 100 periods after the last tick
    assert k == 99 + 101
    assert est.line.period == pytest.approx(1000.0)
