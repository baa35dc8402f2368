"""Measured cost per engine block: every role timed, nothing left in the stream, swaps re-measured."""

import numpy as np
from adapters import MODELS
from helpers import make_engine, run

MIXED = """
[graphs.g]
kind = "mixed"
encoder = "a"
prior = "p"
decoders = ["a", "b"]
[output]
block_multiple = 2
"""


def test_measure_times_every_role_at_the_engine_block_and_leaves_the_stream_untouched(tmp_path):
    measured = make_engine(tmp_path, MIXED)
    costs = measured.measure(calls=6, budget_s=1.0)
    cost = costs["g"]
    assert set(cost.parts) == {"encoder", "prior", "decoder:0", "decoder:1"}
    assert cost.block_s == measured.block_size / 48000 == 4096 / 48000
    for timing in cost.parts.values():
        assert 0 < timing.p50 <= timing.p99 <= timing.worst and timing.calls >= 5
    worst_decoder = max(cost.parts["decoder:0"].p99, cost.parts["decoder:1"].p99)
    assert np.isclose(cost.total.p99, cost.parts["encoder"].p99 + cost.parts["prior"].p99 + worst_decoder)
    assert cost.realtime_factor > 0
    status = measured.status()["g"]["cost"]
    assert status["p99_ms"] > 0 and set(status["parts"]) == set(cost.parts)
    # every model was reset after timing: the output equals an engine that was never measured
    assert np.array_equal(run(measured, 4)["g"], run(make_engine(tmp_path, MIXED), 4)["g"])


def test_a_swap_re_measures_only_the_incoming_model(tmp_path):
    engine = make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\ndecoders = ["a"]\n')
    before = engine.measure(calls=5, budget_s=0.5)["t"]
    assert engine.prepare_swap("t", str(MODELS / "rave_b.ts")).ok
    after = engine.costs["t"]
    assert after.parts["encoder"] is before.parts["encoder"]
    assert after.parts["decoder:0"] is not before.parts["decoder:0"]


def test_an_unmeasured_engine_reports_no_cost(tmp_path):
    engine = make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\n')
    assert engine.costs == {} and "cost" not in engine.status()["t"]



def test_conv_tuning_comes_from_the_box(tmp_path):
    auto = make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\n')
    assert auto.conv_tuning == "auto" and auto.graphs["t"].encoder.tuning is None  # small: not tuned
    on = make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\n[output]\nconv_tuning = "on"\n')
    assert on.conv_tuning == "on" and on.graphs["t"].encoder.tuning is not None
    assert any("conv tuning:" in str(e) for e in on.events)


def test_a_bad_conv_tuning_value_is_a_config_error(tmp_path):
    import pytest

    from ravebox.errors import ConfigError

    with pytest.raises(ConfigError, match="output.conv_tuning: must be one of auto, on, off"):
        make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\n[output]\nconv_tuning = "fast"\n')
