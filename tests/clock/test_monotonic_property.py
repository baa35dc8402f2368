"""Property: whatever the tick stream does, the published beat never runs backwards within an epoch
(Song Position while stopped is the one explicit relocation, so it is left out here)."""

from __future__ import annotations

import mido
import numpy as np
from hypothesis import given, settings, strategies as st

from ravebox.clock.follower import ClockFollower
from ravebox.midi.events import MidiEvent

SR = 48000
BLOCK = 256

segment = st.tuples(
    st.floats(60.0, 200.0),           # tempo
    st.integers(4, 120),              # ticks
    st.floats(0.0, 3.0),              # jitter ms
    st.sampled_from(["", "", "", "gap", "stop", "continue", "start", "drop"]),
)


def stream(segments, seed: int) -> list[tuple[int, str]]:
    rng = np.random.default_rng(seed)
    events, t = [(0, "start")], 1000.0
    for bpm, count, jitter, action in segments:
        period = 60.0 * SR / (24.0 * bpm)
        if action == "gap":
            t += rng.uniform(0.3, 1.5) * SR
        elif action in ("stop", "continue", "start"):
            events.append((int(t - period / 2), action))
        for i in range(count):
            if action == "drop" and i % 5 == 2:
                t += period
                continue
            events.append((int(round(t + rng.uniform(-1, 1) * jitter * 48)), "clock"))
            t += period
    return sorted(events, key=lambda e: e[0])


@settings(max_examples=40, deadline=None)
@given(st.lists(segment, min_size=1, max_size=6), st.integers(0, 2**16))
def test_published_beat_is_monotonic_within_an_epoch(segments, seed):
    f = ClockFollower(SR)
    events = stream(segments, seed)
    last_beat, last_epoch, i = None, None, 0
    end = events[-1][0] + SR // 2
    offsets = np.arange(0, BLOCK, 32)
    for block in range(BLOCK, end, BLOCK):
        while i < len(events) and events[i][0] < block:
            frame, kind = events[i]
            f.feed(MidiEvent(frame, "clock", mido.Message(kind)))
            i += 1
        v = f.advance(block)
        beats = v.beats_over(block + offsets)
        assert np.all(np.diff(beats) >= 0.0)
        if last_epoch == v.epoch:
            assert beats[0] >= last_beat - 1e-12
        last_beat, last_epoch = beats[-1], v.epoch
