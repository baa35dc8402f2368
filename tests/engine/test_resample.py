"""StreamResampler: exact counts forever, fixed latency, band-limited (libsamplerate medium sinc)."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.engine import resample
from ravebox.engine.resample import StreamResampler

PAIRS = [(48000, 44100), (44100, 48000), (48000, 22050), (16000, 48000), (44100, 96000)]


def _stream(r: StreamResampler, x: np.ndarray, sizes) -> np.ndarray:
    out, a = [], 0
    for n in sizes:
        out.append(r.process(x[:, a:a + n]))
        a += n
    return np.concatenate(out, axis=1)


def _db(x: float) -> float:
    return 20.0 * np.log10(max(x, 1e-12))


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_are_exact_for_any_chunking(rate_in, rate_out, seed):
    rng = np.random.default_rng(seed)
    r = StreamResampler(rate_in, rate_out, 2)
    total = 0
    for _ in range(200):
        n = int(rng.choice([0, 1, 7, 64, 2048, int(rng.integers(1, 9000))]))
        y = r.process(rng.standard_normal((2, n)).astype(np.float32))
        total += n
        assert y.shape == (2, total * rate_out // rate_in - (r.emitted - y.shape[1]))
        assert r.emitted == total * rate_out // rate_in
    assert r.short == 0
    assert r._fifo.shape[1] <= r.latency + 8  # the FIFO stays bounded: no hidden growth


def test_an_hour_of_blocks_never_drifts_in_count(monkeypatch):
    """The wrapper's accounting over an hour at 48 -> 44.1 kHz in engine-sized blocks,
    against a stand-in library that returns a greedy, look-ahead-limited count (the real
    one would take minutes; its own counts are tested above and in the minute below)."""

    class Greedy:
        def __init__(self) -> None:
            self.consumed = 0
            self.emitted = 0

        def process(self, x, ratio, end_of_input=False):
            self.consumed += len(x)
            due = max(0, int(self.consumed * 147 // 160) - 40)
            out = np.zeros((due - self.emitted, x.shape[1]), np.float32)
            self.emitted = due
            return out

        def reset(self):
            self.consumed = self.emitted = 0

    monkeypatch.setattr(resample, "_library_resampler", lambda channels, converter: Greedy())
    monkeypatch.setattr(resample, "_latency_for", lambda ratio, converter: 48)
    r = StreamResampler(48000, 44100, 1)
    block = np.zeros((1, 2230), np.float32)
    blocks = 3600 * 48000 // 2230
    for _ in range(blocks):
        r.process(block)
    assert r.emitted == blocks * 2230 * 44100 // 48000
    assert r.short == 0 and r._fifo.shape[1] <= 48 + 2


def test_a_minute_of_the_real_library_keeps_its_fifo_bounded():
    r = StreamResampler(44100, 48000, 1)
    block = (0.1 * np.random.default_rng(0).standard_normal((1, 2048))).astype(np.float32)
    levels = []
    for _ in range(60 * 44100 // 2048):
        r.process(block)
        levels.append(r._fifo.shape[1])
    assert r.short == 0
    assert max(levels) - min(levels[10:]) <= 4


@pytest.mark.parametrize("rate_in,rate_out", [(48000, 44100), (44100, 48000)])
def test_latency_is_small_and_exact(rate_in, rate_out):
    """A sine comes out delayed by exactly ``latency`` output samples (<= 1.5 ms)."""
    r = StreamResampler(rate_in, rate_out, 1)
    assert 1000.0 * r.latency / rate_out <= 1.5
    t = np.arange(rate_in) / rate_in
    y = _stream(r, np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)[None], [997] * 45)[0]
    n = np.arange(len(y))
    expected = np.sin(2 * np.pi * 1000.0 * (n - r.latency) / rate_out)
    steady = slice(r.latency + 2000, len(y) - 10)
    assert _db(np.sqrt(np.mean((y[steady] - expected[steady]) ** 2))) <= -70.0
    assert np.all(y[: r.latency - 2] == 0.0)


def test_one_khz_stays_one_khz():
    r = StreamResampler(48000, 44100, 1)
    t = np.arange(48000 * 2) / 48000
    y = _stream(r, np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)[None], [2048] * 46)[0][2000:]
    crossings = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
    freq = 44100.0 * (len(crossings) - 1) / (crossings[-1] - crossings[0])
    assert abs(freq - 1000.0) <= 1.0  # +-0.1 %


def test_round_trip_error_below_minus_70_db():
    down, up = StreamResampler(48000, 44100, 1), StreamResampler(44100, 48000, 1)
    t = np.arange(48000 * 2) / 48000
    x = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)[None]
    y = np.concatenate([up.process(down.process(x[:, a:a + 2048])) for a in range(0, x.shape[1], 2048)], axis=1)[0]
    delay = down.latency * 48000 / 44100 + up.latency
    n = np.arange(len(y))
    expected = np.sin(2 * np.pi * 1000.0 * (n - delay) / 48000)
    steady = slice(4000, len(y) - 10)
    err = np.sqrt(np.mean((y[steady] - expected[steady]) ** 2)) / np.sqrt(np.mean(expected[steady] ** 2))
    assert _db(err) <= -70.0


def test_a_20_khz_tone_leaves_no_alias_above_minus_60_db():
    r = StreamResampler(48000, 44100, 1)
    t = np.arange(48000) / 48000
    y = _stream(r, (0.5 * np.sin(2 * np.pi * 20000.0 * t)).astype(np.float32)[None], [2048] * 24)[0][4410:]
    w = np.hanning(len(y))
    spec = np.abs(np.fft.rfft(y * w))
    freqs = np.fft.rfftfreq(len(y), 1 / 44100)
    tone = spec[np.abs(freqs - 20000.0) < 50.0].max()
    assert _db(spec[np.abs(freqs - 20000.0) > 300.0].max() / tone) <= -60.0


def test_equal_rates_pass_through_untouched():
    r = StreamResampler(48000, 48000, 2)
    x = np.ones((2, 100), np.float32)
    assert r.process(x) is x and r.latency == 0 and r.identity


def test_reset_gives_the_same_stream_again():
    r = StreamResampler(48000, 44100, 1)
    x = np.random.default_rng(3).standard_normal((1, 5000)).astype(np.float32)
    first = _stream(r, x, [1000] * 5)
    r.reset()
    assert np.array_equal(first, _stream(r, x, [1000] * 5))


def test_bad_rates_are_refused():
    with pytest.raises(ValueError):
        StreamResampler(0, 48000, 1)
