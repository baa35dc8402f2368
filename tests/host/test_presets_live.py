"""Presets and live values on the real daemon: set, save, list, recall (logged, shown in status)."""

from __future__ import annotations

import logging

import pytest

from ravebox.params.table import ParamKey
from ravebox.service.observers import PresetRecallObserver
from tests.host.daemonkit import TEST_MAPPING, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def test_set_save_list_and_recall_through_the_daemon(jack_server, tmp_path, caplog):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "calm.toml").write_text('# mine\nname = "calm"\nprogram = 0\n[values]\n"mix.wet" = 0.5\n')
    box = write_box(tmp_path, mapping=TEST_MAPPING + '[presets]\ndir = "presets"\n')
    with caplog.at_level(logging.INFO, logger="ravebox.presets"), \
            running_daemon(box, jack_server.name, PassEngine.factory(), observers=[PresetRecallObserver()]) as daemon:
        assert daemon.commands.set_param("main/out.gain_db", -12.0) == {"ok": True, "message": "main/out.gain_db = -12"}
        assert daemon.store.target(ParamKey("out.gain_db", "main")) == -12.0
        saved = daemon.commands.save_preset("verse")
        assert saved["ok"] and (tmp_path / "presets" / "verse.toml").is_file()
        assert wait_for(lambda: [p["name"] for p in daemon.commands.presets()["presets"]] == ["calm", "verse"])
        assert daemon.commands.recall_preset("calm")["ok"]
        assert wait_for(lambda: "preset 'calm' recalled" in caplog.text)
        assert daemon.status()["preset"] == "calm" and daemon.commands.presets()["current"] == "calm"
        daemon.commands.set_param("main/out.gain_db", 0.0)
        assert daemon.commands.recall_preset("verse")["ok"]
        assert daemon.store.target(ParamKey("out.gain_db", "main")) == -12.0
        assert wait_for(lambda: "preset 'verse' recalled" in caplog.text)
    assert (tmp_path / "presets" / "calm.toml").read_text().startswith("# mine\n")
