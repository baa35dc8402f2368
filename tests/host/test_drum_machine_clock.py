"""A drum machine on ``midi_in`` (the default wiring) drives the tempo: jitter, a tempo change, locked.

The stand-in (tests/host/drummachine.py) is a separate process named like a USB
drum machine behind a2j; the box wires it to ``midi_in`` by name, as a box for
that drum machine would (the default rules admit only JACK's physical ports,
which no test client can be), and ``clock_from`` keeps its default (any input).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.host.daemonkit import Controller, connect, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

MACHINE = Path(__file__).with_name("drummachine.py")
PORT = "a2j:TR-8 [24] (capture): TR-8 MIDI 1"
DEVICE = "a2j:TR-8 (capture): TR-8 MIDI 1"   # the label: a2j's ALSA client number removed


def clock(daemon) -> dict:
    return daemon.status()["clock"]


def near(daemon, bpm: float) -> bool:
    c = clock(daemon)
    return c["lock"] == "locked" and abs(c["bpm"] - bpm) < 0.5


def test_a_drum_machine_on_midi_in_drives_the_tempo_through_a_change(jack_server, tmp_path):
    box = write_box(tmp_path, connect=connect("^midi_in$", "TR-8"))
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        machine = Controller(jack_server.env(), name="a2j", script=MACHINE)
        try:
            client = daemon.host.session.client
            assert wait_for(lambda: [p.name for p in client.get_all_connections("rbx:midi_in")]
                            == [PORT])
            machine.send("start")
            assert wait_for(lambda: near(daemon, 120.0), timeout=30)
            assert clock(daemon)["source"] == f"midi_in <- {DEVICE}"
            assert clock(daemon)["transport"] == "running"                 # the machine's Start was obeyed
            machine.send("tempo 96")                                     # no Stop/Start between
            assert wait_for(lambda: near(daemon, 96.0), timeout=30)
            assert not daemon.follower.refused
        finally:
            machine.close()
