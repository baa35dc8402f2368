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

BOX = '\n[graphs.t]\nencoder = "a"\ndecoders = ["a"]\n'
BLOCK_S = 2048 / SR


class Timed:
    """A :class:`autoblock.Refittable` whose p99 per multiple is given."""

    def __init__(self, p99: dict[int, float], large: bool = True) -> None:
        self.p99, self.large, self.block_multiple, self.rebuilt = p99, large, 1, []
        self.parallel_lanes = 1

    @property
    def block_seconds(self) -> float:
        return BLOCK_S * self.block_multiple

    def has_large_models(self) -> bool:
        return self.large

    def block_p99(self, lanes: int = 1) -> float:
        return self.p99[self.block_multiple]

    def rebuild_block(self, multiple: int) -> None:
        self.rebuilt.append(multiple)
        self.block_multiple = multiple


@pytest.mark.parametrize("p99, chosen", [
    ({1: 0.020}, 1),                                   # 47 % of the block: fits with 30 % spare
    ({1: 0.0298}, 1),                                  # just under 70 %
    ({1: 0.0300, 2: 0.045}, 2),                        # just over: x2 (53 % of 85 ms)
    ({1: 0.0395, 2: 0.070, 4: 0.080}, 4),              # the quiet VM's playing p99, then a Pi-like core
    ({1: 0.200, 2: 0.300, 4: 0.350, 8: 0.400}, 8),     # never fits: the largest, and says so
])
def test_the_smallest_multiple_that_leaves_the_spare_is_chosen(p99, chosen):
    engine = Timed(p99)
    choice = autoblock.settle(engine)
    assert (choice.multiple, choice.source, engine.block_multiple) == (chosen, "auto", chosen)
    assert engine.rebuilt == [m for m in autoblock.MULTIPLES if 1 < m <= chosen]
    assert ("does not fit" in choice.why) == (chosen == 8)
    assert choice.why.startswith("x1 p99 ")


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
    engine.block_p99 = lambda lanes=1: {1: 0.035, 2: 0.040}[engine.block_multiple]
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_multiple, engine.block_size) == (2, 4096)
    assert engine.costs["t"].block_s == 4096 / SR                   # timed again at the new block
    assert engine.latency_frames >= latency_x1
    status = engine.status()["t"]["block_multiple"]
    assert (status["multiple"], status["source"]) == (2, "auto")
    assert "x1 p99 35.0 ms of 42.7 ms; x2 p99 40.0 ms of 85.3 ms" in status["why"]
    assert any("block_multiple auto: x2" in e for e in engine.events)
    out = run(engine, 3)["t"]
    assert out.shape == (1, 3 * 4096) and np.isfinite(out).all() and np.abs(out).max() > 0


def test_a_pinned_multiple_is_honoured_even_for_a_slow_large_model(tmp_path, monkeypatch):
    monkeypatch.setattr(RaveModel, "parameter_count", property(lambda self: 31_500_000))
    engine = make_engine(tmp_path, BOX + "[output]\nblock_multiple = 1\n")
    engine.block_p99 = lambda lanes=1: 0.200
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_multiple, engine.block_size, engine.block_choice.source) == (1, 2048, "box")


def test_small_test_models_keep_the_ratio_block_under_auto(tmp_path):
    engine = make_engine(tmp_path, BOX)
    engine.measure(calls=5, budget_s=0.5)
    assert (engine.block_size, engine.block_choice.multiple) == (2048, 1)
    assert "small models" in engine.status()["t"]["block_multiple"]["why"]
