"""A user's ``jack_disconnect`` of a connection a rule allows holds until the peer port goes and comes back."""

from __future__ import annotations

import threading

import jack
import pytest

from tests.host.daemonkit import Controller, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

PAIR = ("fakectl:out", "rbx:midi_in")


def _ports(client: jack.Client, pattern: str) -> list[jack.Port] | None:
    """The ports matching ``pattern``; None while one vanishes between JACK's listing and its lookup."""
    try:
        return client.get_ports(pattern)
    except jack.JackError:
        return None


def test_a_user_disconnect_holds_until_the_peer_comes_back(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        connector = daemon.host.connector
        patch = jack.Client("patch", servername=jack_server.name, no_start_server=True)
        try:
            with Controller(jack_server.env()):
                assert wait_for(lambda: PAIR in connector.remembered)
                patch.disconnect(*PAIR)                                   # as jack_disconnect does
                assert wait_for(lambda: PAIR in connector.declined)
                for _ in range(3):                                        # more auto-connect passes: each
                    passes = connector.passes                             # new port triggers one
                    port = patch.midi_outports.register(f"poke_{passes}")
                    assert wait_for(lambda passes=passes: connector.passes > passes)
                    port.unregister()
                assert not patch.get_all_connections("fakectl:out")       # the rule did not redo it
            assert wait_for(lambda: PAIR not in connector.declined)       # the peer went away...
            with Controller(jack_server.env()):                           # ... and came back: the rule applies
                assert wait_for(lambda: [p.name for p in patch.get_all_connections("fakectl:out")] == [PAIR[1]])
        finally:
            patch.close()


def test_a_replug_faster_than_the_main_loop_is_not_taken_for_a_user_disconnect(jack_server, tmp_path):
    """The controller vanishes and returns under the same name before the main thread looks (a fast USB replug):
    its disconnect was caused by the port going away, so the rule connects it again."""
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        host, connector = daemon.host, daemon.host.connector
        gate, held = threading.Event(), threading.Event()
        gate.set()
        real_poll = host.poll

        def poll() -> None:                      # the daemon's main loop calls host.poll(): hold it at will
            if not gate.is_set():
                held.set()
                gate.wait()
            real_poll()

        host.poll = poll
        patch = jack.Client("patch", servername=jack_server.name, no_start_server=True)
        try:
            with Controller(jack_server.env()) as ctl:
                assert wait_for(lambda: PAIR in connector.remembered)
                gate.clear()
                assert held.wait(30)                                      # the main thread waits at the gate
                ctl.kill()                                                # unplugged ...
                assert wait_for(lambda: _ports(patch, "^fakectl:") == [])
            with Controller(jack_server.env()):                           # ... and back, same name
                gate.set()                                                # only now does the main loop look
                assert wait_for(lambda: [p.name for p in patch.get_all_connections(PAIR[0])] == [PAIR[1]])
                assert PAIR not in connector.declined and PAIR in connector.remembered
        finally:
            gate.set()
            patch.close()
