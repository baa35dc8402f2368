"""The beat-locked latent loop: sample-exact repetition at dissolve 0, divergence as dissolve rises."""

import numpy as np
from helpers import SR, make_engine, run

from ravebox.clock.view import ClockView
from ravebox.engine.loop import LatentLoop
from ravebox.params.table import ParamKey

RECON = '\n[graphs.t]\nencoder = "a"\n'
FRAMES_PER_BEAT = 16
BPM = 60 * SR / (FRAMES_PER_BEAT * 2048)  # one beat = 16 latent frames exactly
CYCLE = FRAMES_PER_BEAT * 2048


def _looped(tmp_path, dissolve, cycles=5, beats=1.0):
    def setup(store, frame):
        if frame == 0:
            store.set(ParamKey("loop.enabled", "t"), 1, 0)
            store.set(ParamKey("loop.beats", "t"), beats, 0)
            store.set(ParamKey("loop.dissolve", "t"), dissolve, 0, glide_ms=0)

    out = run(make_engine(tmp_path, RECON), cycles * FRAMES_PER_BEAT, clock=ClockView.internal(BPM, SR),
              setup=setup)["t"][0]
    return [out[i * CYCLE:(i + 1) * CYCLE] for i in range(cycles)]


def test_loop_repeats_sample_exactly_at_dissolve_zero(tmp_path):
    cycles = _looped(tmp_path, 0.0)
    assert np.sqrt(np.mean(cycles[2] ** 2)) > 1e-5
    for a, b in zip(cycles[1:], cycles[2:]):
        assert np.array_equal(a, b)


def test_loop_diverges_more_as_dissolve_rises(tmp_path):
    def divergence(d):
        c = _looped(tmp_path, d)
        return float(np.mean([np.sqrt(np.mean((c[i] - c[i + 1]) ** 2)) for i in range(2, 4)]))

    values = [divergence(d) for d in (0.0, 0.3, 1.0)]
    assert values[0] == 0.0
    assert 0.0 < values[1] < values[2]


def test_live_input_passes_while_recording(tmp_path):
    looped = _looped(tmp_path, 0.0, cycles=1)[0]
    live = run(make_engine(tmp_path, RECON), FRAMES_PER_BEAT)["t"][0]
    assert np.array_equal(looped, live)


def _feed(loop, beats, frames, running=True, enabled=1.0, dissolve=0.0, length=1.0, frame_beats=0.25):
    z = np.array([frames], dtype=np.float32)  # one dim, value = frame number
    ones = np.ones(len(frames))
    loop.process(z, ones * enabled, ones * length, ones * dissolve, np.asarray(beats, float), frame_beats, running)
    return z[0].tolist()


def test_recording_waits_for_the_aligned_start_and_plays_in_phase():
    loop = LatentLoop(1)
    # 4 slots per beat; enabled at beat 0.5: armed until beat 1.0
    out = _feed(loop, [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5], [10, 11, 12, 13, 14, 15, 16, 17, 18])
    assert out == [10, 11, 12, 13, 14, 15, 12, 13, 14]
    assert loop.state == "playing"


def test_epoch_change_rearms_the_recording():
    loop = LatentLoop(1)
    _feed(loop, [0, 0.25, 0.5, 0.75, 1.0], [0, 1, 2, 3, 4])
    assert loop.state == "playing"
    loop.rearm_if(epoch=1, trigger=0)  # first call only records the epoch
    loop.rearm_if(epoch=2, trigger=0)
    assert loop.state == "armed"
    assert _feed(loop, [0, 0.25], [20, 21]) == [20, 21] and loop.state == "recording"


def test_stopped_transport_free_runs_the_loop():
    loop = LatentLoop(1)
    out = _feed(loop, [3.3] * 6, [0, 1, 2, 3, 4, 5], running=False)
    assert out == [0, 1, 2, 3, 0, 1]


class _SpyPrior:
    """Records what the engine asks of the prior: listen flag and input per call."""

    def __init__(self, prior):
        self._p, self.calls, self._listen = prior, [], None

    def __getattr__(self, name):
        return getattr(self._p, name)

    def set_listen(self, on):
        self._listen = bool(on)
        self._p.set_listen(on)

    def forward(self, z):
        self.calls.append((self._listen, z.numpy().copy()))
        return self._p.forward(z)


def test_prior_listens_to_the_loop_until_dissolve_rises(tmp_path):
    """A looping prior graph primes the prior with the loop; dissolving lets it continue from there."""
    from adapters import loader
    from helpers import make_box

    from ravebox.engine.engine import Engine

    spies = []

    def load(spec, sr):
        model = loader()(spec, sr)
        if spec.name == "p":
            spies.append(_SpyPrior(model))
            return spies[-1]
        return model

    body = '\n[graphs.t]\nkind = "prior"\nprior = "p"\ndecoder = "a"\n'
    engine = Engine(make_box(tmp_path, body), SR, 1, loader=load)
    dissolve_at = 3 * FRAMES_PER_BEAT

    def setup(store, frame):
        if frame == 0:
            store.set(ParamKey("loop.enabled", "t"), 1, 0)
            store.set(ParamKey("loop.beats", "t"), 1.0, 0)
        if frame == dissolve_at * 2048:
            store.set(ParamKey("loop.dissolve", "t"), 0.6, frame, glide_ms=0)

    out = run(engine, 5 * FRAMES_PER_BEAT, clock=ClockView.internal(BPM, SR), x=np.zeros((1, 5 * CYCLE), np.float32),
              setup=setup)["t"][0]
    calls = spies[0].calls
    recording = [listen for listen, _ in calls[:FRAMES_PER_BEAT]]
    primed = calls[FRAMES_PER_BEAT + 1:dissolve_at]  # the wrap frame itself still records
    dissolving = [listen for listen, _ in calls[dissolve_at:]]
    assert not any(recording)                       # generating while the loop records
    assert all(listen for listen, _ in primed)      # listening to the loop while it repeats
    loop = engine.graphs["t"].loop.buffer[:FRAMES_PER_BEAT]
    heard = np.concatenate([z[0] for _, z in primed[:FRAMES_PER_BEAT]], axis=1).T
    assert np.array_equal(heard, np.roll(loop, -1, axis=0))  # ... to exactly the recorded pattern
    assert not any(dissolving)                      # generating onward once dissolve rises
    assert np.array_equal(out[CYCLE:2 * CYCLE], out[2 * CYCLE:3 * CYCLE])
    assert not np.array_equal(out[3 * CYCLE:4 * CYCLE], out[2 * CYCLE:3 * CYCLE])
