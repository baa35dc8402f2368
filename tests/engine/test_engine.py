"""Engine-wide behaviour: block size, several graphs, a raising model mutes only its graph, reset."""

import numpy as np
import pytest
from adapters import loader
from helpers import SR, make_box, make_engine, run

from ravebox.engine.engine import Engine
from ravebox.errors import EngineError
from ravebox.params.table import ParamKey

TWO = """
[graphs.one]
encoder = "a"
[graphs.two]
encoder = "a"
decoder = "b"
[output]
block_multiple = 2
"""


def test_block_size_is_a_multiple_of_every_ratio_and_graphs_get_dims(tmp_path):
    engine = make_engine(tmp_path, TWO)
    assert engine.block_size == 2 * 2048
    assert engine.graph_dims == {"one": 8, "two": 16}
    assert engine.channels == {"one": (1, 1), "two": (1, 1)}
    with pytest.raises(EngineError, match="not a multiple"):
        engine.process({}, 0, None, None, n=1000)


def test_several_graphs_each_produce_their_own_output(tmp_path):
    out = run(make_engine(tmp_path, TWO), 3)
    assert set(out) == {"one", "two"}
    assert not np.array_equal(out["one"], out["two"])


class _Exploding:
    """Wraps a model; its decode raises once, on call ``after + 1``."""

    def __init__(self, model, after):
        self._m, self._after, self.calls = model, after, 0

    def __getattr__(self, name):
        return getattr(self._m, name)

    def decode(self, z):
        self.calls += 1
        if self.calls == self._after + 1:
            raise RuntimeError("boom in decode")
        return self._m.decode(z)


def test_a_raising_model_mutes_its_graph_and_the_rest_keeps_running(tmp_path):
    base = loader()

    def load(spec, sr):
        model = base(spec, sr)
        return _Exploding(model, 3) if spec.name == "b" else model

    engine = Engine(make_box(tmp_path, TWO), SR, 1, loader=load)
    reference = run(make_engine(tmp_path, TWO), 6)

    def reset_late(store, frame):
        if frame == 5 * engine.block_size:
            store.set(ParamKey("engine.reset", "two"), 1, frame)

    out = run(engine, 6, setup=reset_late)
    n = engine.block_size
    assert np.array_equal(out["one"], reference["one"])
    assert np.array_equal(out["two"][:, :3 * n], reference["two"][:, :3 * n])
    assert np.abs(out["two"][:, 3 * n:5 * n]).max() == 0.0          # muted after the raise
    assert np.abs(out["two"][:, 5 * n:]).max() > 1e-4               # playing again after engine.reset
    assert engine.status()["two"]["failed"] is None
    assert any("graph two muted: RuntimeError: boom in decode" in e for e in engine.events)
    assert any("reset and playing again" in e for e in engine.events)


def test_mixed_ratios_in_a_graph_build_with_the_lcm_block(tmp_path):
    box = make_box(tmp_path, '\n[graphs.t]\nencoder = "a"\n')

    def load(spec, sr):
        model = loader()(spec, sr)
        model.ratio = 1024 if spec.name == "a" else model.ratio
        return model

    box2 = make_box(tmp_path, '\n[graphs.t]\nencoder = "a"\ndecoder = "b"\n', "two.toml")
    mixed = Engine(box2, SR, 1, loader=load)  # the latent-rate converter bridges 1024 and 2048
    assert mixed.block_size == 2048 and mixed.latency_frames == 0
    assert Engine(box, SR, 1, loader=load).block_size == 1024
