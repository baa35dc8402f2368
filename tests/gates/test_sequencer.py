"""GateSequencer: edges land where the clock phase says, ramps have their length, no allocation."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from ravebox.clock.view import ClockView
from ravebox.gates.patterns import GatePattern, Step, euclid, parse_step_string, step_start
from ravebox.gates.sequencer import GateSequencer
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

SR = 48000


def store(depth: float = 1.0, pattern: int = 0, swing: float = 0.0) -> ParamStore:
    s = ParamStore({"g": 4}, SR)
    s.set(ParamKey("gate.depth", "g"), depth, 0, 0.0)
    s.set(ParamKey("gate.pattern", "g"), pattern, 0)
    s.set(ParamKey("gate.swing", "g"), swing, 0)
    return s


def render(seq: GateSequencer, clock: ClockView, st: ParamStore, frames: int, block: int = 256,
           dtype=np.float32, start: int = 0) -> np.ndarray:
    out = np.empty(block, dtype=dtype)
    chunks = []
    for b in range(start, start + frames, block):
        seq.gains_into(out, b, clock, st, "g")
        chunks.append(out.copy())
    return np.concatenate(chunks)[:frames]


def pattern(steps: str, rate: float = 0.25, length: float = 0.5, attack: float = 0.0, release: float = 0.0,
            swing: float = 0.0) -> GatePattern:
    return GatePattern("p", parse_step_string(steps), rate, length, swing, attack, release)


def rising(g: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.nonzero((g[1:] > 0.5) & (g[:-1] <= 0.5))[0]]


def falling(g: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.nonzero((g[1:] <= 0.5) & (g[:-1] > 0.5))[0]]


def first_frame_at_or_after(clock: ClockView, beat: float) -> int:
    return math.ceil(clock.frame_at_beat(beat) - 1e-9)


def test_edges_land_on_the_sample_the_clock_phase_predicts():
    clock = ClockView(1234, 7.1, 123.4 / 60 / SR, bpm=123.4)  # odd tempo and anchor on purpose
    seq = GateSequencer([pattern("x.xx")], SR)
    g = render(seq, clock, store(), SR * 2, start=10_000)
    opens = [10_000 + i for i in rising(g)]
    closes = [10_000 + i for i in falling(g)]
    beat0 = clock.beat_at(10_000)
    expect_open, expect_close = [], []
    for s in range(int(beat0 / 0.25), int(clock.beat_at(10_000 + 2 * SR) / 0.25) + 1):
        if s % 4 in (0, 2, 3):
            b = s * 0.25
            if clock.frame_at_beat(b) > 10_000:
                expect_open.append(first_frame_at_or_after(clock, b))
            if 10_000 < clock.frame_at_beat(b + 0.125) < 10_000 + 2 * SR:
                expect_close.append(first_frame_at_or_after(clock, b + 0.125))
    expect_open = [f for f in expect_open if f < 10_000 + 2 * SR]
    # step 2 -> 3 are both open but length 0.5 closes in between, so every open step has its own edge
    assert opens == expect_open
    assert closes == expect_close


def test_edges_follow_a_slewing_view_too():
    clock = ClockView(0, 0.0, 4.4e-5, slew_frames=3000.0, tempo_beats_per_frame=4.1e-5)
    seq = GateSequencer([pattern("x")], SR)
    g = render(seq, clock, store(), 30_000, block=64)
    expect = [first_frame_at_or_after(clock, s * 0.25) for s in range(1, 5)]
    assert rising(g)[:4] == expect


def test_attack_and_release_ramps_have_the_configured_length():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("x...", attack=2.0, release=5.0)], SR)
    g = render(seq, clock, store(), 24_000, dtype=np.float64)
    # the step opens at frame 0 and closes at 3000 (half of a 1/16 at 120 BPM = 6000 frames)
    attack = np.nonzero((g[:3000] > 0.0) & (g[:3000] < 1.0))[0]
    assert attack[0] == 1 and attack[-1] == 95 and g[96] == 1.0    # 2 ms = 96 samples
    release = np.nonzero((g[3000:6000] > 0.0) & (g[3000:6000] < 1.0))[0]
    assert release[0] == 1 and release[-1] == 239 and g[3240] == 0.0  # 5 ms = 240 samples
    assert g[3000] == 1.0
    assert np.max(np.abs(np.diff(g))) == pytest.approx(1 / 96)


def test_release_tail_overlapping_the_next_attack_stays_continuous():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("xx", length=1.0, attack=3.0, release=3.0)], SR)
    g = render(seq, clock, store(), 12_000, dtype=np.float64)
    assert np.max(np.abs(np.diff(g))) <= 1 / 144 + 1e-12
    assert g[6000 + 72] == pytest.approx(0.5)  # halfway both ways: the dip of a re-trigger


def test_ties_hold_the_gate_across_the_step_boundary():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("x-..")], SR)
    g = render(seq, clock, store(), 24_000)
    assert rising(g) == [] and g[0] == 1.0
    assert falling(g) == [9000]  # 1.5 steps: the tie step keeps its own length


def test_levels_depth_and_bypass():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([GatePattern("l", (Step(0.5), Step(0.0)), 0.25, 1.0, 0.0, 0.0, 0.0)], SR)
    g = render(seq, clock, store(depth=0.5), 12_000, dtype=np.float64)
    assert g[100] == pytest.approx(1 - 0.5 * 0.5) and g[6100] == pytest.approx(0.5)
    assert np.all(render(seq, clock, store(depth=0.0), 12_000) == 1.0)
    open_clock = ClockView(0, 0.0, 120 / 60 / SR, gates_open=True)
    assert np.all(render(seq, open_clock, store(), 12_000) == 1.0)
    assert np.all(render(GateSequencer([], SR), clock, store(), 512) == 1.0)


def test_stopped_clock_holds_the_gain():
    seq = GateSequencer([pattern("x.")], SR)
    held_open = ClockView(0, 0.1, 0.0, running=False)
    held_closed = ClockView(0, 0.3, 0.0, running=False)
    assert np.all(render(seq, held_open, store(), 1024) == 1.0)
    assert np.all(render(seq, held_closed, store(), 1024) == 0.0)


def test_swing_delays_every_second_step():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("xxxx")], SR)
    g = render(seq, clock, store(swing=0.2), 24_000)
    beats = clock.beats_over(np.arange(24_000))
    expect = [int(np.searchsorted(beats, step_start(s, 0.25, 0.2))) for s in (1, 2, 3)]
    assert expect == [7200, 12000, 19201]  # 0.8 beat is a hair after frame 19200 in floating point
    assert rising(g) == expect             # odd steps start 0.2 of a step (1200 frames) late


def test_pattern_swing_adds_to_live_swing():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("xx", swing=0.1)], SR)
    assert rising(render(seq, clock, store(swing=0.1), 12_000)) == [7200]


def test_euclid_pattern_gates_its_pulses():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([GatePattern("e", euclid(3, 8), 0.25, 0.5, 0.0, 0.0, 0.0)], SR)
    g = render(seq, clock, store(), 48_000)
    assert [0] + rising(g) == [0, 18000, 36000]


def test_probability_gates_are_the_same_in_any_block_size():
    clock = ClockView.internal(133.0, SR)
    pat = GatePattern("p", (Step(1.0, probability=0.5),) * 4, 1 / 16, 0.5, 0.0, 1.0, 2.0, seed=3)
    a = render(GateSequencer([pat], SR), clock, store(), 96_000, block=64)
    b = render(GateSequencer([pat], SR), clock, store(), 96_000, block=1000)
    assert np.array_equal(a, b)
    assert 0 < len(rising(a)) < 64


def test_conditions_alternate_cycles():
    clock = ClockView.internal(120.0, SR)
    pat = GatePattern("c", (Step(1.0, condition=(1, 2)), Step(0.0)), 0.25, 0.5, 0.0, 0.0, 0.0)
    g = render(GateSequencer([pat], SR), clock, store(), 48_000)
    assert [0] + rising(g) == [0, 24000]  # every other cycle of 2 steps (12000 frames)


def test_pattern_switch_crossfades_without_a_click():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("x", length=1.0, attack=4.0, release=4.0),
                         pattern(".", attack=4.0, release=4.0)], SR)
    st = store()
    st.set(ParamKey("gate.pattern", "g"), 1, 1024)
    g = render(seq, clock, st, 2048, block=128, dtype=np.float64)
    assert g[1000] == 1.0 and g[-1] == 0.0
    assert np.max(np.abs(np.diff(g))) <= 1 / 192 + 1e-9  # 4 ms = 192 samples


def test_depth_glide_is_followed_inside_a_block():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern(".")], SR)
    st = ParamStore({"g": 4}, SR)
    st.set(ParamKey("gate.depth", "g"), 1.0, 0, glide_ms=10.0)  # 480-sample glide from 0
    g = render(seq, clock, st, 512, block=32, dtype=np.float64)
    assert g[0] == 1.0 and g[240] == pytest.approx(0.5) and g[500] == 0.0


def test_latent_variant_matches_the_audio_gains():
    clock = ClockView.internal(120.0, SR)
    seq = GateSequencer([pattern("x.x-", attack=2.0, release=5.0)], SR)
    st = store(depth=0.8)
    g = render(seq, clock, st, 4096, block=4096, dtype=np.float64)
    frames = np.arange(0, 4096, 512)
    lat = seq.gains_at_beats(clock.beats_over(frames), clock, st, "g", 0)
    assert np.allclose(lat, g[frames])


def test_gains_into_does_not_allocate_in_steady_state():
    clock = ClockView(0, 0.0, 4.2e-5, slew_frames=100.0, tempo_beats_per_frame=4.1e-5)
    seq = GateSequencer([pattern("x.x-", attack=2.0, release=5.0)], SR, max_block=4096)
    st = store(depth=0.7)
    out = np.empty(4096, dtype=np.float32)
    seq.gains_into(out, 0, clock, st, "g")  # warm-up creates the graph's state
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for b in range(1, 40):
            seq.gains_into(out, b * 4096, clock, st, "g")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 4096  # a 4096-sample float64 array alone would be 32 KiB


def test_current_step_is_where_the_gains_place_it_with_clamped_swing_and_pattern():
    """Status asks the sequencer for the current step: the same pattern clamp (gate.pattern 9 of 2 patterns
    -> the last) and the same swing clamp (0.6 + live 0.5 -> 0.9) as the gains it writes."""
    patterns = [pattern("x..."), pattern("xxxx", swing=0.6)]
    seq = GateSequencer(patterns, SR)
    st = store(pattern=9, swing=0.5)
    clock = ClockView(0, 0.0, 2.0 / SR)          # 120 BPM
    frames = 4 * SR
    starts = rising(render(seq, clock, st, frames))
    assert len(starts) > 20
    for f in range(0, frames, 997):
        began = sum(1 for r in starts if r <= f)   # step 0 opens at frame 0 (no rising edge there)
        beat = clock.beat_at(f)
        assert seq.current_step(beat, st, "g") == began % 4 + 1, f
    assert GateSequencer([], SR).current_step(1.0, st, "g") is None
