"""A late block does not click on a real dummy jackd: the switches to the dry fallback and back are declicked.

The stand-in engine plays the input inverted (so its wet and the delayed dry are opposite: without the
declick each switch stepped by up to twice the tone, 1.0) and stalls now and then past its deadline.
A 220 Hz tone of 0.5 moves at most 0.0144 per sample; the declick's decay of an offset of at most 1.0
adds at most pi/2 / 240 = 0.0065 (5 ms at 48 kHz): every step stays under 0.03.

An xrun makes a step of its own (a cycle of zeros, or a cycle missing from the recording): a window
during which JACK reported one (its notice read a quarter second after the window, as it can come late
on a loaded machine), or in which the sink missed a cycle, is not judged, and another is recorded.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.host.daemonkit import PASS_CONNECT, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Tone
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

ATTEMPTS = 12      # windows at most; an xrun spoils some on this VM
WANTED = 2         # judged windows
BOUND = 0.03


class StallingInverter(PassEngine):
    """Plays its input inverted; every ``stall_every``-th block (0: never) first sleeps ``stall_s``."""

    def __init__(self, graphs, block_size: int = 2048) -> None:
        super().__init__(graphs, block_size)
        self.stall_every = 0
        self.stall_s = 0.12

    def process(self, inputs, start_frame, store, clock):
        if self.stall_every and self.calls % self.stall_every == 0:
            time.sleep(self.stall_s)
        out = super().process(inputs, start_frame, store, clock)
        return {name: -block for name, block in out.items()}


def contiguous(sink: Sink, start: int, stop: int) -> bool:
    """Whether the sink recorded every JACK cycle from recording index ``start`` to ``stop`` (none missed)."""
    first, last = sink.frames_at(np.array([start, stop - 1]))
    return int(last - first) == stop - 1 - start


def test_late_blocks_switch_to_the_dry_fallback_and_back_without_a_click(jack_server, tmp_path):
    engines: list = []
    with running_daemon(write_box(tmp_path, connect=PASS_CONNECT), jack_server.name,
                        StallingInverter.factory(built=engines)) as daemon:
        host, engine = daemon.host, engines[0]
        host.follow_worker = False            # late blocks must not re-size the headroom (its own fade) here
        tone, sink = Tone(jack_server.name, name="src", hz=220.0), Sink(jack_server.name, seconds=120.0)
        try:
            rate = sink.client.samplerate
            assert wait_for(lambda: sink.first is not None and host.worker.on_time > 4, timeout=30)
            assert wait_for(lambda: sink.hears(0.3), timeout=30)   # the tone got through (connected a poll later)
            engine.stall_every = 12           # about two late blocks every half second
            judged, steps = 0, []
            for _ in range(ATTEMPTS):
                xruns, start, late = host.session.xruns, sink.filled, host.path.late_blocks
                on_time = host.worker.on_time
                assert wait_for(lambda n=late: host.path.late_blocks > n + 2, timeout=30)
                assert wait_for(lambda t=on_time: host.worker.on_time > t + 4, timeout=30)   # the wet is back
                end = sink.filled
                assert wait_for(lambda e=end: sink.filled - e > rate // 10, timeout=30)
                stop = sink.filled
                assert wait_for(lambda s=stop: sink.filled - s > rate // 4, timeout=30)   # late xrun notices
                if host.session.xruns != xruns or not contiguous(sink, start, stop):
                    continue
                out = sink.recorded(0)[start:stop]
                assert np.max(np.abs(out[-rate // 20:])) > 0.3              # the tone plays on
                step = np.abs(np.diff(out.astype(np.float64)))
                at = int(np.argmax(step))
                steps.append((float(step[at]), at, len(out)))
                judged += 1
                if judged == WANTED:
                    break
            if judged == 0:
                pytest.skip(f"an xrun during each of {ATTEMPTS} windows: none could be judged")
            assert host.session.callback_errors == 0
            assert max(s for s, _, _ in steps) < BOUND, steps   # (step, where, window length)
        finally:
            engine.stall_every = 0
            tone.close()
            sink.close()
