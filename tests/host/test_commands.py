"""`ravebox ports`, `ravebox demo` and `ravebox run` as a user runs them (subprocesses, real jackd)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import jack
import numpy as np
import pytest
import soundfile

from tests.host.daemonkit import wait_for, write_box
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def ravebox(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "ravebox.service.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_ports_lists_ports_with_matching_pattern(jack_server, tmp_path):
    clock = subprocess.Popen(["jack_midi_clock", "-b", "120"], env=jack_server.env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        box = write_box(tmp_path)
        probe = jack.Client("probe", servername=jack_server.name, no_start_server=True)
        try:
            assert wait_for(lambda: bool(probe.get_ports("^jack_midi_clock:")), timeout=30)
        finally:
            probe.close()
        done = ravebox("ports", "--config", str(box), "--server", jack_server.name)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        clock_line = next(line for line in lines if line.startswith("jack_midi_clock:mclk_out"))
        assert "rbx:clock_in" in clock_line and "midi_clock|jack_midi_clock" in clock_line
        assert any(line.startswith("system:capture_1") and line.endswith("-> -") for line in lines)
    finally:
        clock.terminate()
        clock.wait(5)


def test_ports_without_a_server_says_so():
    done = ravebox("ports", "--server", f"nosuch-{uuid.uuid4().hex[:6]}")
    assert done.returncode == 3 and "cannot connect" in done.stderr


@pytest.mark.slow
def test_demo_starts_its_own_server_and_captures_something_that_moves(tmp_path):
    name = f"rbx-demo-{uuid.uuid4().hex[:6]}"
    out = tmp_path / "demo.wav"
    # the timeout bounds a hang, it is no timing: a 4 s demo took 4 min 16 s at load average 20 on this VM
    done = ravebox("demo", "--server", name, "--seconds", "4", "--capture", str(out), timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started a dummy server (no sound card): capturing to" in done.stdout
    assert "Cannot connect to server" not in done.stdout + done.stderr     # libjack's probe noise is ours to print
    assert "JackShmReadWritePtr" not in done.stdout + done.stderr
    assert done.stdout.count("late: engine blocks") == 1                  # the ticker explains its words once
    audio, rate = soundfile.read(out)
    assert audio.shape[0] >= 3 * rate and audio.shape[1] == 2
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    second = rate // 2
    levels = [float(np.sqrt(np.mean(audio[i:i + second, 0] ** 2))) for i in range(second, len(audio) - second, second)]
    assert max(levels) > 1e-3                                    # it makes sound ...
    assert np.std(audio[rate:2 * rate, 0] - audio[2 * rate:3 * rate, 0]) > 1e-4   # ... and it moves
    assert name not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_run_bad_config_exits_2_with_every_problem(tmp_path):
    bad = tmp_path / "box.toml"
    bad.write_text("[jack]\nheadroom_period = 1\n[graphs.main]\nencoder = 'nope'\n")
    done = ravebox("run", "--config", str(bad), "--server", "whatever")
    assert done.returncode == 2
    assert "jack.headroom_period: unknown key" in done.stderr and "nope" in done.stderr
    lines = done.stderr.splitlines()
    stopped = [i for i, line in enumerate(lines) if line.rstrip().endswith("stopped")]
    reason = [i for i, line in enumerate(lines) if "jack.headroom_period: unknown key" in line]
    assert len(stopped) == 1 and reason[0] < stopped[0], done.stderr     # the reason first, then "stopped"


def test_status_names_the_jack_server_actually_used(jack_server, tmp_path, monkeypatch):
    """No --server and no [jack] server: libjack takes $JACK_DEFAULT_SERVER, and so does the status."""
    from tests.host.daemonkit import running_daemon
    from tests.host.standins import PassEngine

    monkeypatch.setenv("JACK_DEFAULT_SERVER", jack_server.name)
    with running_daemon(write_box(tmp_path), None, PassEngine.factory()) as daemon:
        assert daemon.status()["jack"]["server"] == jack_server.name


def test_ports_names_the_jack_server_actually_used(jack_server):
    done = ravebox("ports", "--no-models", env=dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"JACK server '{jack_server.name}': ")


def test_run_sighup_reloads_and_sigterm_exits_0(jack_server, tmp_path):
    box = write_box(tmp_path)
    env = dict(os.environ, RAVEBOX_CONTROL_SOCKET=str(tmp_path / "ctl.sock"), NOTIFY_SOCKET="")
    proc = subprocess.Popen([sys.executable, "-m", "ravebox.service.cli", "run", "--config", str(box),
                             "--server", jack_server.name], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "running:" in line:
                break
        proc.send_signal(signal.SIGHUP)
        for line in proc.stderr:
            lines.append(line)
            if "mapping reloaded" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert any("mapping reloaded" in line for line in lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_box_that_cannot_start_waits_says_why_and_plays_once_fixed(jack_server, tmp_path):
    """A model that fails to load: no exit (no systemd restart loop) -- status shows why, a fix plays."""
    import json
    import shutil
    import time

    from tests.host.daemonkit import MODELS

    model = tmp_path / "voice.ts"
    model.write_bytes(b"not a model")
    box = write_box(tmp_path)
    box.write_text(box.read_text().replace(str(MODELS / "rave_a.ts"), str(model)))
    env = dict(os.environ, RAVEBOX_CONTROL_SOCKET=str(tmp_path / "ctl.sock"), NOTIFY_SOCKET="")
    assert ravebox("run", "--config", str(box), "--server", jack_server.name, "--no-wait",
                   env=env).returncode == 3
    proc = subprocess.Popen([sys.executable, "-m", "ravebox.service.cli", "run", "--config", str(box),
                             "--server", jack_server.name], env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "cannot start, waiting" in line:
                break
        status = {}
        for _ in range(100):
            done = ravebox("status", "--json", env=env)
            if done.returncode == 0:
                status = json.loads(done.stdout)
                break
            time.sleep(0.2)
        assert status.get("state") == "waiting" and str(model) in status.get("reason", ""), status
        assert proc.poll() is None                                # still there: no exit, no restart loop
        shutil.copyfile(MODELS / "rave_a.ts", model)               # the fix: the model file is replaced
        for line in proc.stderr:
            if "running:" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
