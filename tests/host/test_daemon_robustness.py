"""No input file and no signal can take the show down (against a real dummy jackd).

* every block late: degraded (the watchdog fed); a model hanging seconds per block: the watchdog's health fails;
* SIGHUP with unreadable files (a 5,000-deep TOML array, a symlink loop, a 300-character
  name): reported, the old state keeps playing;
* SIGTERM while the models load: stops promptly, never READY.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ravebox.service.health import DEGRADED
from tests.host.daemonkit import ROOT, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"


def test_an_overloaded_box_is_degraded_and_a_hung_model_unhealthy_though_blocks_complete(jack_server, tmp_path):
    engines: list = []
    factory = PassEngine.factory(built=engines)
    with running_daemon(write_box(tmp_path), jack_server.name, factory) as daemon:
        worker = daemon.host.worker
        assert wait_for(lambda: worker.on_time > 5 and daemon.health() == (True, ""), timeout=30)
        # ~12x a 43 ms block (what the small model's timing read at load 20): every block late, the box
        # plays its dry fallback: degraded, the watchdog still fed (before: unhealthy, so restarted)
        engines[0].sleep_s = 0.5
        done = worker.progress
        assert wait_for(lambda: daemon.health() == (True, DEGRADED) and worker.progress > done + 2, timeout=60)
        # 3 s per block outlasts the 2 s stall window: a hung model, unhealthy although blocks complete
        engines[0].sleep_s = 3.0
        done = worker.progress
        assert wait_for(lambda: daemon.health()[1].startswith("inference worker took "), timeout=60)
        assert daemon.health()[0] is False and worker.progress > done and worker.last_block_s() >= 3.0
        engines[0].sleep_s = 0.0
        assert wait_for(lambda: daemon.health() == (True, ""), timeout=60)


def _sighup(daemon) -> dict:
    before = daemon.reloads.get("mapping")
    daemon._reload_requested = True        # what the SIGHUP handler does; the main loop reloads
    assert wait_for(lambda: daemon.reloads.get("mapping") not in (before, None), timeout=20)
    return daemon.last_reload


@pytest.mark.parametrize("damage", ["deep_box", "deep_mapping", "loop_box", "long_mapping_name"])
def test_sighup_with_unreadable_files_keeps_the_old_state_playing(jack_server, tmp_path, damage):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        assert wait_for(lambda: daemon.health() == (True, ""))
        rules, mapping = daemon.host.connector.rules, daemon.runtime.mapping
        if damage == "deep_box":
            box.write_text(box.read_text() + DEEP)
        elif damage == "deep_mapping":
            (tmp_path / "map.toml").write_text(DEEP)
        elif damage == "loop_box":
            box.unlink()
            (tmp_path / "other.toml").symlink_to(box)
            box.symlink_to(tmp_path / "other.toml")
        else:
            text = box.read_text().replace('file = "map.toml"', f'file = "{"m" * 300}.toml"')
            box.write_text(text)
        _sighup(daemon)
        passes = daemon.host.connector.passes
        assert wait_for(lambda: daemon.host.connector.passes >= passes + 2, timeout=60)   # main-loop turns since
        assert daemon.state == "running"
        assert daemon.host.connector.rules == rules
        assert daemon.runtime.mapping.rules == mapping.rules
        assert wait_for(lambda: daemon.health() == (True, ""))
        if damage == "deep_mapping":
            assert daemon.last_reload["ok"] is False and "RecursionError" in daemon.last_reload["message"]


SIGTERM_DURING_LOAD = """
import os, signal, sys, time
sys.path.insert(0, {root!r})
from tests.host.standins import PassEngine
from ravebox.service.daemon import Daemon, StopDuringStart
from ravebox.service.observers import Observer

class Ready(Observer):
    def on_ready(self, daemon):
        print("READY", flush=True)

def slow_engine(box, rate, seed):
    os.kill(os.getpid(), signal.SIGTERM)       # the stop arrives while the models load
    for _ in range(600):                        # a minute of loading, in Python steps
        time.sleep(0.1)
    print("LOADED", flush=True)
    return PassEngine.factory()(box, rate, seed)

daemon = Daemon({box!r}, server={server!r}, engine_factory=slow_engine, observers=[Ready()])
started = time.monotonic()
try:
    daemon.start()
    print("STARTED", flush=True)
except StopDuringStart:
    print(f"STOPPED {{time.monotonic() - started:.1f}}", flush=True)
"""


def test_sigterm_during_model_load_stops_promptly_and_never_goes_ready(jack_server, tmp_path):
    script = tmp_path / "start.py"
    script.write_text(SIGTERM_DURING_LOAD.format(root=str(ROOT), box=str(write_box(tmp_path)),
                                                 server=jack_server.name))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, JACK_NO_START_SERVER="1"))
    assert "STOPPED" in done.stdout, done.stdout + done.stderr
    assert "READY" not in done.stdout and "LOADED" not in done.stdout and "STARTED" not in done.stdout


def test_a_startup_config_error_is_one_line_and_exit_2(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP)
    loop = tmp_path / "loop.toml"
    loop.symlink_to(tmp_path / "loop2.toml")
    (tmp_path / "loop2.toml").symlink_to(loop)
    for config in (deep, loop, tmp_path / ("b" * 300 + ".toml")):
        done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "run", "--config", str(config)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT,
                              env=dict(os.environ, NOTIFY_SOCKET="", JACK_NO_START_SERVER="1"))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        errors = [line for line in done.stderr.splitlines() if " INFO " not in line and line.strip()]
        assert len(errors) == 1, done.stderr


def test_check_never_tracebacks(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text(textwrap.dedent(DEEP))
    loop = tmp_path / "loop.toml"
    loop.symlink_to(tmp_path / "loop2.toml")
    (tmp_path / "loop2.toml").symlink_to(loop)
    done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "check", str(deep), str(loop),
                           str(tmp_path / ("c" * 300 + ".toml"))], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert len(done.stdout.strip().splitlines()) == 3, done.stdout
