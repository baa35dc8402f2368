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


@pytest.mark.parametrize("after", [60.0, 75.0, 180.0, 240.0, 400.0])
def test_large_tempo_jumps_keep_counting_ticks(after):
    """Jumps past the gap rounding (x0.5 .. x3.3) are re-read, not taken as missed or doubled ticks."""
    est = TickEstimator(48.0, min_period=100.0)
    rng = np.random.default_rng(int(after))
    periods = np.r_[np.full(240, 1000.0), np.full(240, 60 * SR / (24 * after))]
    times = 5000 + np.concatenate([[0.0], np.cumsum(periods)[:-1]]) + rng.uniform(-48, 48, 480)
    ks = feed(est, times)
    assert ks[-1] == 479
    assert bpm_of(est) == pytest.approx(after, abs=0.12)


def test_missed_and_duplicated_ticks_under_jitter_keep_the_count():
    est = TickEstimator(48.0, min_period=100.0)
    rng = np.random.default_rng(9)
    times = 5000 + np.arange(600) * 1000.0 + rng.uniform(-48, 48, 600)
    stream, truth = [], []
    for i, t in enumerate(times):
        if i in (100, 250, 252, 400):        # lost, including two close together
            continue
        stream.append(t)
        truth.append(i)
        if i in (170, 330):                   # a doubled message
            stream.append(t + 20)
            truth.append(None)
    ks = feed(est, stream)
    assert [k for k, tr in zip(ks, truth) if tr is not None] == [tr for tr in truth if tr is not None]
    assert bpm_of(est) == pytest.approx(120.0, abs=0.01)


def test_read_gaps_tells_missed_ticks_from_a_new_tempo():
    from ravebox.clock.gaps import read_gaps

    assert read_gaps(np.array([1000.0, 2010.0, 990.0]), 1000.0, 30.0, 9.0)[0] is None
    change, steps = read_gaps(np.array([1000.0, 2000.0, 1990.0, 2010.0]), 1000.0, 30.0, 9.0)
    assert change == 1 and steps.tolist() == [1, 1, 1, 1]
    change, steps = read_gaps(np.array([20.0, 980.0, 1000.0]), 1000.0, 30.0, 9.0)
    assert change is None and steps.tolist() == [0, 1, 1]
