"""Hot reload: a good file is swapped in, a bad file keeps the old mapping and says why."""

from __future__ import annotations

import os

from maprig import Rig, cc, write
from ravebox.params.table import ParamKey
from ravebox.mapping import MappingReloader

GOOD = '[mapping]\nname = "first"\n[defaults]\nsmoothing_ms = 0\n[[map]]\ncc = 1\ntarget = "mix.wet"\n'
SECOND = '[mapping]\nname = "second"\n[defaults]\nsmoothing_ms = 0\n[[map]]\ncc = 1\ntarget = "gate.depth"\n'
BAD = '[mapping]\nname = "broken"\n[[map]]\ncc = 1\ntarget = "gate.dept"\n'


def touch_later(path):
    """Make sure the mtime differs even on coarse file systems."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_bad_file_keeps_the_old_mapping(tmp_path):
    rig = Rig(tmp_path, GOOD)
    reloader = MappingReloader(rig.runtime, rig.path)
    write(tmp_path, BAD)
    result = reloader.reload()
    assert not result.ok
    assert result.message.splitlines() == [
        "mapping not reloaded, keeping 'first':",
        f"{rig.path}:5: map[0].target: unknown parameter 'gate.dept' (did you mean 'gate.depth'?)"]
    assert reloader.last_error is not None and reloader.generation == 0
    rig.send(*cc(1, 0))
    assert (rig.value("mix.wet"), rig.value("gate.depth")) == (0.0, 0.0)
    assert rig.runtime.mapping.name == "first"


def test_good_file_is_swapped_in(tmp_path):
    rig = Rig(tmp_path, GOOD)
    reloader = MappingReloader(rig.runtime, rig.path)
    write(tmp_path, SECOND)
    result = reloader.reload()
    assert result.ok and result.message == f"mapping reloaded from {rig.path}: 1 rules, 0 presets"
    rig.send(*cc(1, 127))
    assert (rig.value("mix.wet"), rig.value("gate.depth")) == (1.0, 1.0)
    assert rig.runtime.mapping.name == "second" and reloader.generation == 1


def test_poll_reloads_only_on_change_and_recovers_after_a_fix(tmp_path):
    rig = Rig(tmp_path, GOOD)
    reloader = MappingReloader(rig.runtime, rig.path)
    assert reloader.poll() is None
    write(tmp_path, BAD)
    touch_later(rig.path)
    assert not reloader.poll().ok
    assert reloader.poll() is None            # the same bad file is reported once
    write(tmp_path, SECOND)
    touch_later(rig.path)
    touch_later(rig.path)
    assert reloader.poll().ok
    assert rig.runtime.mapping.name == "second"


def test_poll_notices_preset_files(tmp_path):
    write(tmp_path, 'name = "a"\n[values]\n"mix.wet" = 0.5\n', "presets/a.toml")
    rig = Rig(tmp_path, '[presets]\ndir = "presets"\n[[map]]\nprogram = true\ntarget = "preset.recall"\n')
    reloader = MappingReloader(rig.runtime, rig.path)
    preset = write(tmp_path, 'name = "a"\n[values]\n"mix.wet" = 0.25\n', "presets/a.toml")
    touch_later(preset)
    assert reloader.poll().ok
    rig.send(0xC0, 0)
    assert rig.value("mix.wet") == 0.25


def test_missing_file_keeps_the_old_mapping(tmp_path):
    rig = Rig(tmp_path, GOOD)
    reloader = MappingReloader(rig.runtime, rig.path)
    rig.path.unlink()
    result = reloader.poll()
    assert not result.ok and "cannot read" in result.message
    assert rig.runtime.mapping.name == "first"


def test_presets_from_the_box_config_survive_and_follow_a_reload(tmp_path):
    from ravebox.mapping import MappingRuntime, load_mapping, load_presets
    from ravebox.params.store import ParamStore

    write(tmp_path, '[values]\n"mix.wet" = 0.5\n', "box-presets/a.toml")
    write(tmp_path, '[values]\n"mix.wet" = 0.1\n', "own/a.toml")
    path = write(tmp_path, '[presets]\ndir = "own"\n[[map]]\nprogram = true\ntarget = "preset.recall"\n')
    store = ParamStore({"main": 1}, 1000)
    runtime = MappingRuntime(load_mapping(path), store, load_presets([tmp_path / "box-presets"]))
    reloader = MappingReloader(runtime, path)
    write(tmp_path, '[values]\n"mix.wet" = 0.75\n', "box-presets/b.toml")   # a new file in the folder
    assert reloader.poll().ok
    assert [p.name for p in runtime.presets.presets] == ["a", "b"]
    assert runtime.recall("b", 0) and store.target(ParamKey("mix.wet", "main")) == 0.75
