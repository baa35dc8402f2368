"""``[output] block_multiple = "auto"``: a large model too slow for the block is rebuilt at a bigger one.

The policy (``autoblock.settle``) is checked on given timings; the rebuild on a real engine
whose models are declared large and whose timing is replaced by given figures (the
committed test models are small and fast), so the choice, the block, the latency and the
status are asserted exactly, never a timing.
"""

import numpy as np
import pytest
from helpers import SR, make_engine, run

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.graphs import parse_output
from ravebox.engine import autoblock
from ravebox.models.rave import RaveModel
from ravebox.models.timing import CallTiming
from ravebox.service.blockmemory import BlockMemory, box_key, remember_choice

BOX = '\n[graphs.t]\nencoder = "a"\ndecoders = ["a"]\n'
BLOCK_S = 2048 / SR


class Timed:
    """A :class:`autoblock.Refittable` whose work per multiple is given (and its wall p99: the work
    plus ``tail``, the longest moment another thread held the core)."""

    def __init__(self, work: dict[int, float], large: bool = True, tail: float = 0.0) -> None:
        self.work, self.large, self.tail, self.block_multiple, self.rebuilt = work, large, tail, 1, []
        self.parallel_lanes = 1

    @property
    def block_seconds(self) -> float:
        return BLOCK_S * self.block_multiple

    def has_large_models(self) -> bool:
        return self.large

    def block_p99(self, lanes: int = 1) -> float:
        return self.work[self.block_multiple] + self.tail

    def block_work(self, lanes: int = 1) -> float:
        return self.work[self.block_multiple]

    def rebuild_block(self, multiple: int) -> None:
        self.rebuilt.append(multiple)
        self.block_multiple = multiple


@pytest.mark.parametrize("work, chosen", [
    ({1: 0.020}, 1),                                   # 47 % of the block: fits with 50 % spare
    ({1: 0.0213}, 1),                                  # just under 50 %
    ({1: 0.0215, 2: 0.040}, 2),                        # just over: x2 (47 % of 85 ms)
    ({1: 0.0246, 2: 0.036}, 2),                        # the tuned full-size model on this VM (30 November)
    ({1: 0.0395, 2: 0.070, 4: 0.080}, 4),              # the quiet VM's playing p99, then a Pi-like core
    ({1: 0.200, 2: 0.300, 4: 0.350, 8: 0.400}, 8),     # never fits: the largest, and says so
])
def test_the_smallest_multiple_that_leaves_the_spare_is_chosen(work, chosen):
    engine = Timed(work)
    choice = autoblock.settle(engine)
    assert (choice.multiple, choice.source, engine.block_multiple) == (chosen, "auto", chosen)
    assert engine.rebuilt == [m for m in autoblock.MULTIPLES if 1 < m <= chosen]
    assert ("does not fit" in choice.why) == (chosen == 8)
    assert choice.why.startswith("x1 ")


@pytest.mark.parametrize("work, last, chosen", [
    # this VM's full-size model: x2's work read 32.5-49.5 ms against a line at 42.7 (50 % of 85.3)
    ({1: 0.0240, 2: 0.0460, 4: 0.0440}, 2, 2),         # over the line, but x2 was last: it stays (40 % spare)
    ({1: 0.0240, 2: 0.0460, 4: 0.0440}, None, 4),      # the same reading with no memory: x4
    ({1: 0.0240, 2: 0.0400, 4: 0.0440}, 4, 4),         # under the line, but x4 was last: x2 must leave 60 %
    ({1: 0.0240, 2: 0.0330, 4: 0.0440}, 4, 2),         # x2 leaves 61 %: a machine that truly got faster moves it
    ({1: 0.0200, 2: 0.0330}, 2, 2),                    # x1 at 47 % fits the plain rule, not the 60 % a smaller one needs
    ({1: 0.0240, 2: 0.0540, 4: 0.0600}, 2, 4),         # x2 past 60 %: even the remembered choice moves up
    ({1: 0.0200}, 3, 1),                               # a multiple the rule never makes: no memory at all
])
def test_the_last_starts_choice_keeps_its_place_within_the_band(work, last, chosen):
    engine = Timed(work)
    choice = autoblock.settle(engine, last)
    assert (choice.multiple, engine.block_multiple) == (chosen, chosen)
    assert choice.why.endswith(f"(x{last} last start)") == (last in autoblock.MULTIPLES)


def test_the_spare_a_multiple_needs_around_the_remembered_one():
    spares = [autoblock.spare_for(m, 4) for m in autoblock.MULTIPLES]
    assert spares == [pytest.approx(0.6), pytest.approx(0.6), pytest.approx(0.4), pytest.approx(0.5)]
    assert {autoblock.spare_for(m, None) for m in autoblock.MULTIPLES} == {autoblock.SPARE}


