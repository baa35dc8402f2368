"""Clock from more than one input: the first source is followed, the others refused and shown as a conflict."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from ravebox.clock.follower import ClockFollower, Lock

SR = 48000


def stream(label: str, bpm: float, first: float, count: int, rng: np.random.Generator, jitter: float = 48.0):
    period = 60.0 * SR / (24.0 * bpm)
    frames = np.round(first + np.arange(count) * period + rng.uniform(-jitter, jitter, count))
    return [(int(f), label, "clock") for f in np.maximum.accumulate(frames)]


def play(f: ClockFollower, events, until: int | None = None) -> None:
    from ravebox.midi.events import MidiEvent

    events = sorted(events, key=lambda e: e[0])
    end = until or events[-1][0] + 1
    i = 0
    for block in range(256, end + 256, 256):
        while i < len(events) and events[i][0] < block:
            frame, label, kind = events[i]
            f.feed(MidiEvent(frame, label, mido.Message(kind)))
            i += 1
        f.advance(block)


@pytest.mark.parametrize("seed", range(4))
def test_a_second_clock_on_another_input_is_refused_and_shown(seed):
    rng = np.random.default_rng(seed)
    f = ClockFollower(SR)
    drum = stream("midi_in <- TR-8", 132.0, 1000.0, 24 * 16, rng)
    other = stream("clock_in <- jack_midi_clock", 132.0, 1000.0 + 24 * 600 + rng.uniform(0, 800), 24 * 8, rng)
    both = other[-1][0]
    play(f, drum + other, until=both)                            # while both play
    v = f.view()
    assert v.lock == Lock.CONFLICT.value and not v.locked
    assert v.bpm == pytest.approx(132.0, abs=0.1)                # not 264: one source is followed
    assert f.source == "midi_in <- TR-8"
    assert f.refused["clock_in <- jack_midi_clock"] > 24
    play(f, [e for e in drum if e[0] >= both])                   # the other stopped
    assert f.view().lock == Lock.LOCKED.value and f.view().bpm == pytest.approx(132.0, abs=0.05)


def test_when_the_followed_source_goes_silent_the_other_takes_over():
    rng = np.random.default_rng(1)
    f = ClockFollower(SR)
    first = stream("midi_in <- TR-8", 120.0, 1000.0, 24 * 8, rng)
    second = stream("clock_in <- DAW", 90.0, first[-1][0] + 0.5 * SR, 24 * 12, rng)
    play(f, first + second)
    assert f.source == "clock_in <- DAW"
    assert f.view().bpm == pytest.approx(90.0, abs=0.05) and f.view().locked


def test_a_second_device_on_the_same_input_is_the_same_source():
    rng = np.random.default_rng(2)
    f = ClockFollower(SR)
    ticks = stream("midi_in <- TR-8", 120.0, 1000.0, 24 * 8, rng)
    relabelled = [(fr, "midi_in" if i > 24 * 4 else lbl, k) for i, (fr, lbl, k) in enumerate(ticks)]
    play(f, relabelled)
    assert f.view().locked and not f.refused


@pytest.mark.parametrize("offset", [0.2, 0.35, 0.7])
def test_two_clocks_merged_into_one_input_are_told_apart(offset):
    """Two connections to clock_in (label without a device): 264 BPM of ticks, 132 BPM followed."""
    rng = np.random.default_rng(int(offset * 100))
    period = 60.0 * SR / (24 * 132.0)
    a = stream("clock_in", 132.0, 1000.0, 24 * 24, rng)
    b = stream("clock_in", 132.0, 1000.0 + 24 * 4 * period + offset * period, 24 * 12, rng)
    play(f := ClockFollower(SR), a + b, until=b[-1][0])
    v = f.view()
    assert v.lock == Lock.CONFLICT.value and v.bpm == pytest.approx(132.0, abs=0.1)
    play(f, [e for e in a if e[0] >= b[-1][0]])
    v = f.view()
    assert v.lock == Lock.LOCKED.value and v.bpm == pytest.approx(132.0, abs=0.05)


def test_one_jittery_clock_on_a_shared_input_is_not_a_conflict():
    rng = np.random.default_rng(5)
    f = ClockFollower(SR)
    play(f, stream("clock_in", 300.0, 1000.0, 24 * 24, rng, jitter=240.0))
    assert f.view().lock == Lock.LOCKED.value and not f.refused
