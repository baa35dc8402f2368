"""A swapped-in model that costs more (or far less) re-sizes the measured headroom while playing.

The stand-in engine's measured p99 is changed as ``Engine.prepare_swap`` changes the real
one's after timing the incoming model; the main loop (``Host.poll``) then plays a new
audio path with the headroom that p99 needs: status, the latency declared to JACK and
the audio's actual delay all follow, and blocks keep arriving in time.
"""

from __future__ import annotations

import jack
import pytest

from ravebox.host.headroom import STARTUP_MARGIN, periods_for
from ravebox.host.latency import CAPTURE, get_range
from tests.host.daemonkit import PASS_CONNECT, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Source
from tests.host.test_host_passthrough import impulse_delays, impulses
from tests.host.test_startup_order import TimedPassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def _declared(check: jack.Client) -> int:
    low, high = get_range(check.get_port_by_name("rbx:main_out_1"), CAPTURE)
    base, _ = get_range(check.get_port_by_name("rbx:main_in_1"), CAPTURE)
    assert low == high
    return low - base


def _measured_delay(source: Source, sink: Sink, host, latency: int) -> int:
    """The delay (frames) most impulses sent now arrive with at the sink."""
    mark = sink.filled
    source.signal = 0.5 * impulses(sink.client.samplerate)
    source.at = source.client.frame_time + 4 * host.path.period
    end = source.at + len(source.signal) + latency + 8 * host.path.period
    assert wait_for(lambda: sink.first + sink.filled > end, timeout=60)
    delays = impulse_delays(2 * sink.recorded(0)[mark:], 2 * sink.recorded(1)[mark:])
    assert len(delays) >= 3, delays  # an xrun on this VM can swallow an impulse
    return max(set(delays), key=delays.count)


def test_a_costlier_model_grows_the_headroom_and_a_cheaper_one_shrinks_it(jack_server, tmp_path):
    engines: list = []
    load = TimedPassEngine.factory(built=engines)
    with running_daemon(write_box(tmp_path, connect=PASS_CONNECT), jack_server.name, load) as daemon:
        host, engine = daemon.host, engines[0]
        host.follow_worker = False     # this test is about swaps; the worker's own times could move it too
        assert host.headroom.periods == 1
        check = jack.Client("checker", servername=jack_server.name, no_start_server=True)
        source, sink = Source(jack_server.name), Sink(jack_server.name, seconds=120.0, channels=2)
        try:
            check.connect("src:out", "sink:in_2")
            assert wait_for(lambda: sink.first is not None and host.worker.on_time > 4)
            small = host.path.port_latency
            assert _declared(check) == small == 2048 + 256 + 256   # block, headroom, the staged period

            engine.p99 = 0.040                                 # a swapped-in model timed at 40 ms per block
            periods = periods_for(0.040, 256, 48000, STARTUP_MARGIN)   # a swap is timed like the start-up
            assert wait_for(lambda: host.headroom.periods == periods, timeout=20)
            latency = 2048 + (periods + 1) * 256
            status = daemon.status()["latency"]
            assert (status["frames"], status["headroom"]["periods"], status["headroom"]["source"]) == (
                latency, periods, "measured")
            assert wait_for(lambda: _declared(check) == latency, timeout=20)
            on_time = host.worker.on_time
            assert wait_for(lambda: host.worker.on_time > on_time + 4, timeout=30)   # the new path plays
            assert _measured_delay(source, sink, host, latency) == latency

            engine.p99 = 0.039                                 # a little less: not worth a cut
            engine.p99 = 0.002                                 # far less: back to one period
            assert wait_for(lambda: host.headroom.periods == 1, timeout=20)
            assert wait_for(lambda: _declared(check) == small, timeout=20)
            assert host.headroom_resizes == 2
        finally:
            check.close()
            source.close()
            sink.close()


def test_a_pinned_headroom_is_never_resized(jack_server, tmp_path):
    engines: list = []
    load = TimedPassEngine.factory(built=engines)
    box = write_box(tmp_path, extra="headroom_periods = 3")
    with running_daemon(box, jack_server.name, load) as daemon:
        host = daemon.host
        assert (host.headroom.periods, host.headroom.source) == (3, "box")
        engines[0].p99 = 0.040
        done = host.worker.progress
        assert wait_for(lambda: host.worker.progress > done + 4, timeout=30)   # the main loop polled meanwhile
        assert (host.headroom.periods, host.headroom_resizes) == (3, 0)
        assert any("exceeds the headroom budget" in w for w in host.headroom_now().warnings())
