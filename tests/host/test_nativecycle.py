"""The native cycle on a real dummy jackd: the JACK thread is C, never waits for Python's GIL, and a late
Python half costs a faded period of silence on ravebox's own ports, counted, not a click or the graph's cycle.
"""

from __future__ import annotations

import ctypes
import threading
import time

import numpy as np
import pytest

from ravebox.config.jack import JackSettings
from ravebox.host.audiopath import GraphIO
from ravebox.host.host import Host
from ravebox.host.hosted import HostedBox
from ravebox.host.nativecycle import SH_PUBLISHED, NativeCycle
from ravebox.params.store import ParamStore
from tests.host.daemonkit import wait_for
from tests.host.jackclients import Sink, Tone
from tests.host.standins import PassEngine
from tests.host.test_late_declick import contiguous
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

ATTEMPTS = 12      # windows at most; an xrun of this VM spoils some
WANTED = 2         # judged windows
BOUND = 0.03       # a 220 Hz tone of 0.5 moves at most 0.0144 per sample; the fades add at most 0.5 / 240


def _started_host(server: str) -> Host:
    host = Host(JackSettings(server=server, connect=()))
    rate, _ = host.open()
    host.start(HostedBox(PassEngine([GraphIO("main", 1, 1)], block_size=2048), ParamStore({"main": 8}, rate), rate))
    return host


def test_the_jack_process_thread_runs_its_cycles_while_another_thread_holds_the_gil(jack_server):
    """A C call that keeps the GIL for 300 ms (as a long pure-Python stretch of another thread would):
    the JACK thread goes on signalling its cycles and plays faded silence, counted; then the cycle thread
    catches up, skipping the cycles whose slots were reused, and the audio path plays on."""
    with _started_host(jack_server.name) as host:
        session = host.session
        native = session._native
        assert native is not None, NativeCycle.unavailable(session.client)
        assert wait_for(lambda: host.path.cycles > 20 and session.process_tid is not None)
        python_threads = {t.native_id for t in threading.enumerate()}
        assert session.process_tid not in python_threads           # the JACK thread never entered Python
        assert session.cycle_tid in python_threads
        published, unready, skipped = int(native.shared[SH_PUBLISHED]), native.unready, native.skipped
        ctypes.PyDLL(None).usleep(300_000)                         # the GIL stays held throughout
        during = int(native.shared[SH_PUBLISHED]) - published      # read before anything else runs Python
        cycles = host.path.cycles
        assert during >= 2, during                                 # ~56 at 48 kHz / 256, however loaded
        assert native.unready > unready
        assert wait_for(lambda: host.path.cycles > cycles + 20)
        assert native.skipped > skipped
        assert session.callback_errors == 0


def _stall_next_cycles(path, seconds: float):
    """Make the audio path's next ``cycle`` call (on the cycle thread) sleep ``seconds`` first, once per
    ``stall["next"] = True``; returns that switch."""
    original, stall = path.cycle, {"next": False}

    def cycle(*args, **kwargs):
        if stall["next"]:
            stall["next"] = False
            time.sleep(seconds)
        return original(*args, **kwargs)

    path.cycle = cycle
    return stall


def test_an_output_a_little_late_is_waited_for_not_faded(jack_server):
    """The cycle thread finishes an output 1.2 periods after its cycle began (0.2 into the period that
    plays it): the JACK thread waits for it, up to half that period, rather than fade it out. Without the
    wait every one of these would be a silent period; a loaded VM may still push a few past the wait."""
    with _started_host(jack_server.name) as host:
        session = host.session
        assert wait_for(lambda: host.path.cycles > 20)
        stall = _stall_next_cycles(host.path, 1.2 * session.period / session.sample_rate)
        unready, tries = session.unready_cycles, 20
        for _ in range(tries):
            cycles = host.path.cycles
            stall["next"] = True
            assert wait_for(lambda c=cycles: host.path.cycles > c + 4, timeout=30)
        assert session.unready_cycles - unready < tries


