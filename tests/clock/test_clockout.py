"""ClockOut offline: tick frames exact to the frame, transport messages in MIDI order, any period and tempo."""

from __future__ import annotations

import math

import mido
import numpy as np
import pytest

from ravebox.clock.clockout import CONTINUE, START, STOP, TICK, ClockOut
from ravebox.clock.follower import ClockFollower
from ravebox.clock.settings import ClockSettings
from ravebox.clock.view import ClockView
from ravebox.midi.events import MidiEvent

SR = 48000


class Recorder:
    """Collects ``(absolute frame, bytes)`` as a JACK port would deliver them; checks JACK's ordering rule."""

    def __init__(self) -> None:
        self.events: list[tuple[int, bytes]] = []
        self.frame = 0
        self.n = 0
        self._last = -1

    def cycle(self, out: ClockOut, frame: int, n: int, view) -> None:
        self.frame, self.n, self._last = frame, n, -1
        out.cycle(frame, n, view, self.emit)

    def emit(self, offset: int, data) -> None:
        assert 0 <= offset < self.n
        assert offset >= self._last          # JACK refuses out-of-order events
        self._last = offset
        self.events.append((self.frame + offset, bytes(data)))

    def ticks(self) -> np.ndarray:
        return np.array([f for f, d in self.events if d == TICK], dtype=np.int64)

    def kinds(self) -> list[bytes]:
        return [d for _, d in self.events if d != TICK]


def run(out: ClockOut, rec: Recorder, views, start: int, n: int, cycles: int) -> int:
    """Drive ``cycles`` periods; ``views(frame)`` gives the view the process callback sees then."""
    frame = start
    for _ in range(cycles):
        rec.cycle(out, frame, n, views(frame))
        frame += n
    return frame


