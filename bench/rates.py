#!/usr/bin/env python3
"""Rate conversion: latency, CPU against the models' own inference, pitch, round trip, aliasing.

* ``resample_latency_ms``: added latency of a decoder's output back to the box rate at 44.1 <-> 48 kHz
  (the worse direction; medium sinc); ``input_latency_ms``: the same for the box's input into an
  encoder (fastest sinc);
* ``conversion_cpu_fraction``: all conversion work (resamplers, latent converters, output queues)
  of a two-graph box whose 48 kHz models play on a 44.1 kHz box, over the models' own
  encode/decode time, both timed in the same run (the models' calls are the baseline);
* ``sine_freq_error_pct``: a 1 kHz sine through a 44.1 kHz tone probe (encode + decode) on a
  48 kHz box, measured at the box rate;
* ``roundtrip_db``: a 1 kHz sine 48 -> 44.1 -> 48 kHz through the engine's resamplers;
* ``alias_db``: the strongest line other than a 20 kHz tone after 48 -> 44.1 kHz, into a model's
  input (the encoder's converter); ``output_alias_db``: the same through the output's converter.

Usage: python bench/rates.py [--seconds 20] [MODEL.ts ...]  (default: the full-size model in
models-full/ when built -- the figure that matters, since a tiny test model's inference is ~50x
cheaper than a real one's while conversion costs the same -- else tests/models/rave_a.ts and rave_b.ts)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ravebox.clock.view import ClockView  # noqa: E402
from ravebox.config.box import load_box  # noqa: E402
from ravebox.engine import latent_rate, resample, stages, swap  # noqa: E402
from ravebox.engine.engine import Engine  # noqa: E402
from ravebox.engine.resample import StreamResampler  # noqa: E402
from ravebox.models import rave  # noqa: E402
from ravebox.params.store import ParamStore  # noqa: E402

MODELS = REPO / "tests" / "models"


class Stopwatch:
    """Wraps methods so their CPU time adds up into one of two buckets; nested calls count once.

    CPU time of the calling thread (``time.thread_time``), not wall time: on a shared, loaded
    machine wall time counts whatever else ran meanwhile, and the models' long calls and the
    conversion's short ones are not interrupted alike. The engine runs on this one thread
    (``torch_threads = 1``), so its CPU time is all the work."""

    def __init__(self) -> None:
        self.spent = {"conversion": 0.0, "models": 0.0}
        self._depth = 0

    def wrap(self, owner, name: str, bucket: str) -> None:
        inner = getattr(owner, name)

        def timed(obj, *args, **kwargs):
            if self._depth:
                return inner(obj, *args, **kwargs)
            self._depth += 1
            t0 = time.thread_time()
            try:
                return inner(obj, *args, **kwargs)
            finally:
                self.spent[bucket] += time.thread_time() - t0
                self._depth -= 1
        setattr(owner, name, timed)


def conversion_fraction(models: list[Path], seconds: float) -> tuple[float, float, float]:
    """(conversion s, model s, fraction) for two graphs of 48 kHz models on a 44.1 kHz box."""
    a, b = models[0], models[-1]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "box.toml"
        path.write_text(f'[models]\na = "{a}"\nb = "{b}"\n[graphs.one]\nencoder = "a"\n'
                        '[graphs.two]\nencoder = "a"\ndecoder = "b"\n')
        engine = Engine(load_box(path), 44100, 1)
    watch = Stopwatch()
    for owner, name in ((StreamResampler, "process"), (latent_rate.LatentRateConverter, "push"),
                        (latent_rate.LatentRateConverter, "pull"), (swap.OutputQueue, "take"),
                        (stages.EncoderFeed, "whole_blocks")):
        watch.wrap(owner, name, "conversion")
    for name in ("encode", "decode"):
        watch.wrap(rave.RaveModel, name, "models")
    n, sr = engine.block_size, engine.sample_rate
    store, clock = ParamStore(engine.graph_dims, sr), ClockView.internal(120.0, sr)
    x = (0.3 * np.random.default_rng(0).standard_normal((1, n))).astype(np.float32)
    for b in range(int(seconds * sr) // n):
        engine.process({"one": x, "two": x}, b * n, store, clock)
    conv, model = watch.spent["conversion"], watch.spent["models"]
    return conv, model, conv / model


def sine_error_pct(seconds: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "box.toml"
        path.write_text(f'[models]\nt = "{MODELS / "tone_44k_2048.ts"}"\n[graphs.g]\nencoder = "t"\n')
        engine = Engine(load_box(path), 48000, 1)
    n = engine.block_size
    blocks = int(seconds * 48000) // n
    x = (0.4 * np.sin(2 * np.pi * 1000.0 * np.arange(blocks * n) / 48000)).astype(np.float32)[None]
    store, clock = ParamStore(engine.graph_dims, 48000), ClockView.internal(120.0, 48000)
    y = np.concatenate([engine.process({"g": x[:, i * n:(i + 1) * n]}, i * n, store, clock)["g"]
                        for i in range(blocks)], axis=1)[0][blocks * n // 4:]
    up = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    freq = 48000.0 * (len(up) - 1) / (up[-1] - up[0])
    return 100.0 * abs(freq - 1000.0) / 1000.0


def roundtrip_db() -> float:
    down, up = StreamResampler(48000, 44100, 1), StreamResampler(44100, 48000, 1)
    x = np.sin(2 * np.pi * 1000.0 * np.arange(96000) / 48000).astype(np.float32)[None]
    y = np.concatenate([up.process(down.process(x[:, a:a + 2048])) for a in range(0, 96000, 2048)], axis=1)[0]
    delay = down.latency * 48000 / 44100 + up.latency
    expected = np.sin(2 * np.pi * 1000.0 * (np.arange(len(y)) - delay) / 48000)
    err = y[4000:] - expected[4000:]
    return 20 * np.log10(np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(expected[4000:] ** 2)))


def alias_db(converter: str) -> float:
    r = StreamResampler(48000, 44100, 1, converter)
    x = (0.5 * np.sin(2 * np.pi * 20000.0 * np.arange(96000) / 48000)).astype(np.float32)[None]
    y = np.concatenate([r.process(x[:, a:a + 2048]) for a in range(0, 96000, 2048)], axis=1)[0][4410:]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    freqs = np.fft.rfftfreq(len(y), 1 / 44100)
    tone = spec[np.abs(freqs - 20000.0) < 50.0].max()
    return 20 * np.log10(spec[np.abs(freqs - 20000.0) > 300.0].max() / tone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--converter", default=resample.CONVERTER, help="libsamplerate converter to measure")
    parser.add_argument("models", nargs="*", type=Path)
    args = parser.parse_args(argv)
    resample.CONVERTER = args.converter
    full = [p for p in (REPO / "models-full" / "rave_full.ts", Path("/work/models-full/rave_full.ts")) if p.exists()]
    models = args.models or full[:1] or [MODELS / "rave_a.ts", MODELS / "rave_b.ts"]
    latency = max(resample.latency_of(44100, 48000) / 48000, resample.latency_of(48000, 44100) / 44100)
    analysis = resample.ANALYSIS_CONVERTER
    in_latency = max(resample.latency_of(44100, 48000, analysis) / 48000,
                     resample.latency_of(48000, 44100, analysis) / 44100)
    conv, model, fraction = conversion_fraction(models, args.seconds)
    print(f"output {args.converter}, input {analysis}: conversion {conv * 1e3:.1f} ms CPU, models {model * 1e3:.1f} ms "
          f"CPU over {args.seconds:.0f} s of audio ({', '.join(m.name for m in models)}; ratio measured in this run)")
    print(f"resample_latency_ms: {latency * 1e3:.3f}")
    print(f"input_latency_ms: {in_latency * 1e3:.3f}")
    print(f"conversion_cpu_fraction: {fraction:.4f}")
    print(f"sine_freq_error_pct: {sine_error_pct(3.0):.4f}")
    print(f"roundtrip_db: {roundtrip_db():.1f}")
    print(f"alias_db: {alias_db(analysis):.1f}")
    print(f"output_alias_db: {alias_db(args.converter):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