def test_a_late_cycle_thread_fades_to_silence_and_back_without_a_click(jack_server):
    """The audio path's work is held up ~2.5 periods now and then (what a GIL held elsewhere or a
    preemption does): the periods it misses fade out from the last sample played and the next fades in;
    no step in the recorded output is larger than the tone's own."""
    with _started_host(jack_server.name) as host:
        session, path = host.session, host.path
        tone, sink = Tone(jack_server.name, name="src", hz=220.0), Sink(jack_server.name, seconds=60.0)
        try:
            me = session.name
            session.client.connect("src:out", f"{me}:main_in_1")
            session.client.connect(f"{me}:main_out_1", "sink:in_1")
            rate, period = session.sample_rate, session.period
            assert wait_for(lambda: sink.hears(0.3), timeout=30)
            stall = _stall_next_cycles(path, 2.5 * period / rate)
            judged, steps = 0, []
            for _ in range(ATTEMPTS):
                xruns, unready, start = host.xruns, session.unready_cycles, sink.filled
                assert wait_for(lambda s=start: sink.filled - s > rate // 10, timeout=30)
                stall["next"] = True
                assert wait_for(lambda u=unready: session.unready_cycles > u, timeout=30)
                end = sink.filled
                assert wait_for(lambda e=end: sink.filled - e > rate // 2, timeout=30)   # the latency and more
                stop = sink.filled
                assert wait_for(lambda s=stop: sink.filled - s > rate // 4, timeout=30)  # late xrun notices
                if host.xruns != xruns or not contiguous(sink, start, stop):
                    continue
                out = sink.recorded(0)[start:stop].astype(np.float64)
                # a 220 Hz tone of 0.5 is never below 1e-6 for 8 samples running; a faded-out period is
                silent = np.convolve(np.abs(out) < 1e-6, np.ones(8), "valid")
                assert silent.max() == 8, "no silent stretch: the missed period was not heard"
                assert np.max(np.abs(out[-rate // 20:])) > 0.3                      # the tone plays on
                step = np.abs(np.diff(out))
                steps.append((float(step.max()), int(np.argmax(step)), len(out)))
                judged += 1
                if judged == WANTED:
                    break
            if judged == 0:
                pytest.skip(f"an xrun during each of {ATTEMPTS} windows: none could be judged")
            assert session.callback_errors == 0
            assert max(s for s, _, _ in steps) < BOUND, steps   # (step, where, window length)
        finally:
            tone.close()
            sink.close()


def test_midi_clock_ticks_staged_for_a_silent_period_go_out_later_not_lost(jack_server, tmp_path):
    """The cycle thread is held up ~2.5 periods, twenty times, while ravebox sends MIDI clock: the periods it
    missed play silence, and the ticks it had staged for them go out at the start of the next period it
    made in time. The recorder counts every tick ravebox counted as sent."""
    from tests.host.test_clock_out import clock_box
    from tests.host.daemonkit import running_daemon
    from tests.host.jackclients import MidiRecorder

    recorder = MidiRecorder(jack_server.name)
    try:
        with running_daemon(clock_box(tmp_path, "rbx", 133.0), jack_server.name, PassEngine.factory()) as daemon:
            host = daemon.host
            assert wait_for(lambda: bool(host.session.client.get_all_connections("rbx:clock_out")))
            assert wait_for(lambda: recorder.count > 24)
            session, path, native = host.session, host.path, host.session._native
            original = path.cycle
            stall = _stall_next_cycles(path, 2.5 * session.period / session.sample_rate)
            ticks_in = lambda: sum(1 for _, data in recorder.events() if data == b"\xf8")  # noqa: E731
            sent0, received0, xruns0 = host.clock_out.ticks, ticks_in(), recorder.xruns
            for _ in range(20):
                unready = session.unready_cycles
                stall["next"] = True
                assert wait_for(lambda u=unready: session.unready_cycles > u, timeout=30)
                time.sleep(0.02)
            path.cycle = original
            time.sleep(0.1)                                  # the last carried ticks reach the recorder
            sent, received, xruns = host.clock_out.ticks - sent0, ticks_in() - received0, recorder.xruns - xruns0
            assert native.midi_carried > 0                   # ticks were staged for silent periods
        if xruns:
            pytest.skip(f"{xruns} xruns: the recorder may have missed cycles of its own")
        assert sent > 20 and abs(received - sent) <= 2, (received, sent)   # in flight at either read: 1 each
    finally:
        recorder.close()
