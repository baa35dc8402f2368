"""MIDI learn end to end: `ravebox status learn` over the control socket, a controller process moves a knob,
the mapping file gets a [[map]] entry `ravebox check` accepts, and the same move then drives the parameter."""

from __future__ import annotations

import subprocess
import sys
import threading
import tomllib

import pytest

from ravebox.params.table import ParamKey
from ravebox.service.socket_observer import ControlSocketObserver
from tests.host.daemonkit import GAIN_CC7, Controller, deliver, mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ravebox.service.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_learn_writes_a_checked_entry_that_reproduces_the_move(jack_server, tmp_path):
    box = write_box(tmp_path)
    mapping = tmp_path / "map.toml"
    before = mapping.read_text()
    sock = tmp_path / "ctl.sock"
    with running_daemon(box, jack_server.name, PassEngine.factory(), observers=[ControlSocketObserver(str(sock))]) \
            as daemon, Controller(jack_server.env()) as ctl:
        assert wait_for(lambda: bool(daemon.host.session.client.get_all_connections("rbx:midi_in")))
        assert wait_for(lambda: "fakectl" in daemon.host.control.labels[0])
        answer: dict = {}
        learner = threading.Thread(target=lambda: answer.update(
            done=cli("status", "learn", "gate.depth", "--graph", "main", "--socket", str(sock), "--timeout", "60")))
        learner.start()
        assert wait_for(lambda: daemon.host.control.learner is not None, timeout=30)
        deliver(ctl, daemon, "cc 3 21 127")                       # knob: CC 21 on channel 3, all the way up
        learner.join(90)
        done = answer["done"]
        assert done.returncode == 0, done.stdout + done.stderr
        assert "learned cc 21 on channel 3 from 'fakectl" in done.stdout and "main/gate.depth" in done.stdout
        text = mapping.read_text()
        assert text.startswith(before)                            # the hand-written part untouched
        entry = tomllib.loads(text)["map"][-1]
        assert entry["cc"] == 21 and entry["channel"] == 3 and entry["target"] == "gate.depth"
        assert "fakectl" in entry["port"]
        assert daemon.status()["learn"]["last"]["ok"]
        key = ParamKey("gate.depth", "main")
        assert daemon.store.target(key) == 0.0                    # the teaching move did not play
        deliver(ctl, daemon, "cc 3 21 64", until=lambda: abs(daemon.store.target(key) - 64 / 127) < 1e-6)
        # learning the same knob again: asked first, nothing written; --add keeps both
        ctl_thread = threading.Thread(target=lambda: answer.update(again=cli(
            "status", "learn", "mix.wet", "--socket", str(sock), "--timeout", "60")))
        ctl_thread.start()
        assert wait_for(lambda: daemon.host.control.learner is not None, timeout=30)
        deliver(ctl, daemon, "cc 3 21 10")
        ctl_thread.join(90)
        again = answer["again"]
        assert again.returncode == 1 and "already mapped by map[2]" in again.stdout and "--replace" in again.stdout
        assert mapping.read_text() == text
        added = cli("status", "learn", "mix.wet", "--add", "--socket", str(sock), "--timeout", "60")
        assert added.returncode == 0 and "layered with map[2]" in added.stdout   # no second move needed
    check = cli("check", str(mapping))
    assert check.returncode == 0, check.stdout + check.stderr
    data = tomllib.loads(mapping.read_text())
    assert [m.get("layer") for m in data["map"][-2:]] == [True, True]


def test_learn_times_out_and_cancels_with_a_clear_reply(jack_server, tmp_path):
    box = write_box(tmp_path)
    sock = tmp_path / "ctl.sock"
    with running_daemon(box, jack_server.name, PassEngine.factory(), observers=[ControlSocketObserver(str(sock))]) \
            as daemon:
        timed = cli("status", "learn", "mix.wet", "--socket", str(sock), "--timeout", "0.5")
        assert timed.returncode == 1 and "no controller message within 0.5 s" in timed.stdout
        answer: dict = {}
        waiting = threading.Thread(target=lambda: answer.update(done=cli(
            "status", "learn", "mix.wet", "--socket", str(sock), "--timeout", "60")))
        waiting.start()
        assert wait_for(lambda: daemon.host.control.learner is not None, timeout=30)
        cancel = cli("status", "learn", "--cancel", "--socket", str(sock))
        assert cancel.returncode == 0 and "cancelled" in cancel.stdout
        waiting.join(60)
        assert answer["done"].returncode == 1 and "cancelled" in answer["done"].stdout
        assert daemon.host.control.learner is None
        bad = cli("status", "learn", "mix.wte", "--socket", str(sock))
        assert bad.returncode == 1 and "did you mean 'mix.wet'" in bad.stdout


LEARN_BUTTON = mapping_toml(GAIN_CC7, rule(cc=64, learn="mix.wet", graph="main"),   # a CC button: 127 pressed, 0 released
                            name="with a learn button")


def test_a_learn_button_teaches_the_next_control_moved_and_is_not_learned_itself(jack_server, tmp_path):
    box = write_box(tmp_path, mapping=LEARN_BUTTON)
    mapping = tmp_path / "map.toml"
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon, Controller(jack_server.env()) as ctl:
        assert wait_for(lambda: "fakectl" in daemon.host.control.labels[0])
        ctl.send("cc 1 64 127")                                    # press LEARN
        assert wait_for(lambda: daemon.host.control.learner is not None, timeout=30)
        assert daemon.status()["learn"]["learning"] == "main/mix.wet"
        ctl.send("cc 1 64 0")                                      # its release is not what is learned
        ctl.send("cc 1 21 100")                                    # the control to teach
        assert wait_for(lambda: (daemon.status()["learn"]["last"] or {}).get("ok") is True, timeout=60)
        entry = tomllib.loads(mapping.read_text())["map"][-1]
        assert (entry["cc"], entry["target"], entry["graph"]) == (21, "mix.wet", "main")
        subprocess.run([sys.executable, "-m", "ravebox.service.cli", "check", str(mapping)], check=True,
                       capture_output=True, timeout=120)
        key = ParamKey("mix.wet", "main")
        ctl.send("cc 1 21 64")                                     # the learned knob now plays
        assert wait_for(lambda: abs(daemon.store.target(key) - 64 / 127) < 1e-6)
        # pressed again and again: arms, then cancels; nothing is written
        text = mapping.read_text()
        ctl.send("cc 1 64 127")
        assert wait_for(lambda: daemon.host.control.learner is not None, timeout=30)
        ctl.send("cc 1 64 0")
        ctl.send("cc 1 64 127")
        assert wait_for(lambda: daemon.host.control.learner is None, timeout=30)
        assert daemon.status()["learn"]["learning"] is None
        ctl.send("cc 1 22 5")
        assert mapping.read_text() == text
