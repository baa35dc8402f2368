"""Per-dimension bias/scale/noise/freeze, measured through the committed rave_a model."""

import numpy as np
from helpers import SR, make_engine, run

from ravebox.engine.latent_ops import Shaper
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

RECON = """
[graphs.t]
encoder = "a"
"""


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_zero_bias_leaves_output_unchanged_and_bias_changes_it(tmp_path):
    base = run(make_engine(tmp_path, RECON), 12)["t"]
    zero = run(make_engine(tmp_path, RECON), 12,
               setup=lambda s, f: f == 0 and s.set(ParamKey("latent.bias", "t", 0), 0.0, 0))["t"]
    biased = run(make_engine(tmp_path, RECON), 12,
                 setup=lambda s, f: f == 0 and s.set(ParamKey("latent.bias", "t", 0), 2.0, 0, glide_ms=0))["t"]
    assert np.array_equal(base, zero)
    assert _rms(biased - base) > 0.2 * _rms(base)


def test_noise_is_seeded_and_changes_output(tmp_path):
    def noisy(s, f):
        if f == 0:
            s.set(ParamKey("latent.noise", "t"), 1.0, 0, glide_ms=0)

    base = run(make_engine(tmp_path, RECON), 8)["t"]
    one = run(make_engine(tmp_path, RECON, seed=3), 8, setup=noisy)["t"]
    two = run(make_engine(tmp_path, RECON, seed=3), 8, setup=noisy)["t"]
    other = run(make_engine(tmp_path, RECON, seed=4), 8, setup=noisy)["t"]
    assert np.array_equal(one, two)
    assert not np.array_equal(one, other)
    assert _rms(one - base) > 0.1 * _rms(base)


def test_freeze_holds_the_latent_so_output_stops_following_input(tmp_path):
    frozen = run(make_engine(tmp_path, RECON), 16,
                 setup=lambda s, f: f == 4 * 2048 and s.set(ParamKey("latent.freeze", "t"), 1, f))["t"][0]
    live = run(make_engine(tmp_path, RECON), 16)["t"][0]
    late = slice(10 * 2048, 16 * 2048)
    block_rms = [_rms(frozen[i * 2048:(i + 1) * 2048]) for i in range(10, 16)]
    assert not np.array_equal(frozen[late], live[late])
    assert max(block_rms) - min(block_rms) < 0.5 * np.mean(block_rms)  # a held frame: a steady sound


def test_values_change_per_latent_frame_inside_one_block():
    """A glide inside a block gives each latent frame its own bias (not one value per block)."""
    store = ParamStore({"g": 2}, SR)
    store.set(ParamKey("latent.bias", "g", 1), 4.0, 0, glide_ms=4 * 2048 * 1000 / SR)
    z = np.zeros((2, 4), dtype=np.float32)
    Shaper("g", 2, np.random.default_rng(0)).process(z, np.arange(4) * 2048, store, {"latent.bias"})
    assert z[0].tolist() == [0, 0, 0, 0]
    assert z[1].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_scale_zero_on_every_dim_equals_decoding_zeros(tmp_path):
    scaled = run(make_engine(tmp_path, RECON), 6,
                 setup=lambda s, f: f == 0 and s.set(ParamKey("latent.scale", "t"), 0.0, 0, glide_ms=0))["t"]
    silent_in = run(make_engine(tmp_path, RECON), 6, x=np.zeros((1, 6 * 2048), np.float32),
                    setup=lambda s, f: f == 0 and s.set(ParamKey("latent.scale", "t"), 0.0, 0, glide_ms=0))["t"]
    assert np.array_equal(scaled, silent_in)
