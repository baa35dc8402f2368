"""The process callback's start-delay and run-time histograms (``ravebox.host.cycletimes``)."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.host.cycletimes import BIN_S, BINS, CycleTimes


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_bound_the_recorded_values_to_one_bin(seed):
    rng = np.random.default_rng(seed)
    starts = rng.exponential(0.0004, 5000)
    runs = rng.uniform(0.0001, 0.003, 5000)
    cpus = runs * rng.uniform(0.2, 1.0, 5000)    # the callback's CPU time: its run less what it waited
    times = CycleTimes()
    for s, r, c in zip(starts, runs, cpus):
        times.record(float(s), float(r), float(c))
    for counts, values in ((times.start, starts), (times.run, runs), (times.cpu, cpus)):
        for q in (0.5, 0.99, 0.999):
            got = CycleTimes.quantile(counts, q)
            exact = float(np.quantile(values, q, method="inverted_cdf"))
            assert exact <= got + 1e-12 and got - BIN_S <= exact + 1e-12
    summary = times.to_json(256 / 48000)
    assert summary["cycles"] == 5000
    assert summary["start_max_ms"] == round(1e3 * starts.max(), 3) and summary["run_max_ms"] == round(1e3 * runs.max(), 3)
    assert summary["start_over_half_period"] == int((starts >= int(128 / 48000 / BIN_S) * BIN_S).sum())
    period_bin = int(256 / 48000 / BIN_S)
    # bins, as the histogram has them: the signal's bin is start + run's, whatever the two bins were
    assert summary["signal_over_period"] == int(((starts + runs) * 20000.0 >= period_bin).sum()) > 0
    assert summary["start_over_period"] == int((starts * 20000.0 >= period_bin).sum())
    assert summary["run_over_half_period"] == int((runs * 20000.0 >= int(128 / 48000 / BIN_S)).sum())
    assert summary["cpu_p50_ms"] == round(1e3 * CycleTimes.quantile(times.cpu, 0.5), 3) <= summary["run_p50_ms"]


def test_without_cpu_times_the_summary_has_no_cpu_figures():
    times = CycleTimes()
    times.record(0.0001, 0.0002)
    assert "cpu_p50_ms" not in times.to_json() and sum(times.cpu) == 0


def test_out_of_range_values_land_in_the_end_bins_and_empty_is_zero():
    times = CycleTimes()
    assert times.to_json()["start_p99_ms"] == 0.0
    times.record(-1e-5, 0.0)      # a cycle-start estimate a hair after the callback began
    times.record(5.0, 5.0)        # a stall of seconds
    assert times.start[0] == 1 and times.start[BINS - 1] == 1 and times.run[BINS - 1] == 1
    assert times.to_json()["start_max_ms"] == 5000.0
