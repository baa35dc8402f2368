"""Models that misbehave while the box plays: refused swaps, runtime mutes, slow models.

Every test here drives the engine offline; "slow" is a stand-in timer the test
advances, so nothing depends on the machine's speed.
"""

from __future__ import annotations

import numpy as np
from adapters import MODELS, loader
from helpers import SR, run

from ravebox.config.box import load_box
from ravebox.engine.engine import Engine
from ravebox.engine.health import BAD_BLOCKS, LATE_BLOCKS
from tests.models.misbehaving import write_model

PLAIN = '\n[graphs.t]\nencoder = "a"\n[output]\ncrossfade_ms = 100\n'


def engine_for(tmp_path, decoder: str | None = None, body: str = PLAIN, **kw) -> Engine:
    models = f'[models]\na = "{MODELS / "rave_a.ts"}"\n'
    if decoder:
        models += f'd = "{decoder}"\n'
        body = body.replace('encoder = "a"', 'encoder = "a"\ndecoder = "d"')
    box = tmp_path / "box.toml"
    box.write_text(models + body)
    return Engine(load_box(box), SR, 1, loader=kw.pop("loader", None) or loader(), **kw)


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))


def test_the_nan_model_does_not_hot_swap_in_and_the_old_one_keeps_playing(tmp_path):
    engine = engine_for(tmp_path)
    before = run(engine, 3)["t"]
    result = engine.prepare_swap("t", str(MODELS / "nan_a.ts"))
    assert not result.ok
    assert "keeping the old model" in result.message and "NaN/infinite" in result.message
    after = run(engine, 6)["t"]
    assert np.isfinite(after).all() and rms(after) > 0.1 * rms(before)
    assert engine.status()["t"]["swaps"] == 0 and engine.status()["t"]["failed"] is None


def test_a_torchscript_error_in_the_swap_warm_up_is_a_failed_swap_not_an_exception(tmp_path):
    engine = engine_for(tmp_path)
    result = engine.prepare_swap("t", str(write_model(tmp_path, "raise")))
    assert not result.ok
    assert result.message.startswith("swap of t decoder to ") and "this model is broken" in result.message
    assert np.isfinite(run(engine, 2)["t"]).all()


def test_persistent_nan_output_mutes_the_graph_with_a_reason_and_counts(tmp_path):
    engine = engine_for(tmp_path, str(write_model(tmp_path, "nan_after", limit=3)))
    out = run(engine, 3 + BAD_BLOCKS + 3)["t"]
    status = engine.status()["t"]
    assert status["failed"] == f"output non-finite or beyond +18 dBFS in {BAD_BLOCKS} blocks in a row"
    assert status["bad_blocks"] == BAD_BLOCKS and status["mutes"] == 1
    assert not np.isnan(out[:, (3 + BAD_BLOCKS) * engine.block_size:]).any()   # silence, not NaN, once muted
    assert any("graph t muted: output non-finite" in e for e in engine.events)


def test_one_stray_bad_block_is_left_to_the_safety_stage(tmp_path):
    engine = engine_for(tmp_path, str(write_model(tmp_path, "nan_after", limit=3)))
    run(engine, 3 + BAD_BLOCKS - 1)
    assert engine.status()["t"]["failed"] is None and engine.status()["t"]["bad_blocks"] == BAD_BLOCKS - 1


def test_a_successful_swap_lets_a_muted_graph_play_again(tmp_path):
    engine = engine_for(tmp_path, str(write_model(tmp_path, "nan_after", limit=2)))
    run(engine, BAD_BLOCKS + 3)
    assert engine.status()["t"]["failed"]
    assert engine.prepare_swap("t", str(MODELS / "rave_b.ts")).ok
    out = run(engine, 4)["t"]
    assert engine.status()["t"]["failed"] is None
    assert np.isfinite(out).all() and rms(out[:, engine.block_size:]) > 1e-4
    assert "graph t playing again after a model swap" in engine.events


class SlowModel:
    """Wraps a loaded model; every decode advances the test's clock by ``seconds``."""

    def __init__(self, model, clock: list[float], seconds: float) -> None:
        self._model, self._clock, self._seconds = model, clock, seconds
        self.decodes = 0

    def __getattr__(self, name):
        return getattr(self._model, name)

    def decode(self, z):
        self.decodes += 1
        self._clock[0] += self._seconds
        return self._model.decode(z)


def test_a_persistently_late_graph_is_degraded_and_its_swap_never_waits_on_the_old_model(tmp_path):
    clock = [0.0]
    load = loader()
    slow: list[SlowModel] = []

    def slow_a(spec, sample_rate):
        model = load(spec, sample_rate)
        if spec.path.name == "rave_a.ts" and not slow:
            slow.append(SlowModel(model, clock, 4.0))    # ~100x real time per 43 ms block
            return slow[0]
        return model

    engine = engine_for(tmp_path, loader=slow_a, timer=lambda: clock[0])
    run(engine, LATE_BLOCKS - 1)
    assert not engine.status()["t"]["degraded"]
    run(engine, 1)
    status = engine.status()["t"]
    assert status["degraded"] and status["late_blocks"] == LATE_BLOCKS and status["worst_time_ratio"] > 50
    assert any(e.startswith("graph t degraded") for e in engine.events)
    calls = slow[0].decodes
    assert engine.prepare_swap("t", str(MODELS / "rave_b.ts")).ok
    out = run(engine, 3)["t"]
    assert slow[0].decodes == calls        # no crossfade through the slow old decoder
    assert rms(out) > 1e-4 and not engine.status()["t"]["degraded"]
    assert engine.status()["t"]["fading"] is False


def test_an_on_time_graph_is_never_degraded_and_still_crossfades(tmp_path):
    clock = [0.0]
    engine = engine_for(tmp_path, timer=lambda: clock[0])
    run(engine, LATE_BLOCKS + 2)
    assert engine.prepare_swap("t", str(MODELS / "rave_b.ts")).ok
    run(engine, 1)
    assert engine.status()["t"]["fading"] is True and engine.status()["t"]["degraded"] is False
