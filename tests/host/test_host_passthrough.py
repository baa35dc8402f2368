"""The host alone (stand-in engine): audio passes through with exactly the declared latency."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from ravebox.config.jack import JackSettings
from ravebox.host.audiopath import GraphIO
from ravebox.host.host import Host
from ravebox.host.hosted import HostedBox
from ravebox.host.latency import CAPTURE, get_range
from ravebox.host.nativecycle import NativeCycle
from ravebox.host.rtprio import make_realtime
from ravebox.params.store import ParamStore
from tests.host.daemonkit import wait_for
from tests.host.jackclients import Sink, Source
from tests.host.standins import PassEngine
from tests.jackserver import JackServer, needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def impulse_delays(through: np.ndarray, direct: np.ndarray, frames_at=None) -> list[int]:
    """Delay of each impulse on ``through`` after the direct one it follows (same sink recording).

    Each through impulse is paired with the latest direct impulse before it, so an impulse an
    xrun swallowed on either side drops out alone instead of shifting every later pair.
    ``frames_at`` (``Sink.frames_at``) measures the delay in JACK frames, so a cycle the sink
    itself missed between the two does not shorten it.
    """
    a = np.flatnonzero(np.abs(direct) > 0.5)
    b = np.flatnonzero(np.abs(through) > 0.5)
    where = frames_at or (lambda index: index)
    pairs = {}
    for y in b:
        i = int(np.searchsorted(a, y, side="right")) - 1
        if i >= 0 and i not in pairs:
            pairs[i] = int(where(np.array([y]))[0] - where(np.array([a[i]]))[0])
    return [pairs[i] for i in sorted(pairs)]


def impulses(rate: int, count: int = 5) -> np.ndarray:
    signal = np.zeros(rate * count // 4, np.float32)
    signal[:: rate // 4] = 1.0
    return signal


@pytest.mark.parametrize("native", [True, False], ids=["native-cycle", "python-process-thread"])
def test_impulses_come_out_after_declared_latency(jack_server, monkeypatch, native):
    """Source feeds ravebox and, directly, a sink; the sink sees each impulse again after the latency, whether
    the JACK thread is C (the native cycle) or Python (its fallback where no library can be built)."""
    if not native:
        monkeypatch.setattr(NativeCycle, "_libs", "turned off by the test")
    graphs = [GraphIO("main", 1, 2)]
    engine = PassEngine(graphs, block_size=2048)
    settings = JackSettings(server=jack_server.name, connect=())
    with Host(settings) as host:
        rate, period = host.open()
        host.start(HostedBox(engine, ParamStore({"main": 8}, rate), rate))
        assert (host.session._native is not None) == native
        source, sink = Source(jack_server.name), Sink(jack_server.name, channels=3)
        try:
            me = host.session.name
            client = host.session.client
            client.connect("src:out", f"{me}:main_in_1")
            client.connect("src:out", "sink:in_3")
            client.connect(f"{me}:main_out_1", "sink:in_1")
            client.connect(f"{me}:main_out_2", "sink:in_2")
            assert wait_for(lambda: sink.first is not None and host.worker.progress > 2)
            source.signal = impulses(rate)
            source.at = source.client.frame_time + period * 4
            latency = host.path.port_latency
            assert latency == 2048 + period + period   # block + one period of headroom + the staged period
            end = source.at + len(source.signal) + latency + 4 * period
            assert wait_for(lambda: sink.first + sink.filled > end)
            direct = sink.recorded(2)
            for ch in (0, 1):
                delays = impulse_delays(sink.recorded(ch), direct, sink.frames_at)
                assert len(delays) >= 3, delays  # an xrun on this VM can swallow an impulse
                # an xrun that skips ravebox's callback shifts later impulses by whole periods
                assert max(set(delays), key=delays.count) == latency, delays
            out_port = client.get_port_by_name(f"{me}:main_out_1")
            in_port = client.get_port_by_name(f"{me}:main_in_1")
            low, high = get_range(out_port, CAPTURE)
            base, _ = get_range(in_port, CAPTURE)
            assert (low - base, high - base) == (latency, latency)
        finally:
            source.close()
            sink.close()


def _realtime_allowed() -> bool:
    """Whether this process may take SCHED_FIFO (root or an rtprio limit), asked on a throwaway thread."""
    allowed = []
    probe = threading.Thread(target=lambda: allowed.append(make_realtime(1, "probe", quiet=True)))
    probe.start()
    probe.join()
    return allowed[0]


def test_a_process_thread_jack_left_at_normal_scheduling_runs_above_the_daemons_own_threads():
    """A jackd that is not realtime leaves its clients' process threads at normal scheduling, where
    ravebox's own SCHED_FIFO threads (worker 2, control and notification 3) would preempt the audio for a
    whole model call. The process thread (C) lifts itself above them, and the Python cycle thread that
    computes its output takes the priority between (above the daemon's threads, below the process thread,
    which must preempt it)."""
    graphs = [GraphIO("main", 1, 2)]
    with JackServer(realtime=False) as server, \
            Host(JackSettings(server=server.name, connect=(), worker_rt_priority=2, control_rt_priority=3)) as host:
        rate, _ = host.open()
        host.start(HostedBox(PassEngine(graphs, block_size=2048), ParamStore({"main": 8}, rate), rate))
        assert wait_for(lambda: host.session.process_tid is not None and host.path.cycles > 2)
        tid = host.session.process_tid
        policy = os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
        cycle_tid = host.session.cycle_tid
        cycle_policy = os.sched_getscheduler(cycle_tid) & ~os.SCHED_RESET_ON_FORK
        if _realtime_allowed():
            assert (policy, os.sched_getparam(tid).sched_priority) == (os.SCHED_FIFO, 5)
            assert (cycle_policy, os.sched_getparam(cycle_tid).sched_priority) == (os.SCHED_FIFO, 4)
        else:
            assert policy == cycle_policy == os.SCHED_OTHER   # refused quietly: it plays on at normal scheduling
        assert host.session.callback_errors == 0
