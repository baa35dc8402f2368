"""MIDI clock out through a real dummy jackd: ticks exact to the frame, and a second ravebox follows them.

A separate JACK client records ``clock_out`` stamping each event with its own
cycle's frame time plus the event offset, so "exact" is measured on JACK's side.
"""

from __future__ import annotations

import mido
import numpy as np
import pytest

from ravebox.midi.events import MidiEvent

from tests.host.daemonkit import connect, running_daemon, wait_for, write_box
from tests.host.jackclients import MidiRecorder
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

RATE = 48000


def clock_box(tmp_path, client: str, bpm: float, clock_source: str = "^nothing$"):
    rules = connect("^clock_out$", "^midirec:in$") + connect("^clock_in$", clock_source)
    folder = tmp_path / client
    folder.mkdir()
    return write_box(folder, client=client, connect=rules, sections=f"[clock]\ninternal_bpm = {bpm}\n")


def exact_run(ticks: np.ndarray, period: float) -> int:
    """Length of the longest run of ticks that all sit on ``ceil(F0 + k * period)`` for one F0.

    ``t_k - k*period`` then spans less than one frame; one tick a frame off breaks the run.
    """
    best, start = 0, 0
    for end in range(1, len(ticks) + 1):
        rel = ticks[start:end] - np.arange(end - start) * period
        while rel.max() - rel.min() >= 1.0:
            start += 1
            rel = ticks[start:end] - np.arange(end - start) * period
        best = max(best, end - start)
    return best


@pytest.mark.parametrize("bpm", [133.0, 90.5])
def test_clock_out_ticks_are_exact_to_the_frame(jack_server, tmp_path, bpm):
    box = clock_box(tmp_path, "rbx", bpm)
    recorder = MidiRecorder(jack_server.name)
    try:
        with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
            assert wait_for(lambda: bool(daemon.host.session.client.get_all_connections("rbx:clock_out")))
            timeline = daemon.host.timeline
            slips = timeline.skips + timeline.repeats
            mark = recorder.count
            assert wait_for(lambda: recorder.count - mark > 24 * 8 + 4, timeout=30)
            slipped = timeline.skips + timeline.repeats - slips
        events = recorder.events()[mark:]
        ticks = np.array([f for f, d in events if d == b"\xf8"], np.int64)
        period = 60.0 * RATE / (24 * bpm)
        assert len(ticks) >= 24 * 8
        assert not [d for _, d in events if d in (b"\xfa", b"\xfc")]     # the box runs free: no Start, no Stop
        spacing = np.diff(ticks)
        on_grid = np.isin(spacing, [np.floor(period), np.ceil(period)])
        if recorder.xruns == 0 and slipped == 0:
            assert exact_run(ticks, period) == len(ticks)
        else:
            # xruns (dozens a second on this shared VM at times) lose cycles and move the frame counts the
            # two clients read; between them the spacing is still exact. A clock stamped per period
            # instead of per frame would almost never land on the grid (period 256 vs 900+ frames a tick).
            assert on_grid.mean() >= 0.5
    finally:
        recorder.close()


def test_a_second_ravebox_follows_the_clock_out_to_the_same_tempo(jack_server, tmp_path):
    leader = clock_box(tmp_path, "lead", 137.0)
    follower = clock_box(tmp_path, "follow", 120.0, clock_source="^lead:clock_out$")
    with running_daemon(leader, jack_server.name, PassEngine.factory()) as lead, \
            running_daemon(follower, jack_server.name, PassEngine.factory()) as follow:
        assert wait_for(lambda: bool(follow.host.session.client.get_all_connections("follow:clock_in")))
        assert wait_for(lambda: follow.status()["clock"].get("lock") == "locked", timeout=30)
        assert wait_for(lambda: abs(follow.follower.view().bpm - 137.0) < 0.02, timeout=30)
        assert lead.status()["clock"]["lock"] == "internal"
        assert not lead.host.session.client.get_all_connections("lead:clock_in")
        # a Start on the leader (as from its own MIDI input) goes out as Start before tick 0: both restart at 0
        start = MidiEvent(0, "test", mido.Message("start"))
        lead.host.control.call(lambda: lead.follower.feed(MidiEvent(lead.host.now(), "test", start.message)))
        assert wait_for(lambda: follow.follower.view().epoch == 1 and follow.status()["clock"]["transport"] == "running",
                        timeout=30)
        assert wait_for(lambda: follow.follower.view().beat_at(follow.host.now()) > 4.0, timeout=30)
        now = lead.host.now()
        apart = lead.follower.view().beat_at(now) - follow.follower.view().beat_at(now)
        assert abs(apart) < 0.1                  # the same bar and beat (a period or two of MIDI latency apart)
