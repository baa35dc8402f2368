"""The built-in connect rules admit hardware only, not names any JACK client can choose (real jackd)."""

from __future__ import annotations

import subprocess
import sys

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
            connector = daemon.host.connector
            passes = connector.passes
            assert wait_for(lambda: connector.passes >= passes + 2, timeout=60)   # auto-connect passes since
            for port in ("midi_in", "clock_in", "main_in_1"):
                peers = [p.name for p in client.get_all_connections(f"{me}:{port}")]
                assert not any(name.startswith("my_midi_clock:") for name in peers), (port, peers)
        finally:
            rogue.deactivate()
            rogue.close()


def test_ports_shows_a_software_client_is_not_admitted_by_the_hardware_only_rules(jack_server):
    rogue = jack.Client("my_midi_clock", servername=jack_server.name, no_start_server=True)
    try:
        rogue.midi_outports.register("out", is_physical=True)   # any client may set the flag on its own port
        rogue.activate()
        done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "ports", "--server", jack_server.name],
                              capture_output=True, text=True, timeout=120)
    finally:
        rogue.deactivate()
        rogue.close()
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line and not line.startswith(" ")}
    assert "-> ravebox:main_in_1 (allow '^system:capture_', hardware)" in lines["system:capture_1"]
    assert lines["my_midi_clock:out"].endswith(
        "-> - (software: the rule of ravebox:clock_in admits hardware only)")
    assert any(line.startswith("(hardware: JACK's physical flag") for line in done.stdout.splitlines())
