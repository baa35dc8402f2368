"""ClockView's knee and inverse, and the beat-locked loop timing helper."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.clock.loop import LoopTiming
from ravebox.clock.view import ClockView

SR = 48000


def test_knee_view_is_continuous_and_evaluates_the_same_vectorised():
    v = ClockView(1000, 2.0, 4.4e-5, slew_frames=500.0, tempo_beats_per_frame=4e-5)
    frames = np.arange(0, 5000, 7)
    expected = np.array([v.beat_at(int(f)) for f in frames])
    assert np.allclose(v.beats_over(frames), expected, atol=1e-12)
    out = np.empty(64)
    v.beats_into(out, 1400, np.arange(64, dtype=np.float64))
    assert np.allclose(out, [v.beat_at(1400 + i) for i in range(64)], atol=1e-12)
    assert v.beat_at(1500) == pytest.approx(2.0 + 500 * 4.4e-5)
    assert v.beat_at(2500) - v.beat_at(1500) == pytest.approx(1000 * 4e-5)


def test_frame_at_beat_inverts_beat_at_on_both_segments():
    v = ClockView(1000, 2.0, 4.4e-5, slew_frames=500.0, tempo_beats_per_frame=4e-5)
    for frame in (800, 1200, 1500, 4000):
        assert v.frame_at_beat(v.beat_at(frame)) == pytest.approx(frame)
    assert ClockView(0, 1.0, 0.0, running=False).frame_at_beat(2.0) is None


def test_loop_starts_on_the_next_bar_or_beat():
    v = ClockView.internal(120.0, SR, frame=0, beat=5.3)
    bar = LoopTiming.arm(v, 0, 2.0, "bar")
    beat = LoopTiming.arm(v, 0, 2.0, "beat")
    assert bar.start_beat == 8.0 and beat.start_beat == 6.0
    assert bar.start_frame(v) == pytest.approx((8.0 - 5.3) * SR / 2.0)
    assert bar.position(7.9) == (-1, pytest.approx(-0.1))
    assert bar.position(11.5) == (1, pytest.approx(1.5))
    passes, offsets = bar.positions(np.array([7.0, 8.0, 9.5, 10.0, 13.25]))
    assert passes.tolist() == [-1, 0, 0, 1, 2]
    assert offsets[1:].tolist() == pytest.approx([0.0, 1.5, 0.0, 1.25])


def test_loop_on_a_bar_boundary_starts_there():
    v = ClockView.internal(120.0, SR, frame=0, beat=4.0)
    assert LoopTiming.arm(v, 0, 4.0).start_beat == 4.0


def test_loop_retriggers_at_beat_zero_on_a_new_epoch():
    v = ClockView.internal(120.0, SR, frame=0, beat=9.0)
    loop = LoopTiming.arm(v, 0, 4.0)
    assert loop.follow(v) is loop
    started = ClockView(48000, 0.0, 120 / 60 / SR, epoch=1)
    again = loop.follow(started)
    assert (again.start_beat, again.epoch, again.length_beats) == (0.0, 1, 4.0)
    assert again.start_frame(started) == pytest.approx(48000)


def test_loop_rejects_bad_arguments():
    v = ClockView.internal(120.0, SR)
    with pytest.raises(ValueError):
        LoopTiming.arm(v, 0, 0.0)
    with pytest.raises(ValueError):
        LoopTiming.arm(v, 0, 4.0, "phrase")
