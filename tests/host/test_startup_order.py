"""Start-up order: the daemon's JACK client opens only after its models are loaded and timed.

Why: loading, tuning and timing a full-size model takes tens of seconds, and a JACK
client left open that long before registering its ports once failed to register
them. The daemon asks the server's rate with a client it closes at once, builds and
times the engine, then opens its real client and registers its ports.

How it is seen: while the engine loads and while it is timed, a client with the box's
exact client name can be opened (no client of the daemon holds that name).
"""

from __future__ import annotations

import jack
import pytest

from ravebox.engine.cost import GraphCost
from ravebox.models.timing import CallTiming
from tests.host.daemonkit import running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

CLIENT = "rbx-order"


def _name_free(server: str) -> bool:
    """True if no JACK client holds ``CLIENT`` (a client of that exact name can be opened)."""
    try:
        probe = jack.Client(CLIENT, servername=server, no_start_server=True, use_exact_name=True)
    except jack.JackError:
        return False
    probe.close()
    return True


class TimedPassEngine(PassEngine):
    """A pass-through engine with a settable measured p99 (``p99``, seconds per block); with
    ``server`` set it records whether the daemon's client was open when it was timed."""

    def __init__(self, graphs, block_size: int = 2048) -> None:
        super().__init__(graphs, block_size)
        self.costs: dict = {}
        self.p99 = 0.002   # one period even with the start-up margin (2 x 2 ms < 5.3 ms)
        self.server = ""
        self.free_while_timed: list[bool] = []

    def measure(self, *, last_multiple: int | None = None) -> dict:
        if self.server:
            self.free_while_timed.append(_name_free(self.server))
        timing = CallTiming(self.p99, self.p99, self.p99, 30, self.p99)
        self.costs = {g.name: GraphCost(g.name, self.block_size / 48000, {"decoder:0": timing}) for g in self.graphs}
        return self.costs

    def block_p99(self, lanes: int = 1) -> float:
        return self.p99


def test_the_jack_client_opens_after_the_models_load_and_are_timed(jack_server, tmp_path):
    free_while_loading = []
    engines = []

    def slow_load(box, rate, seed):
        free_while_loading.append(_name_free(jack_server.name))
        engines.append(TimedPassEngine.factory()(box, rate, seed))
        engines[-1].server = jack_server.name
        return engines[-1]

    with running_daemon(write_box(tmp_path, client=CLIENT), jack_server.name, slow_load) as daemon:
        assert free_while_loading == [True]
        assert engines[0].free_while_timed == [True]        # timed once, before the client opened
        assert daemon.host.headroom.source == "measured" and daemon.host.headroom.p99_s == 0.002
        assert daemon.host.session.client.name == CLIENT    # the real client got the exact name back
        assert wait_for(lambda: daemon.host.worker.progress > 2, timeout=30)
        assert not _name_free(jack_server.name)
