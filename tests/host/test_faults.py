"""Every fault of issue 5, against a real dummy jackd: server restart, MIDI unplug, flood, garbage,
a model raising in the worker, SIGTERM."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path

import jack
import numpy as np
import pytest

from ravebox.host.democlients import XrunCounter
from ravebox.params.table import ParamKey
from tests.host.daemonkit import TWO_GRAPHS_CONNECT, Controller, deliver, running_daemon, wait_for, write_box
from tests.host.jackclients import Sink, Tone, rms
from tests.host.standins import PassEngine
from tests.jackserver import JackServer, needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

RUNDAEMON = Path(__file__).with_name("rundaemon.py")


def level(sink: Sink, channel: int = 0, seconds: float = 0.1) -> float:
    return rms(sink.recorded(channel)[-int(seconds * sink.client.samplerate):])


def gain(daemon) -> float:
    return daemon.store.target(ParamKey("out.gain_db", "main"))


def test_server_killed_and_restarted(tmp_path, caplog):
    """ravebox reconnects with backoff, restores rule and remembered connections, logs each step."""
    caplog.set_level(logging.INFO, logger="ravebox")
    box = write_box(tmp_path)
    with JackServer() as server, running_daemon(box, server.name, PassEngine.factory()) as daemon:
        tone, sink = Tone(server.name), Sink(server.name, seconds=30)
        patch = jack.Client("patchbay", servername=server.name, no_start_server=True)
        patch.connect("rbx:main_out_1", "system:playback_2")            # a manual (remembered) connection
        assert wait_for(lambda: level(sink) > 0.3)
        assert wait_for(lambda: ("rbx:main_out_1", "system:playback_2") in daemon.host.connector.remembered)
        server.kill()
        # wait until the daemon closed its dead client: libjack must not close two at once in one process
        assert wait_for(lambda: daemon.host.session is None)
        for client in (tone, sink, patch):
            client.close() if isinstance(client, jack.Client) else client.client.close()
        server.start()
        assert wait_for(lambda: daemon.host.reconnects == 1, timeout=30)
        tone, sink = Tone(server.name), Sink(server.name, seconds=30)
        try:
            assert wait_for(lambda: level(sink) > 0.3)                    # audio flows again, via the rules
            check = jack.Client("checker", servername=server.name, no_start_server=True)
            names = [p.name for p in check.get_all_connections("rbx:main_out_1")]
            check.close()
            assert "system:playback_2" in names and "sink:in_1" in names
            assert daemon.health() == (True, "") or wait_for(lambda: daemon.health()[0], timeout=5)
        finally:
            tone.close()
            sink.close()
    text = caplog.text
    assert "JACK session ended" in text
    assert "reconnected to JACK" in text
    assert "connected rbx:main_out_1 -> system:playback_2 (remembered)" in text


def test_midi_source_unplugged_and_back(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with Controller(jack_server.env()) as ctl:
            assert ctl.wait_connected(daemon)
            deliver(ctl, daemon, "cc 1 7 0", until=lambda: gain(daemon) == -40.0)
            ctl.kill()                                                      # the USB cable is pulled
        assert wait_for(lambda: not any(p.name.startswith("fakectl:")
                                        for p in daemon.host.session.client.get_ports()))
        with Controller(jack_server.env()) as ctl:                          # ... and plugged back in
            assert wait_for(lambda: bool(daemon.host.session.client.get_all_connections("rbx:midi_in")))
            deliver(ctl, daemon, "cc 1 7 127", until=lambda: gain(daemon) == 0.0)


def test_flood_of_1000_cc_per_second(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=30)
        try:
            with Controller(jack_server.env()) as ctl:
                assert ctl.wait_connected(daemon)
                control = daemon.host.control
                before, xruns = control.events + control.coalesced, daemon.host.xruns
                ctl.send("flood 3000 1000 1 8")                             # 3 s of mix.wet sweeps
                # the closing CC lands after the whole flood, so the daemon has caught up once it shows
                deliver(ctl, daemon, "cc 1 8 127", until=lambda: daemon.store.target(ParamKey("mix.wet", "main")) == 1.0,
                        timeout=60)
                xruns = daemon.host.xruns - xruns
            # a CC superseded within one drain pass is coalesced (counted, never parsed): both were received
            received = control.events + control.coalesced - before
            assert daemon.host.midi_in.dropped == 0 and daemon.host.midi_in.oversized == 0   # ravebox lost none
            assert daemon.host.control.errors == 0
            # rtmidi's JACK output in the sender process may itself drop a few under load on this VM, and
            # around an xrun a late reader can see one cycle's events twice (at most ~6 at 1000/s, period 256)
            assert 2900 <= received <= 3001 + 6 * xruns, (received, xruns)
            assert wait_for(lambda: level(sink) > 0.3)                      # audio still flows
        finally:
            tone.close()
            sink.close()


GARBAGE = ["F5", "80", "FF FF 07", "B0", "9A 3C", "F4 01 02", "00 01 02 03", "F0 01 02", "B0 07 40 41 42"]


def test_garbage_bytes_are_counted_and_ignored(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        with Controller(jack_server.env()) as ctl:
            assert ctl.wait_connected(daemon)
            sent = [raw for raw in GARBAGE if ctl.send(f"raw {raw}") == "ok"]
            assert len(sent) >= 5
            deliver(ctl, daemon, "cc 1 7 0", until=lambda: gain(daemon) == -40.0)   # a good message after the junk
        counters = daemon.status()["counters"]
        assert counters["midi_garbage"] + counters["midi_dropped"] > 0
        assert daemon.host.control.errors == 0
        assert daemon.health()[0] or wait_for(lambda: daemon.health()[0], timeout=5)


TWO_GRAPHS = """
[graphs.main]
encoder = "a"
[graphs.other]
encoder = "a"
"""


def test_model_raising_mutes_its_graph_only(jack_server, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="ravebox")
    box = write_box(tmp_path, graphs=TWO_GRAPHS, connect=TWO_GRAPHS_CONNECT)
    engines: list = []
    factory = PassEngine.factory(built=engines)
    with running_daemon(box, jack_server.name, factory) as daemon:
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=30, channels=2)
        try:
            assert wait_for(lambda: level(sink, 0) > 0.3 and level(sink, 1) > 0.3)
            engines[0].fail_graph = "main"
            assert wait_for(lambda: level(sink, 0) < 1e-4)                  # main is muted ...
            assert level(sink, 1) > 0.3                                     # ... the other graph plays on
            assert wait_for(lambda: level(sink, 1) > 0.3 and daemon.host.worker.progress > 0)
            status = daemon.status()
            assert [g["muted"] for g in status["graphs"]] == [True, False]
        finally:
            tone.close()
            sink.close()
    assert "graph main muted" in caplog.text


def test_sigterm_fades_out_within_50ms_and_exits_0(jack_server, tmp_path):
    box = write_box(tmp_path)
    proc = subprocess.Popen([sys.executable, str(RUNDAEMON), str(box), jack_server.name, "pass"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tone = sink = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=30)
        monitor = XrunCounter(jack_server.name)
        assert wait_for(lambda: level(sink) > 0.3)
        xruns = monitor.count
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        xrun_during_fade = monitor.count != xruns
        monitor.close()
        rate = sink.client.samplerate
        wait_for(lambda: False, timeout=0.3)                                # let the sink record the tail
        out = sink.recorded(0)
        env = np.abs(out)
        loud = np.flatnonzero(env > 0.3)
        last_full = loud[-1]
        silent_from = last_full + np.flatnonzero(env[last_full:] < 1e-6)[0]
        assert silent_from - last_full <= 0.05 * rate                       # faded within 50 ms of audio
        if not xrun_during_fade:  # a skipped cycle makes its own jump in any recording; judge the ramp without
            assert np.max(np.abs(np.diff(out[last_full - 100:silent_from + 100]))) < 0.1   # a ramp, no click
        check = jack.Client("checker", servername=jack_server.name, no_start_server=True)
        assert not [p for p in check.get_ports() if p.name.startswith("rbx:")]
        check.close()
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in (tone, sink):
            if c is not None:
                c.close()


@pytest.mark.parametrize("policy", ["dry", "silence"])
def test_late_worker_plays_delayed_dry_or_silence_and_counts(jack_server, tmp_path, policy):
    """A worker slower than its deadline never blocks the audio: each late block plays the
    configured fallback, and is counted."""
    box = write_box(tmp_path, sections=f'[output]\nlate_block = "{policy}"\n')
    engines: list = []
    factory = PassEngine.factory(built=engines)
    with running_daemon(box, jack_server.name, factory) as daemon:
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=30)
        try:
            assert wait_for(lambda: level(sink) > 0.3)
            engines[0].sleep_s = 0.2                                          # far past the ~10 ms deadline
            late = daemon.status()["late_blocks"]
            assert wait_for(lambda: daemon.status()["late_blocks"] > late + 5)
            mark = sink.filled
            assert wait_for(lambda: sink.filled - mark > sink.client.samplerate)
            played = level(sink, seconds=0.5)
            if policy == "dry":
                assert played > 0.3                                           # the delayed dry tone
            else:
                assert played < 1e-3
            assert daemon.host.session.callback_errors == 0
        finally:
            engines[0].sleep_s = 0.0
            tone.close()
            sink.close()


def test_buffer_size_change_rebuilds_the_path_and_reports_the_new_latency(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        tone, sink = Tone(jack_server.name), Sink(jack_server.name, seconds=30)
        try:
            assert wait_for(lambda: level(sink) > 0.3)
            assert daemon.status()["latency"]["frames"] == 2048 + 2 * 256   # block, headroom, the staged period
            done = subprocess.run(["jack_bufsize", "512"], env=jack_server.env(), capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            assert wait_for(lambda: daemon.status()["latency"]["frames"] == 2048 + 2 * 512)
            mark = sink.filled
            assert wait_for(lambda: sink.filled - mark > sink.client.samplerate)
            assert wait_for(lambda: level(sink) > 0.3)
        finally:
            tone.close()
            sink.close()


def test_midi_thru_copies_controller_messages_to_midi_out(jack_server, tmp_path):
    box = write_box(tmp_path, extra="midi_thru = true")
    received = []
    listener = jack.Client("listener", servername=jack_server.name, no_start_server=True)
    port = listener.midi_inports.register("in")

    @listener.set_process_callback
    def process(n):
        for _, data in port.incoming_midi_events():
            received.append(bytes(data))
    listener.activate()
    try:
        with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
            listener.connect("rbx:midi_out", "listener:in")
            with Controller(jack_server.env()) as ctl:
                assert ctl.wait_connected(daemon)
                ctl.send("cc 3 7 99")
                assert wait_for(lambda: b"\xb2\x07\x63" in received)
    finally:
        listener.deactivate()
        listener.close()
