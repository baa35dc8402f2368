"""`ravebox render` with models at other rates: right pitch, any input rate, byte-identical reruns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ravebox.render import RenderJob, render
from tests.signals import pitch

MODELS = Path(__file__).resolve().parents[1] / "models"


def _box(tmp_path: Path, rate: int, encoder: str, decoder: str) -> Path:
    path = tmp_path / f"box{rate}.toml"
    path.write_text(f'[box]\nsample_rate = {rate}\n[models]\nenc = "{MODELS / encoder}"\ndec = "{MODELS / decoder}"\n'
                    '[graphs.g]\nencoder = "enc"\ndecoder = "dec"\n[output]\nceiling_db = 0.0\n')
    return path


def _tone(path: Path, rate: int, seconds: float = 1.5) -> Path:
    sf.write(path, 0.4 * np.sin(2 * np.pi * 1000.0 * np.arange(int(rate * seconds)) / rate), rate, subtype="FLOAT")
    return path


@pytest.mark.parametrize("box_rate,input_rate", [(48000, 44100), (44100, 48000), (48000, 48000), (44100, 22050)])
def test_a_44k_ratio_512_encoder_into_a_48k_ratio_2048_decoder_renders_at_the_right_pitch(tmp_path, box_rate,
                                                                                           input_rate):
    box = _box(tmp_path, box_rate, "tone_44k_512.ts", "tone_48k_2048.ts")
    wav = _tone(tmp_path / "in.wav", input_rate)
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}.wav"
        summary = render(RenderJob(box, out, wav, seed=2))
        outs.append(hashlib.sha256(out.read_bytes()).hexdigest())
    data, rate = sf.read(tmp_path / "out0.wav", dtype="float32", always_2d=True)
    assert rate == box_rate and summary["frames"] == len(data) == int(1.5 * input_rate) * box_rate // input_rate
    assert abs(pitch(data[:, 0], box_rate, settle=1 / 3) - 1000.0) <= 1.0
    assert outs[0] == outs[1]                                            # deterministic, byte for byte
    models = summary["rates"]["g"]["models"]
    assert models["enc"]["conversion"] == ("native" if box_rate == 44100 else "converted")
    assert models["dec"] == {"rate": 48000, "plays_at": 48000, "ratio": 2048,
                             "conversion": "native" if box_rate == 48000 else "converted"}
    assert summary["latency_frames"] == summary["rates"]["g"]["latency_frames"]


def test_the_render_rate_defaults_to_the_models_rate_when_they_agree(tmp_path):
    from ravebox.config.box import load_box
    from ravebox.render.render import box_rate

    def box(encoder: str, decoder: str, head: str = "") -> object:
        path = tmp_path / "b.toml"
        path.write_text(f'{head}[models]\nenc = "{MODELS / encoder}"\ndec = "{MODELS / decoder}"\n'
                        '[graphs.g]\nencoder = "enc"\ndecoder = "dec"\n')
        return load_box(path)

    assert box_rate(box("tone_44k_512.ts", "tone_44k_2048.ts")) == 44100
    assert box_rate(box("tone_44k_512.ts", "tone_48k_2048.ts")) == 48000      # they disagree
    assert box_rate(box("tone_44k_512.ts", "tone_44k_2048.ts", "[box]\nsample_rate = 96000\n")) == 96000


def test_mixed_rates_ratios_alternatives_and_a_prior_render_byte_identical(tmp_path):
    """One box, every kind of domain crossing at once: an encoder, two decoder alternatives and a prior,
    each at its own rate and ratio; rendered twice, byte for byte the same, each graph at 1 kHz."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from lfo_prior import save_lfo_prior

    lfo = save_lfo_prior(tmp_path / "lfo.ts", 44100, 512)
    path = tmp_path / "box.toml"
    path.write_text(f'[box]\nsample_rate = 48000\n[models]\nenc = "{MODELS / "tone_44k_512.ts"}"\n'
                    f'dec = "{MODELS / "tone_48k_2048.ts"}"\nalt = "{MODELS / "tone_44k_2048.ts"}"\nlfo = "{lfo}"\n'
                    '[graphs.g]\nencoder = "enc"\ndecoders = ["alt", "dec"]\n'
                    '[graphs.dream]\nkind = "prior"\nprior = "lfo"\ndecoder = "dec"\n[output]\nceiling_db = 0.0\n')
    wav = _tone(tmp_path / "in.wav", 44100, 2.0)
    digests = []
    for i in range(2):
        out = tmp_path / f"out{i}.wav"
        summary = render(RenderJob(path, out, wav, seed=3))
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    data, rate = sf.read(tmp_path / "out0.wav", dtype="float32", always_2d=True)
    assert rate == 48000 and summary["latency_frames"] > 0
    for channel in range(data.shape[1]):                      # the graphs' outputs, in order
        assert abs(pitch(data[:, channel], 48000, settle=1 / 3) - 1000.0) <= 1.0
