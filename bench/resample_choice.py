#!/usr/bin/env python3
"""Which streaming resampler: libsamplerate (``samplerate``) vs soxr, measured at 44.1 <-> 48 kHz.

For each candidate, streamed in 256-sample chunks the way the engine feeds it:

* ``latency_ms``: the added latency per direction when the stream must deliver
  exact sample counts (what the engine needs): the worst shortfall between the
  samples owed and the samples returned, plus the output's own offset against an
  offline reference (cross-correlation), both directions' worst;
* ``cpu_pct``: one core's time for stereo 48 -> 44.1 -> 48 kHz, per second of audio;
* ``roundtrip_db``: a 1 kHz sine 48 -> 44.1 -> 48 kHz, error against the input;
* ``alias_db``: a 20 kHz tone 48 -> 44.1 kHz: the strongest spectral line that is
  not the tone, relative to it; ``stop_db``: a 23 kHz tone (above 22.05 kHz) after
  48 -> 44.1, relative to its input level (what leaks through as an alias).

The chosen converter is printed last; ``docs/rates.md`` records the table.
Usage: python bench/resample_choice.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHUNK = 256


class _Samplerate:
    def __init__(self, converter: str) -> None:
        self.name, self.converter = f"samplerate {converter}", converter

    def stream(self, rate_in: int, rate_out: int, channels: int):
        import samplerate

        lib = samplerate.Resampler(self.converter, channels=channels)
        ratio = rate_out / rate_in
        return lambda x: np.asarray(lib.process(x, ratio, end_of_input=False), np.float32).reshape(-1, channels)


class _Soxr:
    def __init__(self, quality: str) -> None:
        self.name, self.quality = f"soxr {quality}", quality

    def stream(self, rate_in: int, rate_out: int, channels: int):
        import soxr

        lib = soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32", quality=self.quality)
        return lambda x: lib.resample_chunk(x if channels > 1 else x[:, 0]).reshape(-1, channels)


CANDIDATES = [_Samplerate("sinc_fastest"), _Samplerate("sinc_medium"), _Samplerate("sinc_best"),
              _Soxr("QQ"), _Soxr("LQ"), _Soxr("MQ"), _Soxr("HQ"), _Soxr("VHQ")]


def run_stream(candidate, x: np.ndarray, rate_in: int, rate_out: int) -> tuple[np.ndarray, int]:
    """(all output, worst shortfall in output samples) streaming ``x`` (n, ch) in CHUNK pieces."""
    process = candidate.stream(rate_in, rate_out, x.shape[1])
    parts, consumed, emitted, worst = [], 0, 0, 0
    for a in range(0, len(x), CHUNK):
        y = process(np.ascontiguousarray(x[a:a + CHUNK]))
        parts.append(y)
        consumed += len(x[a:a + CHUNK])
        emitted += len(y)
        worst = max(worst, consumed * rate_out // rate_in - emitted)
    return np.concatenate(parts), worst


def offset(y: np.ndarray, ref: np.ndarray) -> int:
    """Lag (samples) of ``y`` behind ``ref`` by cross-correlation (band-limited noise)."""
    n = min(len(y), len(ref))
    spec = np.fft.rfft(y[:n], 2 * n) * np.conj(np.fft.rfft(ref[:n], 2 * n))
    corr = np.fft.irfft(spec)
    lag = int(np.argmax(np.abs(corr)))
    return lag if lag < n else lag - 2 * n


def tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)).astype(np.float32)[:, None]


def db(x: float) -> float:
    return 20.0 * np.log10(max(x, 1e-12))


def spectrum(y: np.ndarray) -> np.ndarray:
    w = np.hanning(len(y))
    return np.abs(np.fft.rfft(y * w)) / (w.sum() / 2)


def measure(candidate, seconds: float) -> dict:
    import samplerate

    rng = np.random.default_rng(0)
    noise = samplerate.resample(rng.standard_normal(int(48000 * seconds)), 0.8, "sinc_best").astype(np.float32)
    latency = 0.0
    for rin, rout in ((48000, 44100), (44100, 48000)):
        src = noise[: int(rin * seconds * 0.8)]
        y, short = run_stream(candidate, src[:, None], rin, rout)
        ref = samplerate.resample(src, rout / rin, "sinc_best")
        latency = max(latency, 1000.0 * (short + max(0, offset(y[:, 0], ref))) / rout)
    stereo = np.repeat(tone(1000.0, 48000, seconds), 2, axis=1)
    t0 = time.perf_counter()
    down, _ = run_stream(candidate, stereo, 48000, 44100)
    back, _ = run_stream(candidate, down, 44100, 48000)
    cpu = (time.perf_counter() - t0) / seconds
    lag = offset(back[:, 0], stereo[:, 0])
    a, b = back[lag + 4800: len(back) - 4800, 0], stereo[4800: len(back) - 4800 - lag, 0]
    roundtrip = db(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b ** 2)))
    y, _ = run_stream(candidate, tone(20000.0, 48000, seconds), 48000, 44100)
    spec = spectrum(y[4410:, 0])
    freqs = np.fft.rfftfreq(len(y) - 4410, 1 / 44100)
    peak = spec[np.argmin(np.abs(freqs - 20000.0))]
    away = spec[np.abs(freqs - 20000.0) > 200.0]
    alias = db(away.max() / peak)
    y, _ = run_stream(candidate, tone(23000.0, 48000, seconds), 48000, 44100)
    stop = db(spectrum(y[4410:, 0]).max() / 0.5)
    return {"latency_ms": latency, "cpu_pct": 100.0 * cpu, "roundtrip_db": roundtrip, "alias_db": alias,
            "stop_db": stop}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    print(f"{'candidate':24s} {'latency ms':>10s} {'cpu %':>7s} {'roundtrip dB':>12s} {'alias dB':>9s} {'stop dB':>8s}")
    results = {}
    for candidate in CANDIDATES:
        r = results[candidate.name] = measure(candidate, args.seconds)
        print(f"{candidate.name:24s} {r['latency_ms']:10.2f} {r['cpu_pct']:7.3f} {r['roundtrip_db']:12.1f} "
              f"{r['alias_db']:9.1f} {r['stop_db']:8.1f}")
    chosen = results["samplerate sinc_medium"]
    baseline = results["soxr HQ"]
    print(f"resample_choice_latency_ms: {chosen['latency_ms']:.2f}")
    print(f"resample_choice_latency_vs_soxr_hq: {chosen['latency_ms'] / max(baseline['latency_ms'], 1e-9):.3f}")
    print(f"resample_choice_cpu_vs_soxr_hq: {chosen['cpu_pct'] / max(baseline['cpu_pct'], 1e-9):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
