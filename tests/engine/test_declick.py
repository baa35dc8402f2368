"""Late blocks do not click: each switch between the model's wet and the fallback is declicked.

Offline and sample-exact: the output stage is driven as the JACK process callback drives it
(``host/audiopath.py``): engine blocks of ``BLOCK`` frames on their own grid, JACK periods that
cut across it, a late block handed over as ``wet=None`` when it covers the whole period and as a
per-sample ``late`` mask when a block edge falls inside the period.
"""

import tracemalloc

import numpy as np
import pytest

from ravebox.clock.view import ClockView
from ravebox.config.graphs import OutputSettings
from ravebox.engine.declick import Declicker
from ravebox.engine.output import OutputStage
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

SR = 48000
CLOCK = ClockView.internal(120.0, SR)
BLOCK = 2048
LATENCY = 2304


def tone(hz: float, frames: int, amp: float = 0.5, phase: float = 0.0) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(frames) / SR + phase)).astype(np.float32)[None]


def drive(stage: OutputStage, wet: np.ndarray, dry: np.ndarray, late_blocks: set[int], period: int,
          offset: int = 0, store: ParamStore | None = None) -> np.ndarray:
    """Play ``wet``/``dry`` (1, frames) through ``stage`` in periods; blocks in ``late_blocks`` (on the grid
    shifted by ``offset`` frames) have no wet."""
    store = store or ParamStore({"g": 8}, SR)
    frames = wet.shape[1]
    out = np.zeros((stage.channels, frames), np.float32)
    mask = np.zeros(period, dtype=bool)
    for start in range(0, frames - period + 1, period):
        for i in range(period):
            mask[i] = (start + i - offset) // BLOCK in late_blocks
        s = slice(start, start + period)
        if mask.all():
            stage.process(None, dry[:, s], start, store, CLOCK, out[:, s])
        else:
            stage.process(wet[:, s], dry[:, s], start, store, CLOCK, out[:, s], mask.copy() if mask.any() else None)
    return out


def edges(late_blocks: set[int], offset: int) -> list[int]:
    """The frames where the source switches."""
    at = set()
    for k in late_blocks:
        at.update({k * BLOCK + offset, (k + 1) * BLOCK + offset})
    return sorted(at - {k * BLOCK + offset for k in late_blocks if k - 1 in late_blocks}
                  - {(k + 1) * BLOCK + offset for k in late_blocks if k + 1 in late_blocks})


def own_change(*signals: np.ndarray) -> float:
    return max(float(np.max(np.abs(np.diff(s[0].astype(np.float64))))) for s in signals)


def steps_near(out: np.ndarray, at: list[int], span: int = 400) -> float:
    return max(float(np.max(np.abs(np.diff(out[0, a - span:a + span].astype(np.float64))))) for a in at)


@pytest.mark.parametrize("policy", ["dry", "silence"])
@pytest.mark.parametrize("period,offset", [(256, 0), (256, 100), (128, 1000), (4096, 333)])
def test_a_late_blocks_edges_step_no_more_than_the_signal_itself(policy, period, offset):
    """A 440 Hz wet against a 330 Hz dry (0.5 each): without the declick each switch stepped by up to
    their difference (about 0.5-1.0, 20-35 times the tones' own largest change per sample); now the
    largest step near a switch stays within the tones' own largest change plus the decay's slope."""
    frames = 20 * BLOCK
    wet, dry = tone(440.0, frames, phase=1.0), tone(330.0, frames)
    late = {3, 7, 8, 12}
    stage = OutputStage("g", 1, SR, OutputSettings(late_block=policy, dc_hz=0.0), LATENCY, max(period, 256))
    out = drive(stage, wet, dry, late, period, offset)
    delayed = np.concatenate([np.zeros((1, LATENCY), np.float32), dry[:, :-LATENCY]], axis=1)
    own = own_change(wet, delayed)
    at = [a for a in edges(late, offset) if a > LATENCY]
    assert stage.declick.switches >= len(at)
    n = stage.declick.curve.shape[0]
    bound = own + np.pi / 2 / n * 1.0          # the decay of an offset of at most 1.0 (two tones of 0.5)
    worst = steps_near(out, at)
    assert worst <= bound + 1e-6, (worst, bound)
    assert worst <= 1.25 * own                 # 0.036 here; a switch used to step by up to 1.0
    # away from the switches the wet and the fallback pass untouched
    calm = slice(5 * BLOCK + offset + 400, 6 * BLOCK + offset)
    assert np.allclose(out[0, calm], wet[0, calm], atol=1e-6)
    if policy == "dry":
        mid = 7 * BLOCK + offset + 1000
        assert np.allclose(out[0, mid:mid + 500], delayed[0, mid:mid + 500], atol=1e-6)
    else:
        mid = 7 * BLOCK + offset + 1000
        assert np.abs(out[0, mid:mid + 500]).max() < 1e-9


def test_the_junction_repeats_the_last_sample_and_the_offset_decays_to_nothing():
    w = Declicker(2, SR)
    n = w.curve.shape[0]
    a = np.full((2, 100), 0.8)
    w.process(a, False)
    b = np.stack([np.full(1000, -0.4), np.full(1000, 0.3)])
    w.process(b, True)
    assert np.allclose(b[:, 0], 0.8, atol=1e-12)                # no step at the switch
    assert np.all(np.diff(b[0, :n]) <= 0) and np.all(np.diff(b[1, :n]) <= 0)   # monotone decay, no overshoot
    assert b[:, n:].tolist() == [[-0.4] * (1000 - n), [0.3] * (1000 - n)]   # then the new source, untouched
    assert np.max(np.abs(np.diff(b[0]))) <= np.pi / 2 / n * 1.2 + 1e-12


