"""Gate pattern building blocks: rates, step strings, Euclid, A:B conditions, probability, swing."""

from __future__ import annotations

import pytest

from ravebox.gates.patterns import (
    GatePattern, Step, draw, euclid, parse_condition, parse_rate, parse_step_string, step_index, step_start,
)


@pytest.mark.parametrize("text,beats", [
    ("1/1", 4.0), ("1/4", 1.0), ("1/16", 0.25), ("1/64", 1 / 16),
    ("1/8T", 1 / 3), ("1/4t", 2 / 3), ("1/8.", 0.75), ("1/4D", 1.5),
])
def test_rates(text, beats):
    assert parse_rate(text) == pytest.approx(beats)


@pytest.mark.parametrize("bad", ["1/3", "2/4", "1/128", "quarter", "1/16X"])
def test_bad_rates(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_step_string():
    steps = parse_step_string("x.-9 | 3")
    assert steps == (Step(1.0), Step(0.0), Step(1.0, tie=True), Step(1.0), Step(3 / 9))
    with pytest.raises(ValueError):
        parse_step_string("x?x")


@pytest.mark.parametrize("pulses,steps,rotate,expected", [
    (3, 8, 0, "x..x..x."),
    (5, 8, 0, "x.x.xx.x"),
    (4, 16, 0, "x...x...x...x..."),
    (3, 8, 1, "..x..x.x"),
    (0, 4, 0, "...."),
    (4, 4, 0, "xxxx"),
])
def test_euclid(pulses, steps, rotate, expected):
    got = "".join("x" if s.level > 0 else "." for s in euclid(pulses, steps, rotate))
    assert got == expected


def test_euclid_rejects_more_pulses_than_steps():
    with pytest.raises(ValueError):
        euclid(5, 4)


def test_conditions_fire_on_the_a_th_of_every_b_cycles():
    assert parse_condition("2:4") == (2, 4)
    for bad in ("0:2", "3:2", "1-2", "1:17"):
        with pytest.raises(ValueError):
            parse_condition(bad)
    pat = GatePattern("c", (Step(1.0, condition=(1, 2)), Step(1.0, condition=(2, 4))), 0.25)
    first = [pat.fires(2 * cycle) for cycle in range(8)]
    second = [pat.fires(2 * cycle + 1) for cycle in range(8)]
    assert first == [True, False] * 4
    assert second == [False, True, False, False] * 2


def test_probability_is_seeded_and_repeatable():
    pat = GatePattern("p", (Step(1.0, probability=0.3),), 0.25, seed=11)
    again = GatePattern("p", (Step(1.0, probability=0.3),), 0.25, seed=11)
    other = GatePattern("p", (Step(1.0, probability=0.3),), 0.25, seed=12)
    a = [pat.fires(s) for s in range(4000)]
    assert a == [again.fires(s) for s in range(4000)]
    assert a != [other.fires(s) for s in range(4000)]
    assert 0.27 < sum(a) / len(a) < 0.33
    assert draw(11, 5) == draw(11, 5) and 0.0 <= draw(3, -7) < 1.0


def test_ties_point_back_to_the_step_they_continue():
    pat = GatePattern("t", parse_step_string("x--.x"), 0.25)
    assert [pat.source(s) for s in range(5)] == [0, 0, 0, 3, 4]
    all_ties = GatePattern("t", parse_step_string("--"), 0.25)
    assert all_ties.source(1) is None


def test_swing_delays_odd_steps():
    assert step_start(1, 0.25, 0.2) == pytest.approx(0.3)
    assert step_start(2, 0.25, 0.2) == pytest.approx(0.5)
    assert step_index(0.29, 0.25, 0.2) == 0
    assert step_index(0.31, 0.25, 0.2) == 1
    assert step_index(-0.1, 0.25, 0.0) == -1
