"""Recording on the box through a real dummy jackd: `ravebox status record start|stop` and a mapped toggle
write the output (and the dry input) to FLAC while a tone plays through the box."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile

from ravebox.params.table import ParamKey
from ravebox.service.socket_observer import ControlSocketObserver
from tests.host.daemonkit import TEST_MAPPING, Controller, deliver, running_daemon, wait_for, write_box
from tests.host.jackclients import Tone, rms
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

ENABLED = ParamKey("record.enabled")

MAPPING = TEST_MAPPING + """
[[map]]
cc = 20
target = "record.enabled"
button = "toggle"
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ravebox.service.cli", *args], capture_output=True, text=True,
                          timeout=120)


def dominant_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * rate / len(signal))


def test_record_start_stop_and_a_mapped_toggle_write_flac(jack_server, tmp_path):
    box = write_box(tmp_path, mapping=MAPPING, sections='[record]\nfolder = "takes"\ndry = true\nreserve_mb = 1\n')
    sock = str(tmp_path / "ctl.sock")
    with running_daemon(box, jack_server.name, PassEngine.factory(), observers=[ControlSocketObserver(sock)]) \
            as daemon, Controller(jack_server.env()) as ctl:
        tone = Tone(jack_server.name, hz=375.0, amplitude=0.5)
        try:
            assert wait_for(lambda: bool(daemon.host.session.client.get_all_connections("rbx:main_in_1")))
            started = cli("status", "record", "start", "--socket", sock)
            assert started.returncode == 0 and "recording to" in started.stdout, started.stdout + started.stderr
            assert wait_for(lambda: daemon.status()["record"]["seconds"] >= 2.0, timeout=60)
            shown = cli("status", "--socket", sock).stdout
            assert "recording" in shown and "MB free" in shown
            stopped = cli("status", "record", "stop", "--socket", sock)
            assert stopped.returncode == 0 and "recorded" in stopped.stdout
            first = sorted((tmp_path / "takes").glob("ravebox-*.flac"))
            assert wait_for(lambda: bool(daemon.host.session.client.get_all_connections("rbx:midi_in")))
            # the mapped button: start ... (a release, then a press: safe to repeat if an xrun ate it)
            deliver(ctl, daemon, "cc 1 20 0", "cc 1 20 127", until=lambda: daemon.store.target(ENABLED) == 1.0)
            assert wait_for(lambda: daemon.status()["record"].get("seconds", 0) >= 1.2, timeout=60)  # shown rounded to 0.1 s
            deliver(ctl, daemon, "cc 1 20 0", "cc 1 20 127",            # ... and stop (a toggle)
                    until=lambda: daemon.store.target(ENABLED) == 0.0)
            assert wait_for(lambda: not daemon.status()["record"]["recording"], timeout=30)
        finally:
            tone.close()
    takes = sorted((tmp_path / "takes").glob("ravebox-*.flac"))
    assert len(first) == 2 and len(takes) == 4                       # two takes, each with a -dry file
    for name in (t for t in takes if not t.name.endswith("-dry.flac")):
        wet, rate = soundfile.read(name, dtype="float32")
        dry, _ = soundfile.read(name.with_name(name.stem + "-dry.flac"), dtype="float32")
        assert rate == 48000 and len(wet) == len(dry) >= rate
        tail = wet[-rate // 2:]                                     # past the box's latency: the tone
        assert abs(dominant_hz(tail, rate) - 375.0) < 5.0 and abs(rms(tail) - 0.5 / np.sqrt(2)) < 0.05
        assert abs(dominant_hz(dry[-rate // 2:], rate) - 375.0) < 5.0
