"""Mapping reload in a running daemon (real dummy jackd): the box's ``[mapping] file`` is followed, and a
huge mapping is read once, off the main thread, while the old mapping plays and the watchdog is fed (issue 14).

No timing is asserted: the huge file's parse is held open by the test (a gate inside the parser), so "the main
loop keeps turning while it parses" is observed as watchdog pings and CC moves that arrive while it is held.
"""

from __future__ import annotations

import threading

import pytest

from ravebox.mapping import loader
from ravebox.params.table import ParamKey
from ravebox.service.notify import Notifier
from ravebox.service.observers import SystemdObserver
from tests.host.daemonkit import Controller, mapping_toml, rule, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd
from tests.service.fakes import NotifyListener

pytestmark = [needs_jackd, pytest.mark.jack]

GAIN = ParamKey("out.gain_db", "main")
WET = ParamKey("mix.wet", "main")
SECOND = mapping_toml(rule(cc=9, target="out.gain_db", range=[-40, 0]), name="second")


def huge_mapping(rules: int) -> str:
    """``rules`` distinct NRPN rules, then CC 7 on the wet mix (so a CC shows which mapping plays)."""
    return mapping_toml(*(rule(nrpn=i, target="latent.bias") for i in range(rules)), rule(cc=7, target="mix.wet"),
                        name="huge")


def sighup(daemon) -> None:
    daemon._reload_requested = True        # what the SIGHUP handler does; the main loop starts the reload


def test_a_changed_mapping_file_in_the_box_takes_effect_on_reload(jack_server, tmp_path):
    box = write_box(tmp_path)
    (tmp_path / "second.toml").write_text(SECOND)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        assert daemon.runtime.mapping.name == "test"
        box.write_text(box.read_text().replace('file = "map.toml"', 'file = "second.toml"'))
        before = daemon.last_reload
        sighup(daemon)
        assert wait_for(lambda: daemon.last_reload is not None and daemon.last_reload != before
                        and "second.toml" in daemon.last_reload["message"], timeout=30)
        assert daemon.last_reload["ok"] is True
        assert daemon.last_reload["message"].startswith(f"mapping switched to {tmp_path / 'second.toml'}")
        assert daemon.runtime.mapping.name == "second"
        assert daemon.status()["mapping"]["path"] == str(tmp_path / "second.toml")

        # the file watch now follows the new file, not the old one
        (tmp_path / "second.toml").write_text(SECOND.replace('"second"', '"second, edited"'))
        assert wait_for(lambda: daemon.runtime.mapping.name == "second, edited", timeout=30)
        (tmp_path / "map.toml").write_text("this is not TOML")
        answer = daemon.reload()
        assert answer["ok"] is True and daemon.runtime.mapping.name == "second, edited"


def test_a_huge_mapping_is_read_once_off_the_main_thread_while_the_old_one_plays(jack_server, tmp_path,
                                                                                monkeypatch):
    entered, release = threading.Event(), threading.Event()
    parses: list[str] = []
    real_parse = loader.parse_mapping

    def gated_parse(data, diags, path):
        if len(data.get("map", ())) > 1000:
            parses.append(threading.current_thread().name)
            entered.set()
            release.wait(120)                # held open until the test has seen the daemon live on
        return real_parse(data, diags, path)

    monkeypatch.setattr(loader, "parse_mapping", gated_parse)
    listener = NotifyListener(tmp_path)
    pings, stop = [], threading.Event()

    def drain() -> None:                     # systemd's side: read every datagram (a full queue blocks the sender)
        while not stop.wait(0.02):
            pings.extend(m for m in listener.messages() if m.get("WATCHDOG") == "1")
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    box = write_box(tmp_path)
    observer = SystemdObserver(Notifier(env=listener.env()))
    try:
        with running_daemon(box, jack_server.name, PassEngine.factory(), observers=[observer]) as daemon, \
                Controller(jack_server.env()) as ctl:
            assert ctl.wait_connected(daemon)
            (tmp_path / "map.toml").write_text(huge_mapping(10_000))
            sighup(daemon)
            assert entered.wait(60)
            try:
                held = len(pings)
                assert wait_for(lambda: len(pings) >= held + 2, timeout=60)   # the main loop turns while it reads
                ctl.send("cc 1 7 0")                                 # the old mapping still plays: CC 7 -> gain
                assert wait_for(lambda: daemon.store.target(GAIN) == pytest.approx(-40.0), timeout=30)
                assert daemon.runtime.mapping.name == "test" and not release.is_set()
            finally:
                release.set()
            assert wait_for(lambda: daemon.runtime.mapping.name == "huge" and daemon.last_reload is not None
                            and "10001 rules" in daemon.last_reload["message"], timeout=120)
            assert daemon.last_reload["ok"] is True
            ctl.send("cc 1 7 127")                                   # now CC 7 moves the wet mix
            assert wait_for(lambda: daemon.store.target(WET) == pytest.approx(1.0), timeout=30)
        assert parses == ["ravebox-reload"]                          # once, and not on the main loop's thread
    finally:
        stop.set()
        reader.join(5)
        listener.close()
