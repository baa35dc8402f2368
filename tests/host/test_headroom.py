"""Headroom from measurement: enough periods for the measured p99 plus the margin, unless pinned."""

from __future__ import annotations

import pytest

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import parse
from ravebox.host.headroom import MARGIN, MAX_PERIODS, choose, periods_for

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
