"""Encoder A into decoder B with mismatched latent counts (rave_a: 8 dims, rave_b: 16)."""

import numpy as np
import pytest
from helpers import make_engine, run

from ravebox.engine.matching import LatentMatcher
from ravebox.errors import EngineError

MODES = {
    "crop": "",
    "pad_zeros": "",
    "pad_noise": "",
    "map": "map = [{}]",
}


def _body(encoder, decoder, mode, source):
    index = ", ".join(str(i) for i in reversed(range(min(source, 16))))
    if mode == "map":
        target = 16 if decoder == "b" else 8
        entries = [str((source - 1 - i) % source) for i in range(target)]
        index = ", ".join(entries)
    extra = f'map = [{index}]' if mode == "map" else f'match = "{mode}"'
    return f'\n[graphs.t]\nencoder = "{encoder}"\ndecoder = "{decoder}"\n{extra}\n'


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("encoder,decoder,source", [("a", "b", 8), ("b", "a", 16)])
def test_every_matching_mode_runs_a_to_b(tmp_path, mode, encoder, decoder, source):
    out = run(make_engine(tmp_path, _body(encoder, decoder, mode, source)), 6)["t"]
    assert out.shape == (1, 6 * 2048)
    assert np.isfinite(out).all()
    assert np.sqrt(np.mean(out ** 2)) > 1e-5


def test_modes_differ_where_they_should(tmp_path):
    outs = {m: run(make_engine(tmp_path, _body("a", "b", m, 8)), 6)["t"] for m in MODES}
    assert np.array_equal(outs["crop"], outs["pad_zeros"])  # same rule, two names
    assert not np.array_equal(outs["pad_noise"], outs["pad_zeros"])
    assert not np.array_equal(outs["map"], outs["pad_zeros"])


def test_matcher_rules():
    z = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert LatentMatcher(3, 3).identity
    assert LatentMatcher(3, 2).apply(z).tolist() == [[0, 1], [2, 3]]
    assert LatentMatcher(3, 4).apply(z).tolist() == [[0, 1], [2, 3], [4, 5], [0, 0]]
    assert LatentMatcher(3, 2, "map", (2, -1)).apply(z).tolist() == [[4, 5], [0, 0]]
    noisy = LatentMatcher(3, 5, "pad_noise", rng=np.random.default_rng(0)).apply(z)
    assert noisy[:3].tolist() == z.tolist() and np.all(noisy[3:] != 0)
    with pytest.raises(EngineError, match="source dim 7"):
        LatentMatcher(3, 2, "map", (7, 0), where="graphs.t")
    with pytest.raises(EngineError, match="2 entries"):
        LatentMatcher(3, 4, "map", (0, 1), where="graphs.t")
