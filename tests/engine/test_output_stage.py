"""OutputStage: wet/dry delay, gain, mute fade, late blocks, DC blocker, limiter, allocation-free."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravebox.clock.view import ClockView
from ravebox.config.graphs import OutputSettings
from ravebox.engine.output import DelayLine, OutputStage
from ravebox.engine.safety import DCBlocker, Limiter, Scrubber
from ravebox.levels import HUGE
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

SR = 48000
CLOCK = ClockView.internal(120.0, SR)


def _stage(latency=0, period=256, **kw):
    return OutputStage("g", 1, SR, OutputSettings(**kw), latency, period)


def _store():
    return ParamStore({"g": 8}, SR)


def test_delay_line_delays_exactly():
    line = DelayLine(1, 300, 256)
    x = np.arange(256 * 4, dtype=np.float64)[None]
    out = np.zeros_like(x)
    for b in range(4):
        line.process(x[:, b * 256:(b + 1) * 256], out[:, b * 256:(b + 1) * 256])
    assert out[0, :300].tolist() == [0.0] * 300
    assert out[0, 300:].tolist() == x[0, :-300].tolist()


def test_dry_is_delayed_by_latency_to_line_up_with_wet():
    """With wet == the input delayed by the latency, a 50/50 mix equals either alone (no comb)."""
    latency, n = 512, 256
    stage_mix, stage_wet = _stage(latency), _stage(latency)
    store = _store()
    store.set(ParamKey("mix.wet", "g"), 0.5, 0, glide_ms=0)
    x = np.sin(2 * np.pi * 1000 * np.arange(n * 20) / SR).astype(np.float32)[None]
    wet = np.concatenate([np.zeros((1, latency), np.float32), x[:, :-latency]], axis=1)
    a, b = np.zeros_like(x), np.zeros_like(x)
    for i in range(20):
        s = slice(i * n, (i + 1) * n)
        stage_mix.process(wet[:, s], x[:, s], i * n, store, CLOCK, a[:, s])
        stage_wet.process(wet[:, s], x[:, s], i * n, _store(), CLOCK, b[:, s])
    assert np.abs(a - b).max() < 1e-6


def test_late_block_policies():
    x = (0.5 * np.sin(2 * np.pi * 500 * np.arange(256) / SR)).astype(np.float32)[None]
    dry_stage, silent_stage = _stage(), _stage(late_block="silence")
    out_dry, out_silent = np.zeros_like(x), np.ones_like(x)
    dry_stage.process(None, x, 0, _store(), CLOCK, out_dry)
    silent_stage.process(None, x, 0, _store(), CLOCK, out_silent)
    assert np.abs(out_dry).max() > 0.3 and np.abs(out_silent).max() == 0.0
    assert dry_stage.counters()["late_blocks"] == 1


def test_gain_and_mute_fade():
    stage, store = _stage(), _store()
    x = np.full((1, 256), 0.1, np.float32)
    x[0, 1::2] = -0.1  # Nyquist tone: the DC blocker passes it
    store.set(ParamKey("out.gain_db", "g"), -20.0, 0, glide_ms=0)
    out = np.zeros_like(x)
    stage.process(x, x, 0, store, CLOCK, out)
    assert abs(abs(out[0, 100]) - 0.01) < 1e-4
    store.set(ParamKey("graph.mute", "g"), 1, 256)
    fades = []
    for b in range(1, 6):
        stage.process(x, x, b * 256, store, CLOCK, out)
        fades.append(float(np.abs(out).max()))
    assert fades[0] > fades[1] > 0.0 and fades[-1] == 0.0  # 10 ms fade (480 samples), no step
    assert np.abs(out).max() == 0.0


def test_dc_blocker_removes_offset():
    dc = DCBlocker(1, SR, 5.0)
    x = np.full((1, SR), 0.5)
    dc.process(x)
    assert abs(x[0, -1000:].mean()) < 1e-3
    tone = np.sin(2 * np.pi * 1000 * np.arange(4096) / SR)[None]
    y = tone.copy()
    DCBlocker(1, SR, 5.0).process(y)
    assert np.abs(y[:, 2048:] - tone[:, 2048:]).max() < 0.01  # audio passes


def test_dc_blocker_is_independent_of_block_size():
    x = np.random.default_rng(0).standard_normal((2, 4000))
    a, b = x.copy(), x.copy()
    DCBlocker(2, SR, 5.0).process(a)
    small = DCBlocker(2, SR, 5.0)
    for i in range(0, 4000, 100):
        small.process(b[:, i:i + 100])
    assert np.abs(a - b).max() < 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=256),
       st.floats(min_value=-30.0, max_value=0.0))
def test_output_never_non_finite_nor_above_ceiling(values, ceiling_db):
    stage = _stage(ceiling_db=ceiling_db)
    store = _store()
    store.set(ParamKey("out.gain_db", "g"), 12.0, 0, glide_ms=0)
    x = np.asarray(values, dtype=np.float32)[None]
    out = np.zeros_like(x)
    for b in range(3):
        stage.process(x, x, b * x.shape[1], store, CLOCK, out)
        assert np.isfinite(out).all()
        assert float(np.abs(out).max()) <= 10 ** (ceiling_db / 20)


def test_limiter_releases_after_a_peak():
    lim = Limiter(1, SR, -1.0, 10.0, 1024)
    x = np.full((1, 1024), 0.1)
    x[0, 0] = 5.0
    lim.process(x)
    assert x[0, 1] < 0.1 and abs(x[0, -1] - 0.1) < 1e-12   # recovered within 10 ms (480 samples)


def test_steady_state_does_not_allocate():
    stage, store = OutputStage("g", 2, SR, OutputSettings(), 333, 512), _store()
    store.set(ParamKey("mix.wet", "g"), 0.7, 0, glide_ms=0)
    wet = np.random.default_rng(1).standard_normal((2, 512)).astype(np.float32) * 3
    wet[0, 10] = np.nan
    dry = wet[:1].copy()
    out = np.zeros((2, 512), np.float32)
    for b in range(20):
        stage.process(wet, dry, b * 512, store, CLOCK, out)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for b in range(20, 220):
        stage.process(wet, dry, b * 512, store, CLOCK, out)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(d.size_diff for d in after.compare_to(before, "filename") if "tracemalloc" not in str(d))
    assert grown < 4096  # no per-block arrays (a 512x2 float64 block alone is 8 KiB)


def _blocks(seed: int, channels: int = 2, n: int = 256, count: int = 40):
    """Quiet blocks, loud ones (limited), and now and then NaN, Inf or a huge value."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        x = rng.standard_normal((channels, n)) * rng.choice([0.05, 0.3, 2.0, 40.0])
        if rng.random() < 0.2:
            x[rng.integers(channels), rng.integers(n)] = rng.choice([np.nan, np.inf, -np.inf, 1e9])
        yield x


