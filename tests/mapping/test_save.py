"""``save NAME``: the live values become a preset, in the player's files, comments and other presets kept."""

from __future__ import annotations

import pytest

from maprig import write
from ravebox.mapping import load_presets
from ravebox.mapping.save import PresetSaveError, preset_values, save_preset
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

CALM = """\
# My calm preset: keep this comment.
name = "calm"
program = 0

[values]
"mix.wet" = 0.5     # half dry
"""
SHARED = """\
# Two presets in one file.
[[preset]]
name = "a"
program = 5
values = { "mix.wet" = 0.1 }

[[preset]]   # the second one
name = "b"
program = 6
[preset.values]
"gate.depth" = 1.0
"""


def live_values() -> dict:
    store = ParamStore({"main": 4}, 1000)
    store.set(ParamKey("latent.bias", "main", 2), 1.25, 0)
    store.set(ParamKey("latent.freeze", "main"), 1.0, 0)
    store.set(ParamKey("gate.pattern", "main"), 3.0, 0)
    store.set(ParamKey("clock.bpm"), 133.0, 0)          # box-wide: not a preset's
    store.set(ParamKey("preset.recall"), 2.0, 0)
    return preset_values(store.snapshot())


def test_values_are_written_as_a_preset_reads_them():
    assert live_values() == {"main/gate.pattern": 3, "main/latent.bias[2]": 1.25, "main/latent.freeze": True}


def test_a_new_preset_is_a_new_file_in_the_folder_with_a_free_program(tmp_path):
    write(tmp_path, CALM, "presets/calm.toml")
    bank = load_presets([tmp_path / "presets"])
    path = save_preset(bank, "verse", live_values())
    assert path == tmp_path / "presets" / "verse.toml"
    again = load_presets([tmp_path / "presets"])
    verse = again.find("verse")
    assert verse.index == 1 and dict((str(k), v) for k, v in verse.values) == {
        "main/gate.pattern": 3.0, "main/latent.bias[2]": 1.25, "main/latent.freeze": 1.0}
    assert (tmp_path / "presets" / "calm.toml").read_text() == CALM


def test_saving_over_a_preset_replaces_only_its_values_and_keeps_comments(tmp_path):
    path = write(tmp_path, CALM, "presets/calm.toml")
    save_preset(load_presets([tmp_path / "presets"]), "calm", {"mix.wet": 0.25})
    text = path.read_text()
    assert text.startswith("# My calm preset: keep this comment.\nname = \"calm\"\nprogram = 0\n")
    assert load_presets([path]).find("calm").values == ((ParamKey("mix.wet"), 0.25),)


def test_a_shared_file_gets_the_new_preset_appended_and_keeps_the_others(tmp_path):
    path = write(tmp_path, SHARED, "mine.toml")
    save_preset(load_presets([path]), "c", {"mix.wet": 0.75})
    text = path.read_text()
    assert text.startswith(SHARED) and "# the second one" in text
    bank = load_presets([path])
    assert {p.name: p.index for p in bank.presets} == {"a": 5, "b": 6, "c": 0}
    save_preset(bank, "b", {"gate.depth": 0.5})
    assert load_presets([path]).find("b").values == ((ParamKey("gate.depth"), 0.5),)
    assert "# Two presets in one file." in path.read_text()


def test_nowhere_to_save_and_bad_names_are_clear_errors(tmp_path):
    single = write(tmp_path, CALM, "calm.toml")
    with pytest.raises(PresetSaveError, match="no preset folder"):
        save_preset(load_presets([single]), "new", {"mix.wet": 0.1})
    with pytest.raises(PresetSaveError, match="preset name"):
        save_preset(load_presets([single]), "../evil", {"mix.wet": 0.1})
    assert single.read_text() == CALM


def test_a_save_that_would_not_load_leaves_the_file_as_it_was(tmp_path):
    path = write(tmp_path, CALM, "presets/calm.toml")
    with pytest.raises(PresetSaveError, match="would not load"):
        save_preset(load_presets([tmp_path / "presets"]), "calm", {"mix.wet": 7.0})    # out of range
    assert path.read_text() == CALM