def test_a_switch_during_a_decay_starts_from_what_was_played():
    w = Declicker(1, SR)
    n = w.curve.shape[0]
    x = np.full((1, 3 * n), 1.0)
    w.process(x[:, :n], False)
    late = np.zeros(2 * n, dtype=bool)
    late[:n // 3] = True            # back to wet a third of the way into the decay
    y = np.concatenate([np.full(n // 3, -1.0), np.full(2 * n - n // 3, 1.0)])[None]
    w.process(y, late)
    played = np.concatenate([x[0, :n], y[0]])
    assert np.max(np.abs(np.diff(played))) < 3.0 * np.pi / 2 / n
    assert w.switches == 2


@pytest.mark.parametrize("seed", range(40))
def test_hostile_signals_and_late_patterns_never_step_beyond_the_bound(seed):
    """Noise, full-scale, DC and silence, random periods and late blocks: no step beyond the sources' own
    largest change plus the decay of an offset as large as their peak-to-peak."""
    rng = np.random.default_rng(seed)
    frames = 16 * BLOCK
    kind = seed % 4
    if kind == 0:
        wet = rng.uniform(-1, 1, (1, frames)).astype(np.float32)
    elif kind == 1:
        wet = np.where(rng.random((1, frames)) < 0.5, 1.0, -1.0).astype(np.float32)
    elif kind == 2:
        wet = np.full((1, frames), 0.9, np.float32)
    else:
        wet = tone(float(rng.uniform(20, 8000)), frames, amp=float(rng.uniform(0.01, 1)))
    dry = tone(float(rng.uniform(20, 2000)), frames, amp=float(rng.uniform(0, 1)))
    late = {int(k) for k in rng.choice(16, size=int(rng.integers(1, 8)), replace=False)}
    period = int(rng.choice([64, 128, 256, 1024, 4096]))
    offset = int(rng.integers(0, BLOCK))
    stage = OutputStage("g", 1, SR, OutputSettings(late_block=str(rng.choice(["dry", "silence"])), dc_hz=0.0),
                        LATENCY, max(period, 256))
    out = drive(stage, wet, dry, late, period, offset).astype(np.float64)
    delayed = np.concatenate([np.zeros((1, LATENCY), np.float32), dry[:, :-LATENCY]], axis=1)
    sources = np.concatenate([wet, delayed, np.zeros((1, 1), np.float32)], axis=1)
    own = own_change(wet, delayed)
    swing = float(sources.max() - sources.min())
    n = stage.declick.curve.shape[0]
    assert np.all(np.isfinite(out))
    assert float(np.max(np.abs(np.diff(out[0])))) <= max(own, swing / n) + np.pi / 2 / n * swing + 1e-6


def test_the_same_run_twice_is_the_same_to_the_bit():
    frames = 12 * BLOCK
    wet, dry = tone(440.0, frames, phase=1.0), tone(330.0, frames)
    runs = [drive(OutputStage("g", 1, SR, OutputSettings(), LATENCY, 256), wet, dry, {2, 5}, 256, 77)
            for _ in range(2)]
    assert runs[0].tobytes() == runs[1].tobytes()


def test_without_late_blocks_the_output_is_untouched():
    """What render plays (never late): the declick adds nothing, so renders stay byte-identical."""
    frames = 6 * BLOCK
    wet, dry = tone(440.0, frames, phase=1.0), tone(330.0, frames)
    store = ParamStore({"g": 8}, SR)
    store.set(ParamKey("mix.wet", "g"), 0.6, 0, glide_ms=0)
    out = drive(OutputStage("g", 1, SR, OutputSettings(), LATENCY, 256), wet, dry, set(), 256, store=store)
    plain = OutputStage("g", 1, SR, OutputSettings(), LATENCY, 256)
    plain.declick.segment = lambda *a: None          # type: ignore[method-assign]  # no declick at all
    ref = drive(plain, wet, dry, set(), 256, store=store)
    assert out.tobytes() == ref.tobytes()


def test_late_periods_do_not_allocate():
    stage, store = OutputStage("g", 2, SR, OutputSettings(), 333, 512), ParamStore({"g": 8}, SR)
    wet = np.random.default_rng(1).standard_normal((2, 512)).astype(np.float32) * 0.3
    dry = wet[:1].copy()
    out = np.zeros((2, 512), np.float32)
    part = np.zeros(512, dtype=bool)
    part[200:] = True
    back = ~part

    def play(b: int) -> None:
        kind = b % 4
        if kind == 0:
            stage.process(wet, dry, b * 512, store, CLOCK, out)
        elif kind == 1:
            stage.process(wet, dry, b * 512, store, CLOCK, out, part)
        elif kind == 2:
            stage.process(None, dry, b * 512, store, CLOCK, out)
        else:
            stage.process(wet, dry, b * 512, store, CLOCK, out, back)

    for b in range(20):
        play(b)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for b in range(20, 220):
        play(b)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(d.size_diff for d in after.compare_to(before, "filename") if "tracemalloc" not in str(d))
    assert grown < 4096
    assert stage.declick.switches >= 100
