"""The control socket's preset and live-value commands, on a real store and mapping runtime (no JACK)."""

from __future__ import annotations

import logging

import pytest

from ravebox.errors import ConfigError
from ravebox.mapping import MappingRuntime, load_mapping
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from ravebox.service.live_values import RecallLog, preset_list, save_live, set_value

CALM = 'name = "calm"\nprogram = 0\n[values]\n"mix.wet" = 0.5\n'


@pytest.fixture
def parts(tmp_path):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "calm.toml").write_text(CALM)
    (tmp_path / "m.toml").write_text('[presets]\ndir = "presets"\n')
    store = ParamStore({"main": 4, "aux": 2}, 1000)
    return store, MappingRuntime(load_mapping(tmp_path / "m.toml"), store), tmp_path


def run_now(fn):
    return fn()


def test_set_writes_through_the_control_call_with_preset_keys(parts):
    store, _, _ = parts
    calls = []
    answer = set_value(store, lambda fn: calls.append(fn) or fn(), lambda: 500, "main/latent.bias[2]", 1.5)
    assert answer == {"ok": True, "message": "main/latent.bias[2] = 1.5"} and len(calls) == 1
    assert store.target(ParamKey("latent.bias", "main", 2)) == 1.5 and store.target(ParamKey("latent.bias", "aux", 0)) == 0
    set_value(store, run_now, lambda: 600, "mix.wet", 0.25)
    assert store.target(ParamKey("mix.wet", "main")) == store.target(ParamKey("mix.wet", "aux")) == 0.25


def test_set_refuses_what_a_preset_would_refuse(parts):
    store, _, _ = parts
    with pytest.raises(ConfigError, match="unknown parameter 'mix.wte' \\(did you mean 'mix.wet'\\?\\)"):
        set_value(store, run_now, lambda: 0, "mix.wte", 0.5)
    with pytest.raises(ConfigError, match="must be a number in range 0..1, got 2"):
        set_value(store, run_now, lambda: 0, "mix.wet", 2)
    assert set_value(store, run_now, lambda: 0, "drums/mix.wet", 0.5)["ok"] is False
    assert store.snapshot() == {}


def test_save_then_list_then_recall_by_name(parts, caplog):
    store, runtime, folder = parts
    set_value(store, run_now, lambda: 0, "main/gate.depth", 0.75)
    answer = save_live(runtime, store, "verse")
    assert answer["ok"] and answer["file"] == str(folder / "presets" / "verse.toml")
    runtime.swap(load_mapping(folder / "m.toml"))            # what the reloader does when the file changes
    assert preset_list(runtime) == {"presets": [
        {"name": "calm", "program": 0, "file": str(folder / "presets" / "calm.toml")},
        {"name": "verse", "program": 1, "file": str(folder / "presets" / "verse.toml")}], "current": None}
    store.set(ParamKey("gate.depth", "main"), 0.0, 10)
    logger = RecallLog()
    with caplog.at_level(logging.INFO, logger="ravebox.presets"):
        assert runtime.recall("verse", 20)
        logger.tick(runtime.stats.recalls, runtime.last_preset)
        logger.tick(runtime.stats.recalls, runtime.last_preset)
    assert store.target(ParamKey("gate.depth", "main")) == 0.75
    assert preset_list(runtime)["current"] == "verse"
    assert [r.getMessage() for r in caplog.records] == ["preset 'verse' recalled"]
