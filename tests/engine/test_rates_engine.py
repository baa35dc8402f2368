"""Any model on any box: graphs whose models run at other sample rates and ratios than the box.

The tone probes (tools/make_test_models.py) encode the 1 kHz part of their input at their *own*
rate and decode onto a 1 kHz carrier at their own rate: a graph plays at the right pitch only if
its output is converted, and its amplitude stays steady only if the encoder heard 1 kHz too.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ravebox.clock.view import ClockView
from ravebox.config.box import load_box
from ravebox.engine import domains
from ravebox.engine.domains import Domain
from ravebox.engine.engine import Engine
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from tests.signals import pitch

MODELS = Path(__file__).resolve().parents[1] / "models"
TABLE = "".join(f'{name} = "{MODELS / file}"\n' for name, file in (
    ("t44_512", "tone_44k_512.ts"), ("t44_2048", "tone_44k_2048.ts"), ("t48_512", "tone_48k_512.ts"),
    ("t48_2048", "tone_48k_2048.ts"), ("codes", "codes_44k_2048.ts"), ("rave_a", "rave_a.ts")))


def _box(tmp_path: Path, body: str, models: str = ""):
    path = tmp_path / "box.toml"
    path.write_text("[models]\n" + TABLE + models + body)
    return load_box(path)


def _run(engine: Engine, seconds: float, freq: float = 1000.0, amp: float = 0.4,
         select: dict[int, int] | None = None) -> dict[str, np.ndarray]:
    """Every graph's output for a sine input; ``select``: block -> ``model.select`` set then (every graph)."""
    sr, n = engine.sample_rate, engine.block_size
    blocks = int(seconds * sr) // n
    x = (amp * np.sin(2 * np.pi * freq * np.arange(blocks * n) / sr)).astype(np.float32)[None]
    store, clock = ParamStore(engine.graph_dims, sr), ClockView.internal(120.0, sr)
    outs: dict[str, list] = {g: [] for g in engine.graphs}
    for b in range(blocks):
        if b in (select or {}):
            for g in engine.graphs:
                store.set(ParamKey("model.select", g), select[b], b * n)
        wet = engine.process({g: x[:, b * n:(b + 1) * n] for g in engine.graphs}, b * n, store, clock)
        for g, y in wet.items():
            assert y.shape == (engine.channels[g][1], n)
            outs[g].append(y)
    return {g: np.concatenate(v, axis=1)[0] for g, v in outs.items()}