@pytest.mark.parametrize("bpm", [60.0, 97.3, 120.0, 133.0, 174.9, 300.0])
@pytest.mark.parametrize("period", [32, 256, 1024, 4096])
def test_running_ticks_sit_on_the_first_frame_at_or_after_each_24th_beat(bpm, period):
    view = ClockView.internal(bpm, SR, frame=12_345, beat=3.21)
    out, rec = ClockOut(SR), Recorder()
    run(out, rec, lambda f: view, 100_000, period, 20 * SR // period)
    ticks = rec.ticks()
    first = math.ceil(view.beat_at(100_000) * 24 - 1e-6)
    expected = [math.ceil(view.frame_at_beat(k / 24) - 1e-6) for k in range(first, first + len(ticks))]
    assert len(ticks) > 100
    assert ticks.tolist() == expected


def test_a_running_box_tells_followers_where_it_is_on_the_next_sixteenth():
    view = ClockView.internal(120.0, SR, frame=0, beat=0.0)       # 1000 frames per tick
    out, rec = ClockOut(SR), Recorder()
    start = 13_500                                               # beat 0.5625: tick 13.5 -> next 14
    run(out, rec, lambda f: view, start, 256, 100)
    spp = next(i for i, (_, d) in enumerate(rec.events) if d[0] == 0xF2)
    frame, data = rec.events[spp]
    assert data == bytes([0xF2, 3, 0])                          # sixteenth 3 = tick 18
    assert rec.events[spp + 1] == (frame, CONTINUE)
    assert rec.events[spp + 2] == (frame, TICK)
    assert frame == 18_000
    assert [f for f, d in rec.events[:spp] if d == TICK] == [14_000, 15_000, 16_000, 17_000]


def test_start_goes_out_right_before_tick_zero_and_stop_at_the_frame_the_view_stopped():
    out, rec = ClockOut(SR), Recorder()
    stopped = ClockView(0, 0.0, 0.0, running=False, bpm=120.0, epoch=0)
    started = ClockView(40_000, 0.0, 120.0 / 60 / SR, running=True, bpm=120.0, epoch=1)
    halted = ClockView(70_100, started.beat_at(70_100), 0.0, running=False, bpm=120.0, epoch=1)

    def views(f: int):
        return stopped if f < 39_936 else started if f < 69_888 else halted
    run(out, rec, views, 0, 256, 500)
    starts = [f for f, d in rec.events if d == START]
    assert starts == [40_000]
    i = rec.events.index((40_000, START))
    assert rec.events[i + 1] == (40_000, TICK)
    assert [f for f, d in rec.events if d == STOP] == [70_100]
    ticks = rec.ticks()
    running = ticks[(ticks >= 40_000) & (ticks < 70_100)]
    assert np.all(np.diff(running) == 1000)
    assert running[-1] == 70_000
    # stopped, before and after: the clock keeps running at the tempo, as hardware does
    assert np.all(np.diff(ticks[ticks < 39_000]) == 1000)
    after = ticks[ticks > 70_100]
    assert len(after) > 30 and np.all(np.diff(after) == 1000) and after[0] == 71_000
    assert rec.kinds() == [START, STOP]


def test_continue_after_stop_resumes_on_a_sixteenth_with_its_song_position():
    out, rec = ClockOut(SR), Recorder()
    a = ClockView.internal(120.0, SR, frame=0, beat=0.0)
    held = ClockView(30_000, 1.25, 0.0, running=False, bpm=120.0)  # Stop at tick 30
    resumed = ClockView(50_000, 1.25, 120.0 / 60 / SR, running=True, bpm=120.0)

    def views(f: int):
        return a if f < 30_000 else held if f < 50_000 else resumed
    run(out, rec, views, 0, 500, 200)
    kinds = rec.kinds()
    assert kinds[-3:] == [STOP, bytes([0xF2, 5, 0]), CONTINUE]
    spp = [d for _, d in rec.events if d[0] == 0xF2]
    assert spp[-1] == bytes([0xF2, 5, 0])                        # beat 1.25 = sixteenth 5
    i = rec.events.index((50_000, CONTINUE))
    assert rec.events[i + 1] == (50_000, TICK)


def test_late_ticks_are_sent_at_offset_zero_so_followers_never_lose_count():
    view = ClockView.internal(120.0, SR)
    out, rec = ClockOut(SR), Recorder()
    frame = run(out, rec, lambda f: view, 0, 256, 40)
    frame += 5 * 256                                              # five cycles lost to an xrun
    run(out, rec, lambda f: view, frame, 256, 40)
    ticks = rec.ticks()
    assert np.all(np.diff(ticks) >= 0)
    k = np.arange(len(ticks))
    assert len(ticks) == len(np.unique(np.ceil(k * 1000.0)))      # no tick missing or doubled
    assert ticks[-1] == 1000 * (len(ticks) - 1)


def test_a_long_gap_resynchronises_instead_of_bursting():
    view = ClockView.internal(120.0, SR)
    out, rec = ClockOut(SR), Recorder()
    frame = run(out, rec, lambda f: view, 0, 256, 40)
    run(out, rec, lambda f: view, frame + 10 * SR, 256, 4)
    per_cycle = np.unique(rec.ticks() // 256, return_counts=True)[1]
    assert per_cycle.max() <= 1


def test_reresent_external_clock_keeps_every_tick_and_drops_the_input_jitter():
    follower = ClockFollower(SR, ClockSettings())
    out, rec = ClockOut(SR), Recorder()
    rng = np.random.default_rng(7)
    period = 60.0 * SR / (24 * 126.0)
    arrivals = 1000 + np.arange(24 * 40) * period + rng.uniform(-48, 48, 24 * 40)   # ±1 ms jitter
    follower.feed(MidiEvent(500, "clock", mido.Message("start")))
    i, frame, n = 0, 0, 256
    while i < len(arrivals):
        while i < len(arrivals) and arrivals[i] < frame:
            follower.feed(MidiEvent(int(arrivals[i]), "clock", mido.Message("clock")))
            i += 1
        view = follower.advance(frame)
        rec.cycle(out, frame, n, view)
        frame += n
    assert rec.kinds()[0] == START
    ticks = rec.ticks()
    steady = np.diff(ticks[ticks > arrivals[24 * 20]])
    assert abs(steady.mean() - period) < 0.5
    assert steady.std() < 0.25 * np.diff(arrivals).std()


def test_offsets_stay_in_order_under_random_views_and_periods():
    rng = np.random.default_rng(3)
    for _ in range(30):
        out, rec = ClockOut(SR), Recorder()
        frame, epoch = 0, 0
        for _ in range(300):
            n = int(rng.choice([16, 64, 256, 1024]))
            running = rng.random() < 0.8
            epoch += int(rng.random() < 0.05)
            bpm = float(rng.uniform(30, 400))
            view = ClockView(frame - int(rng.integers(0, 2000)), float(rng.uniform(0, 64)),
                             bpm / 60 / SR if running else 0.0, running=running, bpm=bpm, epoch=epoch)
            rec.cycle(out, frame, n, view)             # Recorder asserts order and range
            frame += n + int(rng.integers(0, 2) * n)
