"""ClockView's knee and inverse, and the beat-locked loop timing helper."""

from __future__ import annotations

import numpy as np
import pytest

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
