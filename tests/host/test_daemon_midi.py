"""A separate process plays CCs as a controller would; the measured output follows the mapping."""

from __future__ import annotations

import math

import pytest

from ravebox.params.table import ParamKey
from tests.host.daemonkit import Controller, deliver, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Tone, voiced_level_db
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def level_db(sink: Sink, seconds: float = 0.1) -> float:
    """The voiced level of the last ``seconds`` (a cycle this loaded VM dropped is zeros, not the level)."""
    level = voiced_level_db(sink.recorded(0)[-int(seconds * sink.client.samplerate):])
    return -180.0 if level is None else level


def gain(daemon) -> float:
    return daemon.store.target(ParamKey("out.gain_db", "main"))


def settle(sink: Sink, target_db: float, tol: float = 1.0) -> float:
    wait_for(lambda: abs(level_db(sink) - target_db) < tol, timeout=10)
    return level_db(sink)


def test_cc_moves_output_gain_as_mapped(jack_server, tmp_path):
    box = write_box(tmp_path)
    tone_db = 20 * math.log10(0.5 / math.sqrt(2))
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=60)
        try:
            with Controller(jack_server.env()) as ctl:
                assert ctl.wait_connected(daemon)
                assert wait_for(lambda: daemon.host.worker.progress > 4)
                assert abs(settle(sink, tone_db) - tone_db) < 1.0          # unity before any CC
                deliver(ctl, daemon, "cc 1 7 0", until=lambda: gain(daemon) == -40.0)   # -> -40 dB
                assert abs(settle(sink, tone_db - 40) - (tone_db - 40)) < 1.0
                deliver(ctl, daemon, "cc 1 7 127", until=lambda: gain(daemon) == 0.0)   # -> 0 dB
                assert abs(settle(sink, tone_db) - tone_db) < 1.0
                deliver(ctl, daemon, "cc 1 7 64",                                # linear range: -40 + 40*64/127
                        until=lambda: gain(daemon) == pytest.approx(-40 + 40 * 64 / 127))
                expected = tone_db - 40 + 40 * 64 / 127
                assert abs(settle(sink, expected) - expected) < 1.0
            status = daemon.status()
            assert status["counters"]["midi_events"] >= 3
            assert status["params"]["main/out.gain_db"] == pytest.approx(-40 + 40 * 64 / 127, abs=1e-6)
        finally:
            tone.close()
            sink.close()