def test_a_wall_tail_that_does_not_grow_with_the_block_does_not_choose_it():
    # the idle VM's start-up reading: x4's calls cost 55 ms, but a 100 ms moment of another thread
    # on the core put the wall p99 at 155 ms of 170.7; judged on the wall it played x8 (592 ms latency)
    engine = Timed({1: 0.040, 2: 0.062, 4: 0.055, 8: 0.080}, tail=0.100)
    choice = autoblock.settle(engine)
    assert (choice.multiple, engine.rebuilt) == (4, [2, 4])
    assert choice.why.startswith("x1 40.0 ms (wall p99 140.0) of 42.7 ms; x2 62.0 ms (wall p99 162.0) of 85.3 ms; "
                                 "x4 55.0 ms (wall p99 155.0) of 170.7 ms: fits")


@pytest.mark.parametrize("p50, cpu_p99, work", [
    (0.030, 0.034, 0.034),     # the CPU tail of the call itself counts
    (0.030, 0.020, 0.030),     # a core shared with others: every call slower, the median wall time counts
])
def test_the_work_of_a_call_is_its_cpu_p99_at_least_its_median_wall_time(p50, cpu_p99, work):
    timing = CallTiming(p50, 0.150, 0.160, 60, 0.9 * cpu_p99, cpu_p99)
    assert timing.work == work
    assert (timing + timing).work == pytest.approx(2 * work)


def test_small_models_stay_at_x1_whatever_the_timing_reads():
    engine = Timed({1: 0.500}, large=False)         # a busy machine's reading of a small model
    choice = autoblock.settle(engine)
    assert (choice.multiple, engine.rebuilt) == (1, []) and "small models" in choice.why


def test_the_config_takes_auto_by_default_a_number_or_reports_a_bad_word():
    diags = Diagnostics("box.toml")
    assert parse_output({}, diags).block_multiple == "auto"
    assert parse_output({"block_multiple": 4}, diags).block_multiple == 4
    assert not diags
    parse_output({"block_multiple": "atuo"}, diags)
    parse_output({"block_multiple": 0}, diags)
    assert [d.message for d in diags.items] == [
        'must be an integer in range 1..64 or "auto" (did you mean \'auto\'?)',
        'must be an integer in range 1..64 or "auto", got 0']


def test_a_real_engine_with_a_slow_large_model_is_rebuilt_at_x2_and_plays(tmp_path, monkeypatch):
    monkeypatch.setattr(RaveModel, "parameter_count", property(lambda self: 31_500_000))
    engine = make_engine(tmp_path, BOX)
    assert (engine.block_size, engine.block_choice.source) == (2048, "auto")
    latency_x1 = engine.latency_frames
    engine.block_work = lambda lanes=1: {1: 0.035, 2: 0.040}[engine.block_multiple]
    engine.block_p99 = lambda lanes=1: {1: 0.050, 2: 0.060}[engine.block_multiple]
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_multiple, engine.block_size) == (2, 4096)
    assert engine.costs["t"].block_s == 4096 / SR                   # timed again at the new block
    assert engine.latency_frames >= latency_x1
    status = engine.status()["t"]["block_multiple"]
    assert (status["multiple"], status["source"]) == (2, "auto")
    assert "x1 35.0 ms (wall p99 50.0) of 42.7 ms; x2 40.0 ms (wall p99 60.0) of 85.3 ms" in status["why"]
    assert any("block_multiple auto: x2" in e for e in engine.events)
    out = run(engine, 3)["t"]
    assert out.shape == (1, 3 * 4096) and np.isfinite(out).all() and np.abs(out).max() > 0


def test_a_real_engine_keeps_the_last_starts_choice_through_a_noisy_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(RaveModel, "parameter_count", property(lambda self: 31_500_000))
    memory = BlockMemory(tmp_path / "state")
    chosen = []
    for x2_work in (0.040, 0.046):   # 47 %, then 54 % of x2's 85.3 ms: alone the second start would play x4
        engine = make_engine(tmp_path, BOX)
        key = box_key(engine.box, SR)
        engine.block_work = lambda lanes=1, w=x2_work, e=engine: {1: 0.035, 2: w, 4: 0.050}[e.block_multiple]
        engine.block_p99 = engine.block_work
        engine.measure(calls=5, budget_s=0.5, last_multiple=memory.recall(key))
        remember_choice(memory, key, engine)
        chosen.append((engine.block_multiple, engine.block_choice.why.endswith("(x2 last start)")))
    assert chosen == [(2, False), (2, True)]


def test_a_pinned_multiple_is_honoured_even_for_a_slow_large_model(tmp_path, monkeypatch):
    monkeypatch.setattr(RaveModel, "parameter_count", property(lambda self: 31_500_000))
    engine = make_engine(tmp_path, BOX + "[output]\nblock_multiple = 1\n")
    engine.block_work = engine.block_p99 = lambda lanes=1: 0.200
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_multiple, engine.block_size, engine.block_choice.source) == (1, 2048, "box")


def test_small_test_models_keep_the_ratio_block_under_auto(tmp_path):
    engine = make_engine(tmp_path, BOX)
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_size, engine.block_choice.multiple) == (2048, 1)
    assert "small models" in engine.status()["t"]["block_multiple"]["why"]