@pytest.mark.parametrize("seed", range(12))
def test_the_limiters_rest_shortcut_changes_no_sample(seed):
    # at rest (gain 1, no sample above the ceiling) the limiter returns after two numpy calls;
    # the same limiter made to take the whole path every block must agree to the bit
    fast, full = Limiter(2, SR, -1.0, 30.0, 256), Limiter(2, SR, -1.0, 30.0, 256)
    full._rest_is_unity = False
    for x in _blocks(seed):
        x = np.nan_to_num(x, nan=0.0, posinf=8.0, neginf=-8.0)   # the scrubber runs before the limiter
        a, b = x.copy(), x.copy()
        fast.process(a)
        full.process(b)
        assert np.array_equal(a, b)
        assert (fast.gain, fast.limited_samples, fast.min_gain) == (full.gain, full.limited_samples, full.min_gain)


@pytest.mark.parametrize("seed", range(12))
def test_the_scrubber_replaces_non_finite_and_clamps_huge_exactly(seed):
    scrub, nonfinite, clamped = Scrubber(2, 256), 0, 0
    for x in _blocks(seed):
        expected = np.where(np.isfinite(x), x, 0.0)
        nonfinite += int((~np.isfinite(x)).sum())
        clamped += int((np.abs(expected) > HUGE).sum())
        expected = np.clip(expected, -HUGE, HUGE)
        scrub.process(x)
        assert np.array_equal(x, expected)
        assert (scrub.nonfinite, scrub.clamped) == (nonfinite, clamped)
