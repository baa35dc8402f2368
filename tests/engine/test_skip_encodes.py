"""Encodes nobody uses are skipped: the output is unchanged, the encoder is not called, and it resumes primed."""

import numpy as np
from helpers import SR, make_engine, run

from ravebox.clock.view import ClockView
from ravebox.params.table import ParamKey

RECON = '\n[graphs.t]\nencoder = "a"\n'
PRIOR = '\n[graphs.g]\nkind = "prior"\nencoder = "a"\nprior = "p"\ndecoder = "a"\n'
FRAMES_PER_BEAT = 16
BPM = 60 * SR / (FRAMES_PER_BEAT * 2048)  # one beat = 16 latent frames = 16 blocks


class CountingEncoder:
    """Wraps the encoder model to count its calls (the engine calls ``encode`` once per block)."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def encode(self, x):
        self.calls += 1
        return self.model.encode(x)


def _count(engine, graph):
    stage = engine.graphs[graph].enc
    stage.model = CountingEncoder(stage.model)
    return stage.model


def _loop_then_dissolve(resume_block):
    def setup(store, frame):
        if frame == 0:
            store.set(ParamKey("loop.enabled", "t"), 1, 0)
            store.set(ParamKey("loop.beats", "t"), 1.0, 0)
        if frame == resume_block * 2048:
            store.set(ParamKey("loop.dissolve", "t"), 0.5, frame, glide_ms=0)
    return setup


def _run_loop(tmp_path, skip, blocks=48, resume_block=40):
    engine = make_engine(tmp_path, RECON)
    engine.graphs["t"].skip_unused_encodes = skip
    counter = _count(engine, "t")
    out = run(engine, blocks, clock=ClockView.internal(BPM, SR), setup=_loop_then_dissolve(resume_block))["t"][0]
    return out, counter.calls, engine


def test_an_exact_loop_skips_the_encoder_and_sounds_the_same(tmp_path):
    skipped, calls, engine = _run_loop(tmp_path, skip=True)
    plain, plain_calls, _ = _run_loop(tmp_path, skip=False)
    resume = 40 * 2048
    # recording takes blocks 0-15; block 16 starts the replay (the loop learns it inside the
    # block), so 17-39 are predicted exact: 23 blocks with no encode
    assert engine.status()["t"]["skipped_encodes"] == 23
    assert plain_calls == 48 and calls == 48 - 23 + 1   # + one priming encode at the resume
    assert np.array_equal(skipped[:resume], plain[:resume])
    assert np.sqrt(np.mean(plain[resume:] ** 2)) > 1e-5
    # after the resume the encoder heard the block before it: the dissolved output matches the
    # never-paused run to within a small fraction of its level
    diff = np.abs(skipped[resume:] - plain[resume:]).max()
    assert diff <= 0.05 * np.abs(plain[resume:]).max(), diff


def test_a_prior_that_does_not_listen_skips_the_encoder(tmp_path):
    def listen_later(store, frame):
        if frame == 0:
            store.set(ParamKey("prior.listen", "g"), 0, 0)
        if frame == 6 * 2048:
            store.set(ParamKey("prior.listen", "g"), 1, frame)

    outs = {}
    for skip in (True, False):
        engine = make_engine(tmp_path, PRIOR)
        engine.graphs["g"].skip_unused_encodes = skip
        counter = _count(engine, "g")
        outs[skip] = run(engine, 10, setup=listen_later)["g"][0]
        assert counter.calls == (10 - 6 + 1 if skip else 10)
    assert np.array_equal(outs[True][:6 * 2048], outs[False][:6 * 2048])
    assert np.sqrt(np.mean(outs[True] ** 2)) > 1e-6


def test_a_listening_prior_and_a_plain_transfer_never_skip(tmp_path):
    engine = make_engine(tmp_path, RECON)
    counter = _count(engine, "t")
    run(engine, 6)
    assert counter.calls == 6 and engine.status()["t"]["skipped_encodes"] == 0
    engine = make_engine(tmp_path, PRIOR)
    counter = _count(engine, "g")
    run(engine, 4, setup=lambda store, frame: store.set(ParamKey("prior.listen", "g"), 1, 0) if frame == 0 else None)
    assert counter.calls == 4