def _steady(y: np.ndarray, sr: int) -> float:
    """Peak-to-peak spread of the per-10 ms peak level over the second half, relative to the input's
    0.4 (0 = steady tone; an encoder hearing at a wrong rate makes the level beat by up to 2)."""
    tail = y[len(y) // 2:]
    hop = sr // 100
    peaks = np.array([np.abs(tail[i:i + hop]).max() for i in range(0, len(tail) - hop, hop)])
    return float((peaks.max() - peaks.min()) / 0.4)


PAIRS = [("t44_512", "t48_2048"), ("t48_2048", "t44_512"), ("t44_2048", "t44_2048"), ("t48_512", "t48_512"),
         ("t44_512", "t44_2048"), ("t48_2048", "t48_512"), ("t44_2048", "t48_512")]


@pytest.mark.parametrize("box_rate", [44100, 48000])
@pytest.mark.parametrize("encoder,decoder", PAIRS)
def test_transfer_plays_at_the_right_pitch_on_any_box(tmp_path, box_rate, encoder, decoder):
    engine = Engine(_box(tmp_path, f'[graphs.g]\nencoder = "{encoder}"\ndecoder = "{decoder}"\n'), box_rate, 1)
    y = _run(engine, 1.5)["g"]
    runner = engine.graphs["g"]
    assert abs(pitch(y, box_rate, settle=0.25) - 1000.0) <= 1.0                 # +-0.1 %
    assert _steady(y, box_rate) < 0.05                               # the encoder heard 1 kHz at its own rate
    assert np.abs(y).max() > 0.1    # |0.4 heard + 0.25 carrier|: 0.15 .. 0.65 with the phase the input latency gives
    assert runner.enc.feed.converter.late == 0 and _shortfalls(runner) == 0
    assert engine.latency_frames == runner.latency >= runner.plan.latency


def _shortfalls(runner) -> int:
    """Samples any of the graph's output resamplers owed and did not have (expected 0)."""
    return sum(v.output.resampler.short for v in runner.bank.voices)


def test_native_models_add_nothing(tmp_path):
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "t48_2048"\n'), 48000, 1)
    runner = engine.graphs["g"]
    assert runner.native and engine.latency_frames == 0 and engine.block_size == 2048


def test_resample_off_plays_the_model_at_the_box_rate_like_nn_tilde(tmp_path):
    models = f'off44 = {{ path = "{MODELS / "tone_44k_2048.ts"}", resample = "off" }}\n'
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "off44"\n', models), 48000, 1)
    y = _run(engine, 1.5, freq=1000.0 * 48000 / 44100)["g"]
    assert engine.latency_frames == 0 and engine.block_size == 2048
    assert abs(pitch(y, 48000, settle=0.25) - 1000.0 * 48000 / 44100) <= 1.5      # 1.47 semitones sharp, as nn~ plays it


def test_mixed_rates_and_ratios_in_one_box_are_padded_to_one_latency(tmp_path):
    body = ('[graphs.a]\nencoder = "t44_512"\ndecoder = "t48_2048"\n'
            '[graphs.b]\nencoder = "t48_2048"\ndecoder = "t44_512"\n'
            '[graphs.c]\nencoder = "t48_512"\n')
    engine = Engine(_box(tmp_path, body), 48000, 1)
    latencies = {g: r.latency for g, r in engine.graphs.items()}
    assert set(latencies.values()) == {engine.latency_frames} and engine.latency_frames > 0
    out = _run(engine, 1.5)
    for y in out.values():
        assert abs(pitch(y, 48000, settle=0.25) - 1000.0) <= 1.0
    assert np.all(out["c"][:engine.latency_frames - 1] == 0.0)   # the native graph waits for the slowest


def test_render_style_runs_are_sample_exact_and_deterministic(tmp_path):
    body = '[graphs.a]\nencoder = "t44_512"\ndecoder = "t48_2048"\n[graphs.b]\nencoder = "rave_a"\n'
    first = _run(Engine(_box(tmp_path, body), 44100, 3), 1.0)
    second = _run(Engine(_box(tmp_path, body), 44100, 3), 1.0)
    for g in first:
        assert np.array_equal(first[g], second[g])


def test_discrete_codes_are_held_never_interpolated(tmp_path):
    seen: list[np.ndarray] = []
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "codes"\ndecoder = "t48_512"\n'), 48000, 1,
                    loader=_recording_loader(seen, "t48_512"))
    runner = engine.graphs["g"]
    assert runner.enc.feed.converter.hold and getattr(runner.encoder, "discrete", False)
    _run(engine, 1.0)
    z = np.concatenate(seen, axis=-1)
    assert np.array_equal(z, np.round(z)) and z.max() <= 15 and z.min() >= 0


def _recording_loader(seen: list, decoder: str):
    from ravebox.engine.engine import default_loader

    def load(spec, sr):
        model = default_loader(spec, sr)
        if spec.name == decoder:
            decode = model.decode

            def recording(z):
                seen.append(z.numpy().copy())
                return decode(z)
            model.decode = recording
        return model
    return load


ALTERNATIVES = [("t48_2048", "t44_512"), ("t44_512", "t48_2048"), ("t44_2048", "t48_512"), ("t48_512", "t44_2048")]


