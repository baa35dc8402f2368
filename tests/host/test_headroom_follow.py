"""A worker that becomes slow while playing: the measured headroom grows until no block is late.

The stand-in engine is timed at start-up at 3 ms per block (one period of headroom, 5.3 ms
at period 256); then each block starts to cost 15 ms (``sleep_s``), as a full-size model
does when the machine gets busy. The main loop sees the worker's own block times pass the
budget and plays a new audio path with more headroom: status, the latency declared to JACK
and the headroom's source follow, and from then on blocks arrive in time. Counts and
latencies only: how many periods it grows to depends on how slow this machine is now.
"""

from __future__ import annotations

import time

import jack
import pytest

from ravebox.host.headroom import periods_for
from tests.host.daemonkit import running_daemon, wait_for, write_box
from tests.host.test_headroom_swap import PASS_CONNECT, _declared
from tests.host.test_startup_order import TimedPassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

SLOW_S = 0.015   # per block: over one period's budget, well under the 42.7 ms block


def _calm_stretch(host, blocks: int) -> bool:
    """True once ``blocks`` blocks in a row were committed in time with no late block and no re-size."""
    state = getattr(host, "_test_calm", None)
    now = (host.worker.on_time, host.path.late_blocks, host.headroom_resizes)
    if state is None or now[1:] != state[1:]:
        host._test_calm = now
        return False
    return now[0] - state[0] >= blocks


def test_a_worker_slowed_while_playing_grows_the_headroom_until_no_block_is_late(jack_server, tmp_path):
    engines: list = []
    load = TimedPassEngine.factory(built=engines)
    with running_daemon(write_box(tmp_path, connect=PASS_CONNECT), jack_server.name, load) as daemon:
        host, engine = daemon.host, engines[0]
        assert (host.headroom.periods, host.headroom.source) == (1, "measured")
        check = jack.Client("checker", servername=jack_server.name, no_start_server=True)
        try:
            assert wait_for(lambda: host.worker.on_time > 4, timeout=30)
            engine.sleep_s = SLOW_S
            assert wait_for(lambda: host.headroom.source == "running", timeout=60)
            assert host.headroom.periods >= periods_for(SLOW_S, 256, 48000) == 5
            assert host.headroom.running_s >= SLOW_S
            assert wait_for(lambda: _calm_stretch(host, 40), timeout=120)     # 40 blocks in a row in time
            periods = host.headroom.periods
            latency = 2048 + (periods + 1) * 256   # block, headroom, the staged period
            status = daemon.status()["latency"]
            assert (status["frames"], status["headroom"]["periods"], status["headroom"]["source"]) == (
                latency, periods, "running")
            assert status["headroom"]["running_p99_ms"] >= 1e3 * SLOW_S
            assert status["headroom"]["measured_p99_ms"] == 2.0
            assert wait_for(lambda: _declared(check) == latency, timeout=20)
            assert host.headroom_resizes >= 1
        finally:
            engine.sleep_s = 0.0
            check.close()


class StallOnRequest(TimedPassEngine):
    """Timed at 10 ms per block (5 periods of headroom: a loaded machine's ordinary moments stay under the
    grow line); the next ``stalls`` blocks each first sleep ``stall_s`` (a VM stall)."""

    def __init__(self, graphs, block_size: int = 2048) -> None:
        super().__init__(graphs, block_size)
        self.p99 = 0.010
        self.stalls = 0
        self.stall_s = 0.15

    def process(self, inputs, start_frame, store, clock):
        if self.stalls:
            self.stalls -= 1
            time.sleep(self.stall_s)
        return super().process(inputs, start_frame, store, clock)


def test_a_lone_stall_is_one_dropout_that_keeps_the_latency_and_a_second_grows_it(jack_server, tmp_path):
    engines: list = []
    with running_daemon(write_box(tmp_path, connect=PASS_CONNECT), jack_server.name,
                        StallOnRequest.factory(built=engines)) as daemon:
        host, engine = daemon.host, engines[0]
        assert wait_for(lambda: host.worker.on_time > 20, timeout=30)
        periods, late, resizes = host.headroom.periods, host.path.late_blocks, host.headroom_resizes
        assert periods == 5
        engine.stalls = 1
        assert wait_for(lambda: host.path.late_blocks > late, timeout=30)   # a 150 ms stall: blocks played late
        on_time = host.worker.on_time
        assert wait_for(lambda: host.worker.on_time > on_time + 10, timeout=30)   # playing on
        assert (host.headroom.periods, host.headroom_resizes) == (periods, resizes)   # the latency kept
        engine.stalls = 1                     # a second dropout well within 256 blocks (about 11 s)
        assert wait_for(lambda: host.headroom_resizes > resizes, timeout=30)
        assert host.headroom.periods == 2 * periods and host.headroom.source == "running"   # at most twofold
