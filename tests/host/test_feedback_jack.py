"""Feedback through a real dummy jackd: values go out of `midi_in_feedback` at start, after a change made
elsewhere, again after the controller reconnects, and at most once per 10 ms per control under a CC flood."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.params.table import ParamKey
from tests.host.daemonkit import GAIN_CC7, Controller, connect, mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.jackclients import MidiRecorder
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

MAPPING = mapping_toml(GAIN_CC7, rule(cc=8, target="mix.wet"), rule(note=36, target="graph.mute"), name=None, feedback=True)
RULES = connect("^midi_in$", "^fakectl:") + connect("^midi_in_feedback$", "^midirec")


def ccs(recorder: MidiRecorder, number: int, since: int = 0) -> list[tuple[int, int]]:
    """(frame, value) of every CC ``number`` the recorder got, from event index ``since``."""
    return [(f, d[2]) for f, d in recorder.events()[since:] if d[0] & 0xF0 == 0xB0 and d[1] == number]


def test_feedback_at_start_after_a_change_after_reconnect_and_under_a_flood(jack_server, tmp_path):
    box = write_box(tmp_path, mapping=MAPPING, connect=RULES)
    recorder = MidiRecorder(jack_server.name)
    recorders = [recorder]
    try:
        with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon, \
                Controller(jack_server.env()) as ctl:
            client = daemon.host.session.client
            assert wait_for(lambda: bool(client.get_all_connections("rbx:midi_in_feedback")))
            assert wait_for(lambda: bool(client.get_all_connections("rbx:midi_in")))
            # at start: every value (out.gain_db 0 dB = top of its range, mix.wet 1, mute off)
            assert wait_for(lambda: ccs(recorder, 7) and ccs(recorder, 8), timeout=20)
            assert ccs(recorder, 7)[-1][1] == 127 and ccs(recorder, 8)[-1][1] == 127
            notes = [d for _, d in recorder.events() if d[0] & 0xF0 == 0x90]
            assert notes and notes[-1] == bytes((0x90, 36, 0))
            # a change made elsewhere (a preset recall, a set): the control shows it
            store = daemon.store
            daemon.host.control.call(lambda: store.set(ParamKey("mix.wet", "main"), 0.5, daemon.host.now()))
            assert wait_for(lambda: ccs(recorder, 8)[-1][1] == 64, timeout=20)
            # the controller comes back (as a new port: unplugged and plugged in again): every value again
            second = MidiRecorder(jack_server.name, name="midirec2")
            recorders.append(second)
            assert wait_for(lambda: ccs(second, 7) and ccs(second, 8), timeout=20)
            assert ccs(second, 8)[-1][1] == 64 and ccs(second, 7)[-1][1] == 127
            # a flood of 1000 CCs a second on one knob: at most one feedback message per 10 ms, final value last
            mark, xruns = recorder.count, daemon.host.xruns
            ctl.send("flood 1000 1000 1 7")
            ctl.send("cc 1 7 33")
            assert wait_for(lambda: abs(store.target(ParamKey("out.gain_db", "main")) - (-40 + 40 * 33 / 127)) < 1e-3)

            def final_shown() -> bool:
                return bool(ccs(recorder, 7, mark)) and ccs(recorder, 7, mark)[-1][1] == 33
            # a message JACK dropped with its cycle is sent again after the xrun (test_feedback_xrun.py)
            assert wait_for(final_shown, timeout=20), (daemon.host.xruns - xruns, daemon.host.control.status())
            flood = ccs(recorder, 7, mark)
            frames = np.array([f for f, _ in flood])
            span_s = (frames[-1] - frames[0]) / 48000
            assert len(flood) <= span_s * 100 + 3                    # 10 ms apart, a few period edges aside
            assert len(flood) >= 10                                  # and it did follow the knob meanwhile
            assert daemon.status()["counters"]["control_errors"] == 0
    finally:
        for each in recorders:
            each.close()
