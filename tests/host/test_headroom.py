"""Headroom from measurement: enough periods for the measured p99 plus the margin, unless pinned."""

from __future__ import annotations

import dataclasses

import pytest

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import parse
import numpy as np

from ravebox.host.headroom import (DROPOUT_BLOCKS, GROW_AT, MARGIN, MAX_PERIODS, RUN_WINDOW, STARTUP_MARGIN,
                                   Dropouts, Headroom, choose, follow, periods_for)

SR, PERIOD = 48000, 256
PERIOD_S = PERIOD / SR


@pytest.mark.parametrize("p99_ms, periods", [(0.5, 1), (3.0, 1), (4.0, 2), (40.0, 12), (45.0, 13), (1e4, MAX_PERIODS)])
def test_periods_cover_p99_plus_margin(p99_ms, periods):
    got = periods_for(p99_ms / 1e3, PERIOD, SR)
    assert got == periods
    assert got == MAX_PERIODS or got * PERIOD_S >= p99_ms / 1e3 * (1 + MARGIN)
    assert got == 1 or (got - 1) * PERIOD_S < p99_ms / 1e3 * (1 + MARGIN)


def test_full_size_default_is_never_all_late():
    """The issue's figure: ~40 ms per 2048-sample block played all-late with 1 period; 9 periods had 0 late."""
    headroom = choose(None, 0.040, PERIOD, SR, 2048)
    assert headroom.source == "measured" and headroom.periods >= 9
    assert headroom.margin > 0 and headroom.warnings() == []


@pytest.mark.parametrize("startup_ms, playing_ms, block", [(23.8, 39.5, 2048), (52.3, 67.0, 4096), (53.5, 71.0, 4096)])
def test_the_startup_budget_covers_what_the_playing_worker_then_needed(startup_ms, playing_ms, block):
    """Three full-size runs here: the start-up timing, then the playing worker's p99 (JACK, the callback and
    more beside it). Sized with the running 50 %, each had to grow while playing (the two at x2 lost a block
    first); sized with the start-up margin, each starts with a budget above what it then needed."""
    with_running_margin = periods_for(startup_ms / 1e3, PERIOD, SR) * PERIOD_S
    assert playing_ms / 1e3 > GROW_AT * with_running_margin
    assert choose(None, startup_ms / 1e3, PERIOD, SR, block).budget_s > playing_ms / 1e3
    assert STARTUP_MARGIN > MARGIN


@pytest.mark.parametrize("startup_ms, longest_ms", [(43.6, 89.5), (47.5, 66.7), (51.6, 78.9), (42.1, 79.3),
                                                    (62.8, 85.3), (43.2, 89.7), (40.2, 87.3)])
def test_the_startup_budget_covers_the_longest_block_the_playing_worker_then_took(startup_ms, longest_ms):
    """Seven full-size runs of 5 minutes at x2 (sessions 6 to 8): the start-up p99 and the playing worker's
    longest block, 1.4 to 2.17 times it. With a 100 % start-up margin the first had 1 ms to spare and the
    last would have played late (16 periods, 85.3 ms)."""
    assert choose(None, startup_ms / 1e3, PERIOD, SR, 4096).budget_s > 1.1 * longest_ms / 1e3


def test_pinned_headroom_wins_and_warns_when_too_small():
    headroom = choose(1, 0.040, PERIOD, SR, 2048)
    assert (headroom.periods, headroom.source) == (1, "box")
    assert headroom.margin < 0
    (warning,) = headroom.warnings()
    assert "exceeds the headroom budget (1 periods = 5.3 ms)" in warning and "headroom_periods" in warning


def test_a_model_slower_than_its_block_warns_to_fit():
    headroom = choose(None, 0.050, PERIOD, SR, 2048)  # 50 ms per 42.7 ms block
    assert any("cannot keep up" in w and "ravebox fit" in w for w in headroom.warnings())


def test_nothing_measured_falls_back_to_one_period():
    headroom = choose(None, None, PERIOD, SR, 2048)
    assert (headroom.periods, headroom.source, headroom.margin, headroom.warnings()) == (1, "default", None, [])
    assert headroom.to_json()["measured_p99_ms"] is None


def test_config_headroom_absent_means_measured_and_pinned_is_kept():
    diags = Diagnostics("box.toml")
    assert parse({}, diags).headroom_periods is None
    assert parse({"headroom_periods": 3}, diags).headroom_periods == 3
    assert not diags
    parse({"headroom_periods": "many"}, diags)
    assert [(d.key, d.message) for d in diags.items] == [("jack.headroom_periods", "must be an integer in range 0..64, got 'many'")]


# -- following the playing worker (headroom.follow) ----------------------------------------------
# the quiet start-up timing of the full-size model (23.8 ms) with the 9 periods a 100 % start-up margin gave it
QUIET_RUN = Headroom(9, "measured", 0.0238, PERIOD_S, 2048 / SR)


def _times(*runs: tuple[int, float]) -> np.ndarray:
    """Block times: ``(count, seconds)`` runs, oldest first."""
    return np.concatenate([np.full(n, s) for n, s in runs])


