"""A NaN/Inf/huge-producing model (nan_a) through engine and output stage: only finite, within ceiling.

The loader's warm-up check refuses nan_a (tests/models/test_model_vetting.py); here it is
loaded without warm-up, standing for a model that turns bad while it plays.
"""

import numpy as np
from helpers import SR, make_engine, chirp

from ravebox.clock.view import ClockView
from ravebox.config.graphs import OutputSettings
from ravebox.engine.output import OutputStage
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

NAN_BOX = """
[graphs.bad]
encoder = "nan"
[graphs.good]
encoder = "a"
[output]
ceiling_db = -3.0
"""


def _unvetted(spec, sample_rate):
    from ravebox.models import load_model

    return load_model(spec.path, sample_rate=sample_rate, warm_up=False)


def _play(engine, blocks, ceiling_db, period=256, store_setup=None):
    store = ParamStore(engine.graph_dims, SR)
    if store_setup:
        store_setup(store)
    clock = ClockView.internal(120.0, SR)
    settings = OutputSettings(ceiling_db=ceiling_db)
    stages = {g: OutputStage(g, 1, SR, settings, engine.latency_frames, period) for g in engine.graphs}
    x = chirp(blocks * engine.block_size)
    out = {g: np.zeros((1, blocks * engine.block_size), np.float32) for g in engine.graphs}
    for b in range(blocks):
        start = b * engine.block_size
        dry = x[:, start:start + engine.block_size]
        wet = engine.process({g: dry for g in engine.graphs}, start, store, clock)
        for g, stage in stages.items():  # the JACK period is smaller than the engine block
            for p in range(0, engine.block_size, period):
                stage.process(wet[g][:, p:p + period], dry[:, p:p + period], start + p, store, clock,
                              out[g][:, start + p:start + p + period])
    return out, stages


def test_nan_model_yields_only_finite_output_within_ceiling(tmp_path):
    engine = make_engine(tmp_path, NAN_BOX, loader=_unvetted)
    out, stages = _play(engine, 8, ceiling_db=-3.0)
    ceiling = 10 ** (-3.0 / 20)
    bad = out["bad"]
    assert np.isfinite(bad).all()
    assert float(np.abs(bad).max()) <= ceiling
    counters = stages["bad"].counters()
    assert counters["nonfinite_samples"] > 0 and counters["clamped_samples"] > 0
    assert counters["limited_samples"] > 0
    # the healthy graph next to it is untouched by the safety stage
    assert stages["good"].counters()["nonfinite_samples"] == 0
    assert np.sqrt(np.mean(out["good"] ** 2)) > 1e-5


def test_nan_model_with_gain_and_dry_still_within_ceiling(tmp_path):
    engine = make_engine(tmp_path, NAN_BOX, loader=_unvetted)

    def loud(store):
        store.set(ParamKey("out.gain_db"), 12.0, 0, glide_ms=0)
        store.set(ParamKey("mix.wet"), 0.5, 0, glide_ms=0)

    out, _ = _play(engine, 6, ceiling_db=-1.0, store_setup=loud)
    for y in out.values():
        assert np.isfinite(y).all() and float(np.abs(y).max()) <= 10 ** (-1 / 20)


def test_non_finite_input_never_reaches_the_model_state(tmp_path):
    """One NaN in the input would poison a streaming encoder forever; it is scrubbed and counted."""
    from helpers import run

    body = '\n[graphs.t]\nencoder = "a"\n'
    x = chirp(8 * 2048)
    poisoned = x.copy()
    poisoned[0, 3 * 2048 + 17] = np.nan
    poisoned[0, 3 * 2048 + 99] = np.inf
    engine = make_engine(tmp_path, body)
    out = run(engine, 8, x=poisoned)["t"]
    clean = x.copy()
    clean[0, 3 * 2048 + 17] = clean[0, 3 * 2048 + 99] = 0.0
    reference = run(make_engine(tmp_path, body), 8, x=clean)["t"]
    assert np.isfinite(out).all()
    assert np.array_equal(out, reference)
    assert engine.status()["t"]["scrubbed"] == {"input": 2}
