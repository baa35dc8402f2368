"""Hot swap of decoders: model.select among alternatives, prepare_swap of a new file, failed loads."""

import numpy as np
from adapters import MODELS
from helpers import make_engine, run

from ravebox.params.table import ParamKey

ALTS = """
[graphs.t]
encoder = "a"
decoders = ["a", "b"]
[output]
crossfade_ms = 100
"""
ONLY_A = '\n[graphs.t]\nencoder = "a"\ndecoders = ["a"]\n'
ONLY_B = '\n[graphs.t]\nencoder = "a"\ndecoders = ["b"]\n'
SWAP_BLOCK = 6
FADE = 4800


def _select_b(store, frame):
    if frame == SWAP_BLOCK * 2048:
        store.set(ParamKey("model.select", "t"), 1, frame)


def test_select_crossfades_without_a_larger_discontinuity_than_the_fade_allows(tmp_path):
    blocks = 14
    swapped = run(make_engine(tmp_path, ALTS), blocks, setup=_select_b)["t"][0]
    only_a = run(make_engine(tmp_path, ONLY_A), blocks)["t"][0]
    only_b = run(make_engine(tmp_path, ONLY_B), blocks)["t"][0]
    start = SWAP_BLOCK * 2048
    assert np.array_equal(swapped[:start], only_a[:start])        # untouched before the switch
    # during the fade the output is a + g (b - a) with g rising by 1/fade per sample: the swap's
    # effect on the output grows no faster than the crossfade allows
    seg = slice(start, start + FADE + 2048)
    g = np.clip(np.arange(1, FADE + 2049) / FADE, 0.0, 1.0)
    a, b = only_a[seg], only_b[seg]
    tol = 0.02 * np.abs(only_b).max()  # b is primed from recent latents, not run from the start
    assert np.abs(swapped[seg] - (a + g * (b - a))).max() <= tol
    assert np.all(np.abs(swapped[seg] - a) <= g * np.abs(b - a).max() + tol)
    assert np.abs(swapped[start:start + 48] - only_a[start:start + 48]).max() < 0.25 * np.abs(b - a).max()
    # after the fade only decoder b plays (same latents, primed state: converges to the b-only output)
    tail = slice(start + FADE + 4 * 2048, blocks * 2048)
    assert np.abs(swapped[tail] - only_b[tail]).max() < 0.25 * np.abs(only_b[tail]).max() + 1e-6


def test_prepare_swap_loads_off_the_worker_and_crossfades(tmp_path):
    engine = make_engine(tmp_path, ONLY_A)
    result = {}

    def swap(store, frame):
        if frame == SWAP_BLOCK * 2048:
            result["r"] = engine.prepare_swap("t", str(MODELS / "rave_b.ts"))

    out = run(engine, 12, setup=swap)["t"][0]
    only_a = run(make_engine(tmp_path, ONLY_A), 12)["t"][0]
    assert result["r"].ok
    assert engine.status()["t"]["swaps"] == 1
    assert not np.array_equal(out[SWAP_BLOCK * 2048:], only_a[SWAP_BLOCK * 2048:])
    assert np.isfinite(out).all()


def test_failed_load_keeps_the_old_model_and_says_why(tmp_path):
    engine = make_engine(tmp_path, ONLY_A)
    results = []

    def swap(store, frame):
        if frame == 2 * 2048:
            results.append(engine.prepare_swap("t", str(tmp_path / "missing.ts")))
            bad = tmp_path / "garbage.ts"
            bad.write_bytes(b"not a model")
            results.append(engine.prepare_swap("t", str(bad)))
            results.append(engine.prepare_swap("t", str(MODELS / "prior_a.ts")))

    out = run(engine, 6, setup=swap)["t"]
    reference = run(make_engine(tmp_path, ONLY_A), 6)["t"]
    assert [r.ok for r in results] == [False, False, False]
    assert all("keeping the old model" in r.message for r in results)
    assert "missing.ts" in results[0].message
    assert np.array_equal(out, reference)


def test_encoder_swap_crossfades_latents_and_keeps_the_graph_running(tmp_path):
    body = '\n[graphs.t]\nencoder = "a"\ndecoder = "a"\n[output]\ncrossfade_ms = 170\n'  # 170 ms = 4 frames
    engine = make_engine(tmp_path, body)
    results = []

    def swap(store, frame):
        if frame == 4 * 2048:
            results.append(engine.prepare_swap("t", str(MODELS / "rave_b.ts"), role="encoder"))

    out = run(engine, 12, setup=swap)["t"][0]
    reference = run(make_engine(tmp_path, body), 12)["t"][0]
    assert results[0].ok, results[0].message
    assert np.array_equal(out[:4 * 2048], reference[:4 * 2048])
    assert not np.array_equal(out[8 * 2048:], reference[8 * 2048:])
    assert np.isfinite(out).all()
    runner = engine.graphs["t"]
    assert runner.enc.live.source == 16 and runner._old_enc is None  # the fade finished


def test_prior_swap_and_misfits(tmp_path):
    body = '\n[graphs.g]\nkind = "prior"\nprior = "p"\ndecoder = "a"\n'
    engine = make_engine(tmp_path, body)
    good = engine.prepare_swap("g", str(MODELS / "prior_a.ts"), role="prior")
    wrong_role = engine.prepare_swap("g", str(MODELS / "rave_a.ts"), role="prior")
    no_encoder = engine.prepare_swap("g", str(MODELS / "rave_a.ts"), role="encoder")
    bad_role = engine.prepare_swap("g", str(MODELS / "rave_a.ts"), role="vocoder")
    assert good.ok
    assert not wrong_role.ok and "not a prior" in wrong_role.message
    assert not no_encoder.ok and "no encoder" in no_encoder.message
    assert not bad_role.ok and "unknown role" in bad_role.message
    out = run(engine, 8, x=np.zeros((1, 8 * 2048), np.float32))["g"]
    assert np.isfinite(out).all() and np.sqrt(np.mean(out ** 2)) > 1e-5


def test_latent_fade_ramps_per_frame():
    from ravebox.engine.graph import _blend
    from ravebox.engine.swap import LatentFade

    fade = LatentFade(4)
    g1, g2 = fade.gains(3), fade.gains(3)
    assert g1.tolist() == [0.25, 0.5, 0.75] and g2.tolist() == [1.0, 1.0, 1.0] and fade.done
    old, new = np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)
    assert _blend(old, new, g1).tolist() == [[0.25, 0.5, 0.75]] * 2
