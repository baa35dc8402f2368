"""Presets: files, recall by program change, by button, by knob and encoder; jump or glide."""

from __future__ import annotations

import pytest

from maprig import GRAPHS, SR, Rig, cc, write
from ravebox.errors import ConfigError
from ravebox.mapping import load_presets
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

CALM = """
name = "calm"
program = 0
[values]
"mix.wet" = 0.5
"latent.bias" = [1.0, -1.0]
"aux/out.gain_db" = -6
"""
WILD = """
program = 1
[values]
"latent.bias[3]" = 2.5
"prior.temperature" = 1.5
"latent.freeze" = true
"""


def rig_with_presets(tmp_path, rules: str, glide: int = 0) -> Rig:
    write(tmp_path, CALM, "presets/calm.toml")
    write(tmp_path, WILD, "presets/wild.toml")
    return Rig(tmp_path, f'[presets]\ndir = "presets"\nglide_ms = {glide}\n{rules}')


def test_preset_files_load_with_names_and_indices(tmp_path):
    write(tmp_path, CALM, "p/calm.toml")
    write(tmp_path, WILD, "p/wild.toml")
    write(tmp_path, '[[preset]]\nname = "a"\nvalues = { "mix.wet" = 0.1 }\n[[preset]]\nname = "b"\n', "p/more.toml")
    bank = load_presets([tmp_path / "p"])
    assert {p.name: p.index for p in bank.presets} == {"calm": 0, "wild": 1, "a": 2, "b": 3}
    assert bank.find("calm").values == (
        (ParamKey("mix.wet"), 0.5), (ParamKey("latent.bias", None, 0), 1.0),
        (ParamKey("latent.bias", None, 1), -1.0), (ParamKey("out.gain_db", "aux"), -6.0))
    assert bank.find(1).values[-1] == (ParamKey("latent.freeze"), 1.0)


