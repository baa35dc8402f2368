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
from ravebox.errors import EngineError
from ravebox.params.store import ParamStore

MODELS = Path(__file__).resolve().parents[1] / "models"
TABLE = "".join(f'{name} = "{MODELS / file}"\n' for name, file in (
    ("t44_512", "tone_44k_512.ts"), ("t44_2048", "tone_44k_2048.ts"), ("t48_512", "tone_48k_512.ts"),
    ("t48_2048", "tone_48k_2048.ts"), ("codes", "codes_44k_2048.ts"), ("rave_a", "rave_a.ts")))


def _box(tmp_path: Path, body: str, models: str = ""):
    path = tmp_path / "box.toml"
    path.write_text("[models]\n" + TABLE + models + body)
    return load_box(path)


def _run(engine: Engine, seconds: float, freq: float = 1000.0, amp: float = 0.4) -> dict[str, np.ndarray]:
    sr, n = engine.sample_rate, engine.block_size
    blocks = int(seconds * sr) // n
    x = (amp * np.sin(2 * np.pi * freq * np.arange(blocks * n) / sr)).astype(np.float32)[None]
    store, clock = ParamStore(engine.graph_dims, sr), ClockView.internal(120.0, sr)
    outs: dict[str, list] = {g: [] for g in engine.graphs}
    for b in range(blocks):
        wet = engine.process({g: x[:, b * n:(b + 1) * n] for g in engine.graphs}, b * n, store, clock)
        for g, y in wet.items():
            assert y.shape == (engine.channels[g][1], n)
            outs[g].append(y)
    return {g: np.concatenate(v, axis=1)[0] for g, v in outs.items()}


def _pitch(y: np.ndarray, sr: int) -> float:
    y = y[len(y) // 4:]
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    return sr * (len(up) - 1) / (up[-1] - up[0])


def _steady(y: np.ndarray, sr: int) -> float:
    """Peak-to-peak spread of the per-10 ms peak level over the second half (0 = steady tone)."""
    tail = y[len(y) // 2:]
    hop = sr // 100
    peaks = np.array([np.abs(tail[i:i + hop]).max() for i in range(0, len(tail) - hop, hop)])
    return float((peaks.max() - peaks.min()) / peaks.max())


PAIRS = [("t44_512", "t48_2048"), ("t48_2048", "t44_512"), ("t44_2048", "t44_2048"), ("t48_512", "t48_512"),
         ("t44_512", "t44_2048"), ("t48_2048", "t48_512"), ("t44_2048", "t48_512")]


@pytest.mark.parametrize("box_rate", [44100, 48000])
@pytest.mark.parametrize("encoder,decoder", PAIRS)
def test_transfer_plays_at_the_right_pitch_on_any_box(tmp_path, box_rate, encoder, decoder):
    engine = Engine(_box(tmp_path, f'[graphs.g]\nencoder = "{encoder}"\ndecoder = "{decoder}"\n'), box_rate, 1)
    y = _run(engine, 1.5)["g"]
    runner = engine.graphs["g"]
    assert abs(_pitch(y, box_rate) - 1000.0) <= 1.0                 # +-0.1 %
    assert _steady(y, box_rate) < 0.05                               # the encoder heard 1 kHz at its own rate
    assert np.abs(y).max() > 0.5                                     # 0.4 heard + 0.25 carrier, in phase
    assert runner.enc.feed.converter.late == 0 and runner.output.resampler.short == 0
    assert engine.latency_frames == runner.latency >= runner.plan.latency


def test_native_models_add_nothing(tmp_path):
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "t48_2048"\n'), 48000, 1)
    runner = engine.graphs["g"]
    assert runner.native and engine.latency_frames == 0 and engine.block_size == 2048


def test_resample_off_plays_the_model_at_the_box_rate_like_nn_tilde(tmp_path):
    models = f'off44 = {{ path = "{MODELS / "tone_44k_2048.ts"}", resample = "off" }}\n'
    engine = Engine(_box(tmp_path, '[graphs.g]\nencoder = "off44"\n', models), 48000, 1)
    y = _run(engine, 1.5, freq=1000.0 * 48000 / 44100)["g"]
    assert engine.latency_frames == 0 and engine.block_size == 2048
    assert abs(_pitch(y, 48000) - 1000.0 * 48000 / 44100) <= 1.5      # 1.47 semitones sharp, as nn~ plays it


def test_mixed_rates_and_ratios_in_one_box_are_padded_to_one_latency(tmp_path):
    body = ('[graphs.a]\nencoder = "t44_512"\ndecoder = "t48_2048"\n'
            '[graphs.b]\nencoder = "t48_2048"\ndecoder = "t44_512"\n'
            '[graphs.c]\nencoder = "t48_512"\n')
    engine = Engine(_box(tmp_path, body), 48000, 1)
    latencies = {g: r.latency for g, r in engine.graphs.items()}
    assert set(latencies.values()) == {engine.latency_frames} and engine.latency_frames > 0
    out = _run(engine, 1.5)
    for y in out.values():
        assert abs(_pitch(y, 48000) - 1000.0) <= 1.0
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


def test_decoder_alternatives_must_share_rate_and_ratio(tmp_path):
    box = _box(tmp_path, '[graphs.g]\nencoder = "t48_2048"\ndecoders = ["t48_2048", "t44_2048"]\n')
    with pytest.raises(EngineError, match=r"decoder alternative 't44_2048' runs at 44100 Hz / ratio 2048"):
        Engine(box, 48000, 1)


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
    assert k[-1] == -(-(-(-(total[-1] * dec.rate) // box_rate)) // dec.ratio)


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
    assert np.all(np.isfinite(y)) and np.abs(y).max() > 0 and engine.block_size == 2048  # the prior: box rate
    assert runner.enc.feed.converter.late == 0 and runner.output.resampler.short == 0


def test_latent_bias_leaves_the_codes_of_a_discrete_decoder_alone(tmp_path):
    from ravebox.params.table import ParamKey

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
