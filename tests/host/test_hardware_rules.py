"""The built-in connect rules admit hardware only, not names any JACK client can choose (real jackd)."""

from __future__ import annotations

import time

import jack
import pytest

from tests.host.daemonkit import running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def test_a_client_posing_as_a_controller_or_a_clock_is_not_patched_in(jack_server, tmp_path):
    box = write_box(tmp_path, connect="")                  # no [[jack.connect]]: the built-in rules
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        client = daemon.host.session.client
        me = daemon.host.session.name
        assert wait_for(lambda: "system:capture_1" in [p.name for p in client.get_all_connections(
            f"{me}:main_in_1")])                            # the sound card: hardware, connected
        rogue = jack.Client("my_midi_clock", servername=jack_server.name, no_start_server=True)
        try:
            midi = rogue.midi_outports.register("out", is_physical=True)
            midi.set_alias("system:midi_capture_9")       # posing as the -X seq bridge
            audio = rogue.outports.register("capture_1", is_physical=True)
            audio.set_alias("system:capture_7")
            rogue.activate()
            daemon.host.session.ports_changed = True
            time.sleep(3.0)                                 # several auto-connect passes of the main loop
            for port in ("midi_in", "clock_in", "main_in_1"):
                peers = [p.name for p in client.get_all_connections(f"{me}:{port}")]
                assert not any(name.startswith("my_midi_clock:") for name in peers), (port, peers)
        finally:
            rogue.deactivate()
            rogue.close()
