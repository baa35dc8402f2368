"""A render is what the box plays live: the same performance, offline and through a dummy jackd.

One Standard MIDI File (a tempo map, so 24 PPQN clock and a Start, and CC moves on two
controls) is rendered offline, and played live by a separate controller process (mido
over rtmidi's JACK API) into the running daemon. Both runs record every parameter
change the mapping makes (key, value, frame) and every clock view the router
publishes. Then:

- the live run makes exactly the render's parameter changes, in the same order;
- the live event frames are the render's plus one offset (when the sender started),
  up to live jitter;
- the clock agrees: at each CC, the beat the live follower gave that frame is the
  render's beat at the same performance frame, the transport runs in both, and the tempo
  agrees once locked.

Tolerances are for the jitter of a live sender on a loaded machine (a sleep that wakes
late, one JACK period of stamping); a stray late event may miss them, most may not. Nothing
here measures time: frames are compared with frames.
"""

from __future__ import annotations

import bisect
import statistics

import mido
import pytest

from ravebox.config.box import load_box
from ravebox.mapping.model import ANY_PORT
from ravebox.render.performance import load_performance
from ravebox.render.render import _Session
from tests.host.daemonkit import Controller, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

RATE = 48000              # the test server's rate (tests/jackserver.py)
BPM = 120.0
SECONDS = 8.0
CC_EVERY = 0.5            # seconds between CC moves (never two of one control within a control pass)
ATTEMPTS = 3              # live plays at most (one spoiled by an xrun is played again)


def performance(path) -> None:
    """120 BPM; from 1.5 s on, every 0.5 s, alternately CC 7 (gain) and CC 8 (mix.wet) to a new value."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    ticks_per_second = 480 * BPM / 60.0
    step, now = round(CC_EVERY * ticks_per_second), round(1.5 * ticks_per_second)
    track.append(mido.Message("control_change", control=7, value=0, time=now))
    i = 1
    while (now + step) / ticks_per_second < SECONDS:
        now += step
        track.append(mido.Message("control_change", control=7 if i % 2 else 8, value=(i * 37) % 128, time=step))
        i += 1
    midi.save(str(path))


class Recorder:
    """Wraps a store's ``set`` and a router's ``advance`` (instance attributes; the callers see the wrappers)."""

    def __init__(self, store, router) -> None:
        self.sets: list[tuple[int, str, float]] = []
        self.views: list[tuple[int, object]] = []
        store_set, advance = store.set, router.advance

        def set_(key, value, frame, glide_ms=None):
            self.sets.append((frame, str(key), value))
            store_set(key, value, frame, glide_ms)

        def advance_(frame):
            view = advance(frame)
            if view is not None:   # at its anchor: the frame the follower brought the clock to (never
                self.views.append((view.anchor_frame, view))  # backwards, unlike live "now" readings)
            return view

        store.set, router.advance = set_, advance_

    def changes(self) -> list[tuple[int, str, float]]:
        """The mapping's moves (clock parameters the router syncs are not CC moves)."""
        return [s for s in self.sets if not s[1].startswith("clock.")]

    def view_at(self, frame: int):
        """The clock view in force at ``frame`` (the last one published at or before it)."""
        frames = [f for f, _ in self.views]
        i = bisect.bisect_right(frames, frame) - 1
        return self.views[max(i, 0)][1]


def offline(box_path, smf) -> Recorder:
    box = load_box(box_path)
    session = _Session(box, RATE, 1, None)
    recorder = Recorder(session.store, session.router)
    events = load_performance(smf, RATE, ANY_PORT)
    session.run(None, events, int((SECONDS + 1.0) * RATE), None)
    return recorder


def play_live(box, smf, jack_server, want: int) -> tuple[Recorder, int]:
    """Play ``smf`` live into a fresh daemon; its recorder and the xruns JACK had meanwhile.

    A move JACK drops at an xrun (the MIDI of a cycle the daemon missed) is not ravebox's to
    keep: the caller plays the performance again then; one lost with no xrun fails."""
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        live = Recorder(daemon.parts.store, daemon.parts.router)
        with Controller(jack_server.env()) as ctl:
            assert ctl.wait_connected(daemon)     # else Start and the first ticks may go nowhere
            xruns = daemon.host.xruns
            ctl.send(f"play {smf} {RATE}")        # returns once every event was sent
        wait_for(lambda: len(live.changes()) >= want, timeout=10)
        return live, daemon.host.xruns - xruns


def test_a_performance_played_live_moves_the_parameters_and_clock_as_its_render_does(jack_server, tmp_path):
    smf = tmp_path / "performance.mid"
    performance(smf)
    box = write_box(tmp_path)
    rendered = offline(box, smf)
    assert len(rendered.changes()) >= 12

    want = len(rendered.changes())
    for _ in range(ATTEMPTS):
        live, xruns = play_live(box, smf, jack_server, want)
        if len(live.changes()) >= want or xruns == 0:
            break
    assert len(live.changes()) >= want, f"{len(live.changes())} of {want} moves arrived, {xruns} xruns"

    # the same moves, in the same order
    assert [(k, v) for _, k, v in live.changes()] == [(k, v) for _, k, v in rendered.changes()]

    # ... at the same frames, up to one offset (when the sender started) and live jitter
    pairs = list(zip((f for f, _, _ in live.changes()), (f for f, _, _ in rendered.changes())))
    offset = statistics.median(lf - rf for lf, rf in pairs)
    jitter = [abs(lf - rf - offset) for lf, rf in pairs]
    assert statistics.median(jitter) <= 0.02 * RATE, jitter
    assert sum(j <= 0.1 * RATE for j in jitter) >= 0.9 * len(jitter), jitter

    # the clock at each move: the beat live at its frame is the render's beat at the same performance frame
    beats = []
    for lf, rf in pairs:
        lv, rv = live.view_at(lf), rendered.view_at(rf)
        assert lv.running and rv.running
        beats.append(abs(lv.beat_at(lf) - rv.beat_at(rf)))
        if lv.lock == "locked":
            assert abs(lv.bpm - rv.bpm) < 2.0, (lv.bpm, rv.bpm)
    assert statistics.median(beats) <= 0.05, beats            # 25 ms at 120 BPM
    assert sum(b <= 0.2 for b in beats) >= 0.9 * len(beats), beats
