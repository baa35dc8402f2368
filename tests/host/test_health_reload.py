"""health() follows the worker and the callback; reload() swaps mapping and connect rules live."""

from __future__ import annotations

import pytest

from tests.host.daemonkit import connect, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def test_health_false_while_the_worker_hangs(jack_server, tmp_path):
    with running_daemon(write_box(tmp_path), jack_server.name, PassEngine.factory()) as daemon:
        assert wait_for(lambda: daemon.health() == (True, ""))
        daemon.host.worker.paused = True                       # a worker stuck in a model call
        assert wait_for(lambda: daemon.health() == (False, "inference worker made no progress"), timeout=20)
        daemon.host.worker.paused = False
        assert wait_for(lambda: daemon.health() == (True, ""), timeout=20)


def test_reload_swaps_connect_rules_and_keeps_them_on_a_bad_file(jack_server, tmp_path):
    box = write_box(tmp_path, connect=connect("^nothing$"))
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        sink = Sink(jack_server.name)
        try:
            client = daemon.host.session.client
            assert not client.get_all_connections("rbx:main_out_1")
            box.write_text(box.read_text() + "\n" + connect("^main_out_1$", "^sink:in_1$"))
            answer = daemon.reload()
            assert answer["ok"] and answer["connect"] == "2 connect rule(s) reloaded"
            assert wait_for(lambda: [p.name for p in client.get_all_connections("rbx:main_out_1")] == ["sink:in_1"])
            good = box.read_text()
            box.write_text(good + "\n[jack.oops]\n")
            answer = daemon.reload()
            assert not answer["ok"] and "box file not reloaded, keeping its connect rules" in answer["message"]
            assert len(daemon.host.connector.rules) == 2
        finally:
            sink.close()