@pytest.mark.parametrize("box_rate", [44100, 48000])
@pytest.mark.parametrize("first,second", ALTERNATIVES)
def test_decoder_alternatives_of_other_rates_and_ratios_each_play_in_their_own_domain(tmp_path, box_rate, first,
                                                                                     second):
    """model.select crossfades between decoders of different rates and ratios: each plays at 1 kHz
    and hears the 1 kHz input (a steady level), every count exact, the same output every run."""
    body = f'[graphs.g]\nencoder = "t44_512"\ndecoders = ["{first}", "{second}"]\n[output]\ncrossfade_ms = 50\n'
    engine = Engine(_box(tmp_path, body), box_rate, 1)
    n = engine.block_size
    switch = int(1.0 * box_rate) // n
    y = _run(engine, 2.2, select={switch: 1})["g"]
    runner = engine.graphs["g"]
    before, after = y[:switch * n], y[(switch + 4) * n + box_rate // 10:]
    assert abs(pitch(before, box_rate, settle=0.25) - 1000.0) <= 1.0 and abs(pitch(after, box_rate, settle=0.25) - 1000.0) <= 1.0
    assert _steady(after, box_rate) < 0.05 and _steady(before, box_rate) < 0.05
    assert np.abs(after).max() > 0.1 and np.abs(y).max() < 0.7  # |0.4 heard + 0.25 carrier|, never more
    assert runner.bank.current == 1 and not runner.bank.fading
    assert runner.enc.feed.converter.late == 0 and _shortfalls(runner) == 0
    assert all(v.latents.late == 0 for v in runner.bank.voices)
    assert engine.latency_frames == runner.latency
    again = _run(Engine(_box(tmp_path, body), box_rate, 1), 2.2, select={switch: 1})["g"]
    assert np.array_equal(y, again)                              # deterministic, sample for sample


def test_alternatives_are_padded_to_one_latency(tmp_path):
    """Each alternative's output lags the graph's latents by its own hop and resampler; padding makes
    them all land on the graph's latency (so a crossfade joins two aligned signals)."""
    body = '[graphs.g]\nencoder = "t48_2048"\ndecoders = ["t48_2048", "t44_512", "t44_2048"]\n'
    engine = Engine(_box(tmp_path, body), 48000, 1)
    runner = engine.graphs["g"]
    voices = runner.bank.voices
    assert voices[0].latents.identity and voices[0].output.resampler.identity   # padded, but at the box's rate
    assert not voices[1].native and not voices[2].native
    budget = runner.bank.latency
    for v in voices:
        assert v.latency + v.output._queue.shape[1] == budget and v.late_by == 0
    assert budget == max(v.latency for v in voices) and engine.latency_frames == runner.latency == budget


def test_a_hot_swapped_decoder_of_another_rate_plays_at_the_right_pitch(tmp_path):
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "t44_512"\ndecoder = "t48_2048"\n'), 48000, 1)
    result = engine.prepare_swap("g", str(MODELS / "tone_44k_512.ts"))
    assert result.ok, result.message
    y = _run(engine, 1.5)["g"]
    assert engine.status()["g"]["swaps"] == 1
    assert abs(pitch(y[len(y) // 2:], 48000, settle=0.25) - 1000.0) <= 1.0


@pytest.mark.parametrize("box_rate,enc,dec,block", [
    (48000, Domain(44100, 512), Domain(48000, 2048), 2048),
    (48000, Domain(48000, 2048), Domain(44100, 512), 2048),
    (44100, Domain(48000, 512), Domain(44100, 2048), 2048),
    (48000, Domain(44100, 2048), Domain(44100, 2048), 2230),
    (96000, Domain(44100, 2048), Domain(22050, 512), 4460),
])
def test_an_hour_of_blocks_keeps_every_count_exact(box_rate, enc, dec, block):
    """The integer schedule over an hour: every read causal, the output queue bounded, no drift."""
    plan = domains.plan_graph(box_rate, block, dec, enc, 1, 1)
    calls = np.arange(1, 3600 * box_rate // block + 1, dtype=np.int64)
    total = calls * block
    e, k = domains.encoded_by(total, box_rate, enc), domains.frames_due(total, box_rate, dec)
    step = plan.latent_step
    newest_read = ((k - 1) * step.numerator * plan.latent_delay.denominator
                   - plan.latent_delay.numerator * step.denominator * 1)
    assert np.all(newest_read <= (e - 1) * step.denominator * plan.latent_delay.denominator)
    queued = (k * dec.ratio * box_rate) // dec.rate - total               # decoded beyond what was asked
    assert queued.min() >= 0 and queued.max() <= Fraction(dec.ratio * box_rate, dec.rate) + block
    assert k[-1] == -((-(total[-1] * dec.rate) // box_rate) // dec.ratio)     # ceil(ceil(total * rate / box_rate) / ratio)


def test_block_size_is_the_lcm_when_native_and_holds_the_longest_frame_otherwise():
    assert domains.block_size([Domain(48000, 512), Domain(48000, 2048)], 48000, 1) == 2048
    assert domains.block_size([Domain(44100, 2048)], 48000, 1) == 2230
    assert domains.block_size([Domain(48000, 512), Domain(44100, 2048)], 48000, 2) == 2 * 2560


def test_conv_tuning_times_a_converted_model_at_its_own_block(tmp_path):
    """Tuning needs whole model frames: a 44.1 kHz model on a 48 kHz box is tuned at 2 * 2048 of its own samples."""
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "t44_2048"\n'), 48000, 1, conv_tuning="on")
    assert engine.block_size == 2230 and engine._model_block(engine.graphs["g"].encoder) == 2 * 2048
    assert any("tone_44k_2048.ts" in e for e in engine.events)


def test_a_prior_graph_of_48k_models_plays_on_a_44k_box(tmp_path):
    models = f'p = "{MODELS / "prior_a.ts"}"\n'
    body = '[graphs.dream]\nkind = "prior"\nencoder = "rave_a"\nprior = "p"\ndecoder = "rave_a"\n'
    engine = Engine(_box(tmp_path, body, models), 44100, 1)
    y = _run(engine, 1.0)["dream"]
    runner = engine.graphs["dream"]
    assert np.all(np.isfinite(y)) and np.abs(y).max() > 0
    assert engine.block_size == 1882 and runner.prior.clock is None   # the prior plays at its decoder's rate
    assert runner.enc.feed.converter.late == 0 and _shortfalls(runner) == 0


def test_latent_bias_leaves_the_codes_of_a_discrete_decoder_alone(tmp_path):
    def codes_heard(bias: float) -> np.ndarray:
        seen: list[np.ndarray] = []
        engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "codes"\n'), 48000, 1,
                        loader=_recording_loader(seen, "codes"))
        store, clock = ParamStore(engine.graph_dims, 48000), ClockView.internal(120.0, 48000)
        store.set(ParamKey("latent.bias", None, 0), bias, 0)
        x = (0.4 * np.sin(2 * np.pi * 1000.0 * np.arange(8 * engine.block_size) / 48000)).astype(np.float32)[None]
        n = engine.block_size
        for b in range(8):
            engine.process({"g": x[:, b * n:(b + 1) * n]}, b * n, store, clock)
        return np.concatenate(seen[-6:], axis=-1)

    assert np.array_equal(codes_heard(0.0), codes_heard(3.0))


def _lfo_hz(y: np.ndarray, sr: int) -> float:
    """Frequency of the level's swing: rising crossings of the per-10 ms peak level through its mean."""
    hop = sr // 100
    tail = y[len(y) // 3:]
    level = np.abs(tail[:len(tail) // hop * hop]).reshape(-1, hop).max(axis=1)
    level = level - level.mean()
    up = np.flatnonzero((level[:-1] < 0) & (level[1:] >= 0))
    return 100.0 * (len(up) - 1) / (up[-1] - up[0])


@pytest.mark.parametrize("box_rate,prior_rate,prior_ratio,with_rate,decoder", [
    (48000, 44100, 512, True, "t48_2048"),      # another rate and another ratio than its decoder
    (44100, 44100, 512, True, "t48_2048"),
    (48000, 48000, 512, False, "t48_2048"),     # no rate in the file (as MSPrior exports): the decoder's
    (44100, 48000, 2048, True, "t44_512"),
    (48000, 48000, 2048, True, "t48_2048"),     # the same domain: no conversion at all
])
def test_a_prior_at_another_frame_rate_than_its_decoder_drives_it_in_real_time(tmp_path, box_rate, prior_rate,
                                                                               prior_ratio, with_rate, decoder):
    """The LFO prior swings its latent at 5 Hz of its own clock; the decoder's level must swing at
    5 Hz of real time (taken frame for frame it would swing at 5 Hz x the ratio of the frame rates)."""
    from lfo_prior import save_lfo_prior

    prior = save_lfo_prior(tmp_path / "lfo.ts", prior_rate, prior_ratio, 5, with_rate)
    body = f'[graphs.dream]\nkind = "prior"\nprior = "lfo"\ndecoder = "{decoder}"\n'
    engine = Engine(_box(tmp_path, body, f'lfo = "{prior}"\n'), box_rate, 1)
    runner = engine.graphs["dream"]
    assert (runner.prior.clock is None) == (prior_ratio == 2048 and decoder == "t48_2048")
    y = _run(engine, 4.0)["dream"]
    assert abs(_lfo_hz(y, box_rate) - 5.0) < 0.25
    assert abs(pitch(y, box_rate, settle=0.25) - 1000.0) <= 1.0
    if runner.prior.clock is not None:
        assert runner.prior.clock.inbound.late == 0 and runner.prior.clock.outbound.late == 0
    again = _run(Engine(_box(tmp_path, body, f'lfo = "{prior}"\n'), box_rate, 1), 4.0)["dream"]
    assert np.array_equal(y, again)
