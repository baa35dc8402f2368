"""Status tells what plays: each slot's file, loop state and length, bar:beat, the clock source, and
mapping entries aimed at what the box lacks (logged once at load, counted as their events arrive).

Real dummy jackd, the real daemon with the pass-through engine, a controller in its own process
(mido over rtmidi's JACK API) sending real MIDI.
"""

from __future__ import annotations

import logging

import pytest

from ravebox.service.commands import status as status_command
from tests.host.daemonkit import MODELS, TEST_MAPPING, Controller, deliver, running_daemon, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

LACKING = TEST_MAPPING + """
[[map]]
cc = 20
target = "mix.wet"
graph = "voice"
[[map]]
cc = 21
target = "latent.bias"
dim = 12
"""


def test_slots_position_source_and_what_the_mapping_misses(jack_server, tmp_path, caplog):
    box = write_box(tmp_path, mapping=LACKING)
    with caplog.at_level(logging.WARNING, logger="ravebox.assembly"), \
            running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        loaded = [r.getMessage() for r in caplog.records if r.name == "ravebox.assembly"]
        assert sum("graph 'voice' is not in this box" in m for m in loaded) == 1
        assert sum("latent dim 12 is not in this box (the widest graph has 8)" in m for m in loaded) == 1
        status = daemon.status()
        model = str(MODELS / "rave_a.ts")
        assert status["graphs"][0]["slots"] == {"encoder": model, "decoder 0": model}
        assert status["clock"]["source"] == "internal"
        bar, beat = (int(x) for x in status["clock"]["bar_beat"].split(":"))
        assert bar >= 1 and 1 <= beat <= 4
        assert len(status["mapping"]["ignored"]) == 2
        text = status_command.render(status)
        assert "main: a (encoder rave_a.ts, decoder 0 rave_a.ts)" in text
        assert "graph 'voice' is not in this box" in text and ", bar " in text

        with Controller(jack_server.env()) as ctl:
            assert ctl.wait_connected(daemon)
            counters = lambda: daemon.status()["counters"]  # noqa: E731
            for n, value in enumerate((10, 20, 30), start=1):   # one at a time: a flood of one CC is coalesced
                deliver(ctl, daemon, f"cc 1 20 {value}", until=lambda n=n: counters()["mapping_unknown_graphs"] == n)
                deliver(ctl, daemon, f"cc 1 21 {value}", until=lambda n=n: counters()["mapping_unknown_dims"] == n)
        assert "dropped: 3 event(s) for a missing graph, 3 event(s) for a missing dimension" in \
            status_command.render(daemon.status())