def test_the_quiet_full_size_run_would_have_grown_before_its_blocks_went_late():
    """The 5-minute run that left 33 blocks late: start-up p99 23.8 ms (sized 7 periods, 37.3 ms, with the
    50 % margin then; 9 periods, 48 ms, with 100 %; 12 with the start-up margin now), the playing worker's
    p99 39.5 ms. Four blocks in 256 near the budget are enough to grow."""
    assert choose(None, 0.0238, PERIOD, SR, 2048).periods == 12 and QUIET_RUN.budget_s > 0.0395
    times = _times((250, 0.024), (4, 0.0395), (2, 0.025))
    grown = follow(QUIET_RUN, times, late=0)
    assert (grown.periods, grown.source) == (periods_for(0.0395, PERIOD, SR), "running") == (12, "running")
    assert grown.budget_s > 0.0395 * (1 + MARGIN) and grown.running_s == 0.0395
    assert grown.to_json()["running_p99_ms"] == 39.5 and grown.to_json()["measured_p99_ms"] == 23.8
    assert follow(grown, times, late=0).periods == 12       # the grown budget covers it: no second step


def test_a_tail_just_under_the_grow_line_changes_nothing_and_is_reported():
    below = 0.99 * GROW_AT * QUIET_RUN.budget_s
    kept = follow(QUIET_RUN, _times((300, 0.020), (5, below)), late=0)
    assert (kept.periods, kept.source) == (9, "measured") and kept.running_s == below
    assert kept.margin == 1 - below / QUIET_RUN.budget_s


def test_repeated_late_blocks_after_a_slow_block_at_most_double_and_a_lone_one_grows_nothing():
    times = _times((300, 0.010), (1, 0.200))                 # one 200 ms stall: the p99 stays at 10 ms
    assert follow(QUIET_RUN, times, late=0).periods == 9
    assert follow(QUIET_RUN, times, late=1).periods == 9     # a lone dropout: no re-size gap, no latency for the set
    assert follow(QUIET_RUN, times, late=2).periods == 18
    calm = _times((300, 0.010))                              # late, but no block was slow: an xrun's doing
    assert follow(QUIET_RUN, calm, late=5).periods == 9


def test_late_blocks_close_together_are_one_dropout_and_only_recent_ones_count():
    drops = Dropouts()
    drops.note(100, 0)
    assert drops.recent(100) == 0
    drops.note(100, 3)                                       # one stall made three blocks late
    drops.note(100 + DROPOUT_BLOCKS, 1)                      # ... and one more just after: the same dropout
    assert drops.recent(110) == 1
    drops.note(200, 1)                                       # a second dropout
    assert drops.recent(200) == 2
    assert drops.recent(100 + DROPOUT_BLOCKS + RUN_WINDOW) == 1   # the first has left the window
    assert drops.recent(200 + RUN_WINDOW) == 0
    drops.note(300, 1)
    drops.clear()
    assert drops.recent(300) == 0


def test_only_the_latest_window_decides_growth():
    old_slow = _times((10, 0.200), (RUN_WINDOW, 0.010))
    assert follow(QUIET_RUN, old_slow, late=0).periods == 9


def test_never_shrinks_while_playing():
    """A re-size is a gap of about one latency: a calm worker keeps the headroom it started or grew to."""
    wide = choose(None, 0.100, PERIOD, SR, 2048)
    assert wide.periods == 47
    calm = follow(wide, _times((20000, 0.005)), late=0)
    assert (calm.periods, calm.source, calm.running_s) == (47, "measured", 0.005)
    grown = follow(QUIET_RUN, _times((300, 0.040)), late=0)
    assert grown.periods > 9 and follow(grown, _times((20000, 0.005)), late=0).periods == grown.periods


def test_growth_stops_at_the_cap_and_a_pinned_or_unmeasured_headroom_never_moves():
    capped = follow(QUIET_RUN, _times((300, 1.0)), late=2)
    assert capped.periods == MAX_PERIODS and follow(capped, _times((300, 2.0)), late=2).periods == MAX_PERIODS
    pinned = choose(3, 0.010, PERIOD, SR, 2048)
    seen = follow(pinned, _times((300, 0.040)), late=2)
    assert (seen.periods, seen.source, seen.running_s) == (3, "box", 0.040)
    assert any("running inference p99 40.0 ms exceeds the headroom budget" in w for w in seen.warnings())
    unmeasured = choose(None, None, PERIOD, SR, 2048)
    assert follow(unmeasured, _times((300, 0.040)), late=2).periods == 1
    assert follow(QUIET_RUN, np.zeros(0), late=2) is QUIET_RUN


def test_only_the_playing_workers_tail_says_the_cpu_falls_behind():
    headroom = choose(None, 0.050, PERIOD, SR, 2048)  # start-up wall p99 above the 42.7 ms block
    (startup,) = [w for w in headroom.warnings() if "engine block" in w]
    assert "if the playing worker's p99 stays above it" in startup
    (running,) = [w for w in dataclasses.replace(headroom, running_s=0.050).warnings() if "engine block" in w]
    assert running.startswith("running inference p99 50.0 ms") and "cannot keep up;" in running