def test_program_change_recalls_by_index_and_jumps(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\nprogram = true\ntarget = "preset.recall"\n')
    rig.send(0xC0, 1)
    assert (rig.value("latent.bias", dim=3), rig.value("prior.temperature", "aux"), rig.value("latent.freeze")) \
        == (2.5, 1.5, 1.0)
    assert rig.value("preset.recall", None) == 1.0
    rig.send(0xC0, 0, frame=50_000)
    assert rig.value("mix.wet", frame=50_000) == 0.5  # no glide: jumps at the recall frame
    assert (rig.value("latent.bias", dim=0), rig.value("latent.bias", "aux", dim=1)) == (1.0, -1.0)
    assert (rig.value("out.gain_db", "aux"), rig.value("out.gain_db", "main")) == (-6.0, 0.0)
    assert rig.runtime.stats.recalls == 2


def test_recall_glides_when_the_mapping_says_so(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\nprogram = true\ntarget = "preset.recall"\n', glide=100)
    rig.send(0xC0, 0, frame=1000)
    assert [rig.value("mix.wet", frame=f) for f in (1000, 1050, 1100)] == [1.0, 0.75, 0.5]


def test_button_recalls_by_name_with_its_own_glide(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\nnote = 40\npreset = "calm"\nglide_ms = 10\n', glide=500)
    rig.send(0x90, 40, 100, frame=1000)
    assert [rig.value("mix.wet", frame=f) for f in (1005, 1010)] == [0.75, 0.5]


def test_unknown_program_is_counted(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\nprogram = true\ntarget = "preset.recall"\n')
    rig.send(0xC0, 77)
    assert rig.runtime.stats.unknown_presets == 1 and rig.runtime.stats.recalls == 0


def test_encoder_scrolls_presets(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\ncc = 20\nencoder = 1\ntarget = "preset.recall"\nrange = [0, 1]\n')
    rig.send(*cc(20, 1))
    assert rig.value("prior.temperature") == 1.5
    rig.send(*cc(20, 1))  # clamped to the last preset: recalled again
    rig.send(*cc(20, 127))
    assert rig.value("mix.wet") == 0.5


def test_knob_recalls_only_when_its_index_changes(tmp_path):
    rig = rig_with_presets(tmp_path, '[[map]]\ncc = 21\ntarget = "preset.recall"\nrange = [0, 1]\n')
    for value in (0, 10, 20, 127, 126):
        rig.send(*cc(21, value))
    assert rig.runtime.stats.recalls == 2


def test_recall_api_by_name(tmp_path):
    rig = rig_with_presets(tmp_path, "")
    assert rig.runtime.recall("wild", 0) and not rig.runtime.recall("nope", 0)
    assert rig.target("latent.freeze") == 1.0


@pytest.mark.parametrize("text,message", [
    ('[values]\n"mix.wt" = 1', "values.\"mix.wt\": unknown parameter 'mix.wt' (did you mean 'mix.wet'?)"),
    ('[values]\n"mix.wet" = 2', "values.\"mix.wet\": must be a number in range 0..1, got 2"),
    ('[values]\n"mix.wet" = "loud"', "values.\"mix.wet\": must be a number in range 0..1, got 'loud'"),
    ('[values]\n"mix.wet[2]" = 1', "values.\"mix.wet[2]\": 'mix.wet' has no latent dimensions"),
    ('[values]\n"engine.reset" = 1', "'engine.reset' is a trigger and has no value to store"),
    ('program = 200\n[values]', "program: must be an integer in range 0..127, got 200"),
    ('nmae = "x"\n[values]', "nmae: unknown key (did you mean 'name'?)"),
])
def test_preset_errors(tmp_path, text, message):
    path = write(tmp_path, text, "bad.toml")
    with pytest.raises(ConfigError) as info:
        load_presets([path])
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:")


def test_clashing_program_numbers(tmp_path):
    write(tmp_path, CALM, "p/a.toml")
    write(tmp_path, CALM.replace('"calm"', '"other"'), "p/b.toml")
    with pytest.raises(ConfigError, match="program 0 is also used by preset 'calm'"):
        load_presets([tmp_path / "p"])


PROGRAM = '[[map]]\nprogram = true\ntarget = "preset.recall"\n[[map]]\ncc = 7\ntarget = "clock.bpm"\nrange = [60, 180]\n'


def test_a_recall_keeps_what_the_preset_does_not_list_by_default(tmp_path):
    rig = rig_with_presets(tmp_path, PROGRAM)
    rig.send(0xC0, 1).send(0xC0, 0)
    assert rig.value("latent.bias", dim=3) == 2.5 and rig.value("latent.freeze") == 1.0   # wild's, kept
    assert rig.value("mix.wet") == 0.5 and rig.runtime.last_preset == "calm"


def test_reset_unlisted_puts_every_other_sound_value_back_to_its_default(tmp_path):
    write(tmp_path, CALM, "presets/calm.toml")
    write(tmp_path, WILD, "presets/wild.toml")
    rig = Rig(tmp_path, f'[presets]\ndir = "presets"\nreset_unlisted = true\n{PROGRAM}')
    rig.send(*cc(7, 127)).send(0xC0, 1).send(0xC0, 0)
    assert (rig.value("latent.bias", dim=3), rig.value("latent.freeze"), rig.value("prior.temperature")) \
        == (0.0, 0.0, 1.0)                                                               # wild's, reset
    assert (rig.value("mix.wet"), rig.value("latent.bias", dim=0), rig.value("out.gain_db", "aux")) == (0.5, 1.0, -6.0)
    assert rig.value("clock.bpm", None) == 180.0        # box-wide state is not a preset's to reset
    assert rig.runtime.last_preset == "calm"


def test_reset_unlisted_returns_to_the_boxs_own_defaults(tmp_path):
    write(tmp_path, CALM, "presets/calm.toml")
    write(tmp_path, WILD, "presets/wild.toml")
    rig = Rig(tmp_path, f'[presets]\ndir = "presets"\nreset_unlisted = true\n{PROGRAM}')
    rig.store = rig.runtime.store = ParamStore(GRAPHS, SR, defaults={ParamKey("gate.depth", "main"): 1.0})
    rig.send(*cc(7, 64)).send(0xC0, 1)
    rig.store.set(ParamKey("gate.depth", "main"), 0.25, rig.frame)
    rig.send(0xC0, 0)
    assert rig.value("gate.depth") == 1.0 and rig.value("gate.depth", "aux") == 0.0


def test_reset_unlisted_must_be_a_boolean(tmp_path):
    write(tmp_path, CALM, "presets/calm.toml")
    with pytest.raises(ConfigError, match="presets.reset_unlisted: must be true or false"):
        Rig(tmp_path, '[presets]\ndir = "presets"\nreset_unlisted = "yes"\n')


@pytest.mark.parametrize("mapping", ["default", "nanokontrol2", "midimix", "launchcontrol-xl", "generic-16"])
def test_the_bundled_init_preset_brings_back_the_box_as_it_started(mapping):
    """``init`` is the neutral, playing box: the gates as the box file set them ([gates] depth 1 here,
    not the table's 0, which would switch the patterns off), unmuted, wet, no loop, no latent offset
    on any dimension (also past the eighth), gains at 0 dB; tempo and recording are kept."""
    from ravebox.data import mappings_dir
    from ravebox.mapping import MappingRuntime, load_mapping

    store = ParamStore({"main": 16, "aux": 4}, SR, defaults={ParamKey("gate.depth", "main"): 1.0,
                                                            ParamKey("gate.depth", "aux"): 1.0})
    runtime = MappingRuntime(load_mapping(mappings_dir() / f"{mapping}.toml"), store)
    assert runtime.recall("wild", 0)
    moved = {ParamKey("gate.depth", "main"): 0.3, ParamKey("graph.mute", "aux"): 1.0, ParamKey("mix.wet", "main"): 0.2,
             ParamKey("latent.bias", "main", 12): -2.0, ParamKey("out.gain_db", "main"): -24.0,
             ParamKey("in.gain_db", "aux"): 6.0, ParamKey("loop.enabled", "main"): 1.0, ParamKey("loop.beats", "main"): 16.0,
             ParamKey("gate.pattern", "aux"): 2.0, ParamKey("clock.bpm"): 90.0, ParamKey("record.enabled"): 1.0}
    for key, value in moved.items():
        store.set(key, value, 100, 0.0)
    assert runtime.recall("init", 1000, glide_ms=0.0) and runtime.last_preset == "init"
    for graph in ("main", "aux"):
        assert [store.value(ParamKey(name, graph), 2000) for name in
                ("gate.depth", "graph.mute", "mix.wet", "out.gain_db", "in.gain_db", "loop.enabled", "loop.beats",
                 "gate.pattern", "prior.temperature", "latent.noise")] == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0, 0.0, 1.0, 0.0]
        assert [store.value(ParamKey("latent.bias", graph, d), 2000) for d in range(store.graphs[graph])] \
            == [0.0] * store.graphs[graph]
        assert [store.value(ParamKey("latent.scale", graph, d), 2000) for d in range(store.graphs[graph])] \
            == [1.0] * store.graphs[graph]
    assert (store.value(ParamKey("clock.bpm"), 2000), store.value(ParamKey("record.enabled"), 2000)) == (90.0, 1.0)


def test_a_preset_may_reset_what_it_does_not_list_itself(tmp_path):
    write(tmp_path, CALM.replace('program = 0', 'program = 0\nreset_unlisted = true'), "presets/calm.toml")
    write(tmp_path, WILD, "presets/wild.toml")
    rig = Rig(tmp_path, f'[presets]\ndir = "presets"\n{PROGRAM}')         # the mapping keeps unlisted values
    rig.send(0xC0, 1).send(0xC0, 0)
    assert (rig.value("latent.bias", dim=3), rig.value("latent.freeze")) == (0.0, 0.0)   # wild's, reset by calm
    assert rig.value("mix.wet") == 0.5
    rig.send(0xC0, 1)
    assert rig.value("mix.wet") == 0.5 and rig.value("latent.freeze") == 1.0            # wild keeps calm's
    with pytest.raises(ConfigError, match="reset_unlisted: must be true or false, not 'yes'"):
        load_presets([write(tmp_path, 'reset_unlisted = "yes"\n[values]', "bad.toml")])
