"""Feedback converges through lost cycles, on a real dummy jackd: a client that blocks cycles upstream of
the controller makes JACK drop feedback messages (and report xruns); the controls that went out just
before each xrun are sent again, so the controller ends showing the final values."""

from __future__ import annotations

import threading
import time

import jack
import pytest

from ravebox.params.table import ParamKey
from tests.host.daemonkit import GAIN_CC7, connect, mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.jackclients import MidiRecorder
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

MAPPING = mapping_toml(GAIN_CC7, rule(cc=8, target="mix.wet"), name=None, feedback=True)
RULES = connect("^midi_in$", "^fakectl:") + connect("^midi_in_feedback$", "^midirec")


class Blocker:
    """A JACK client upstream of the recorder whose process callback sleeps ``block_s`` every ``every``-th
    cycle while ``armed``: the recorder waits for it, misses cycles, and JACK reports xruns."""

    def __init__(self, server: str, block_s: float = 0.02, every: int = 4) -> None:
        self.client = jack.Client("blocker", servername=server, no_start_server=True)
        self.out = self.client.midi_outports.register("out")
        self.block_s, self.every, self.cycles = block_s, every, 0
        self.armed = False
        self.client.set_process_callback(self._process)
        self.client.activate()
        self.client.connect("blocker:out", "midirec:in")

    def _process(self, n: int) -> None:
        self.out.clear_buffer()
        self.cycles += 1
        if self.armed and self.cycles % self.every == 0:
            time.sleep(self.block_s)

    def close(self) -> None:
        self.armed = False
        self.client.deactivate()
        self.client.close()


def last_cc(recorder: MidiRecorder, number: int) -> int | None:
    values = [d[2] for _, d in recorder.events() if d[0] & 0xF0 == 0xB0 and d[1] == number]
    return values[-1] if values else None


def test_feedback_dropped_with_its_cycle_is_sent_again_and_the_controller_ends_on_the_final_values(jack_server,
                                                                                                  tmp_path):
    box = write_box(tmp_path, mapping=MAPPING, connect=RULES)
    recorder = MidiRecorder(jack_server.name)
    blocker = None
    try:
        with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
            client = daemon.host.session.client
            assert wait_for(lambda: bool(client.get_all_connections("rbx:midi_in_feedback")))
            assert wait_for(lambda: last_cc(recorder, 7) == 127 and last_cc(recorder, 8) == 127, timeout=20)
            blocker = Blocker(jack_server.name)
            store, control, host = daemon.store, daemon.host.control, daemon.host
            wet, gain = ParamKey("mix.wet", "main"), ParamKey("out.gain_db", "main")
            xruns = host.xruns
            blocker.armed = True
            stop = threading.Event()

            def move() -> None:                      # both controls keep moving, 100 changes a second
                step = 0
                while not stop.is_set():
                    step += 1
                    control.call(lambda s=step: (store.set(wet, (s % 100) / 100, host.now()),
                                                 store.set(gain, -40 + (s % 40), host.now())))
                    time.sleep(0.01)

            mover = threading.Thread(target=move)
            mover.start()
            # xruns while the values move (a bound for a hang: one blocked cycle already makes one)
            assert wait_for(lambda: host.xruns >= xruns + 20, timeout=60)
            stop.set()
            mover.join()
            control.call(lambda: (store.set(wet, 0.25, host.now()), store.set(gain, -10.0, host.now())))
            settle = host.xruns
            assert wait_for(lambda: host.xruns >= settle + 3, timeout=60)   # cycles dropped after the final move
            blocker.armed = False
            final = (round(0.25 * 127), round(30 / 40 * 127))                # mix.wet 0.25, out.gain_db -10 of [-40, 0]
            assert wait_for(lambda: (last_cc(recorder, 8), last_cc(recorder, 7)) == final, timeout=30), \
                (last_cc(recorder, 8), last_cc(recorder, 7), control.status())
            status = control.status()
            assert status["feedback_resent"] > 0                              # the xruns did cost messages a resend
            assert status["control_errors"] == 0
    finally:
        if blocker is not None:
            blocker.close()
        recorder.close()
