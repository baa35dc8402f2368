"""The exact text of ``ravebox check`` for broken files, and its exit codes."""

from __future__ import annotations

import io

import pytest

from maprig import write
from ravebox.mapping import bundled_path
from ravebox.service.cli import main
from ravebox.service.commands.check import check_file

# file text, expected lines (after "<file>:"), in order
BROKEN = [
    ('[[map]]\ncc = 1\ntarget = "loop.disolve"\n',
     ["3: map[0].target: unknown parameter 'loop.disolve' (did you mean 'loop.dissolve'?)"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\ncurve = "expo"\n',
     ["4: map[0].curve: must be one of linear, log, exp, gamma (did you mean 'exp'?)"]),
    ('[[map]]\ncc = "one"\ntarget = "mix.wet"\n',
     ["2: map[0].cc: must be an integer in range 0..127, got 'one'"]),
    ('[[map]]\ncc = 128\ntarget = "mix.wet"\n',
     ["2: map[0].cc: must be an integer in range 0..127, got 128"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\nrange = [0, 2]\n',
     ["4: map[0].range[1]: must be a number in range 0..1, got 2"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\nsmoothing_ms = "fast"\n',
     ["4: map[0].smoothing_ms: must be a number in range 0..10000, got 'fast'"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\n\n[[map]]\ncc = 1\ntarget = "gate.depth"\n',
     ["5: map[1]: duplicate source: cc 1 is already mapped by map[0] (line 1); "
      "set layer = true on both to layer them on purpose"]),
    ('[defaults]\nchannel = 1\n[[map]]\ncc = 1\ntarget = "mix.wet"\n[[map]]\ncc14 = 1\nchannel = [1, 2]\n'
     'target = "gate.depth"\n',
     ["6: map[1]: duplicate source: cc14 1 on channel 1,2 is already mapped by map[0] (line 3); "
      "set layer = true on both to layer them on purpose"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\nchanel = 2\n',
     ["4: map[0].chanel: unknown key (did you mean 'channel'?)"]),
    ('[[map]]\ncc = 1\nnote = 2\ntarget = "mix.wet"\n',
     ["1: map[0]: expected exactly one source key (cc, cc14, nrpn, rpn, note, program, pitchbend, pressure, "
      "polytouch), found cc and note"]),
    ('[[map]]\ncc = 1\n',
     ["1: map[0]: missing target (a parameter name) or preset (a preset name)"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\ndim = 2\n',
     ["4: map[0].dim: 'mix.wet' has no latent dimensions"]),
    ('[[map]]\npitchbend = true\nencoder = 1\ntarget = "mix.wet"\n',
     ["3: map[0].encoder: relative encoders send plain CCs; not allowed with pitchbend"]),
    ('[[map]]\ncc = 1\nencoder = 4\ntarget = "mix.wet"\n',
     ["3: map[0].encoder: must be one of 1, 2, 3, twos_complement, binary_offset, sign_magnitude"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\ntakeover = "pickupp"\n',
     ["4: map[0].takeover: must be one of jump, pickup, catchup (did you mean 'pickup'?)"]),
    ('[[map]]\ncc = 1\ntarget = "engine.reset"\nbutton = "toggle"\n',
     ["4: map[0].button: 'engine.reset' is a trigger; only button = \"trigger\" fits"]),
    ('[[map]]\ncc = [1, 2]\ntarget = "latent.bias"\ndim = [0, 1, 2]\n',
     ["4: map[0].dim: expected 2 dims (one per source), got 3"]),
    ('[[map]]\nnote = 3\ntarget = "preset.recall"\n',
     ['1: map[0]: a preset button needs value = <preset program number> (or preset = "name")']),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\ngamma = 2\n',
     ['4: map[0].gamma: gamma only applies to curve = "gamma"']),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\nchannel = 17\n',
     ["4: map[0].channel: must be an integer in range 1..16, got 17"]),
    ('[maping]\nname = "x"\n',
     ["1: maping: unknown table (did you mean 'mapping'?)"]),
    ('[defaults]\ntakeover = "jmp"\n',
     ["2: defaults.takeover: must be one of jump, pickup, catchup (did you mean 'jump'?)"]),
    ('[presets]\ndir = "nowhere"\n',
     ["2: presets.dir: no such file or folder: {dir}/nowhere"]),
    ('[[map]]\ncc = 1\ntarget = "mix.wet"\n[[map]]\ncc = 2\ntarget = "mix.wet"\n[[map]]\ncc = 3\n'
     'target = "latent.bias"\ngraph = 5\n',
     ["10: map[2].graph: must be a graph name, not 5"]),
    ('[[map]\ncc = 1\n', ["1: TOML syntax error: Expected ']]' at the end of an array declaration (at line 1, column 6)"]),
]


@pytest.mark.parametrize("text,lines", BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_broken_mapping_messages(tmp_path, text, lines):
    path = write(tmp_path, text, "broken.toml")
    out = io.StringIO()
    assert check_file(path, out=out) == 1
    expected = [f"{path}:{line.format(dir=tmp_path)}" for line in lines]
    assert out.getvalue().splitlines() == expected


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, '[[map]]\ncc = 200\ntarget = "mix.wat"\n[[map]]\nnote = 1\ntarget = "x"\ncurve = 3\n')
    out = io.StringIO()
    assert check_file(path, out=out) == 1
    assert [line.split(": ", 2)[1] for line in out.getvalue().splitlines()] == [
        "map[0].target", "map[0].cc", "map[1].target", "map[1].curve"]


def test_layered_duplicates_are_fine(tmp_path):
    path = write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\nlayer = true\n'
                           '[[map]]\ncc = 1\ntarget = "gate.depth"\nlayer = true\n')
    assert check_file(path, out=io.StringIO()) == 0


def test_different_channels_or_ports_are_not_duplicates(tmp_path):
    path = write(tmp_path, '[[map]]\ncc = 1\nchannel = 1\ntarget = "mix.wet"\n'
                           '[[map]]\ncc = 1\nchannel = 2\ntarget = "gate.depth"\n'
                           '[[map]]\ncc = 1\nchannel = 1\nport = "other"\ntarget = "gate.swing"\n')
    assert check_file(path, out=io.StringIO()) == 0


def test_ok_line(tmp_path):
    path = write(tmp_path, '[mapping]\nname = "mine"\n[[map]]\ncc = 1\ntarget = "mix.wet"\n')
    out = io.StringIO()
    assert check_file(path, out=out) == 0
    assert out.getvalue() == f"{path}: ok (mapping 'mine': 1 rules)\n"


def test_exit_codes_through_the_cli(tmp_path, capsys):
    good = write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\n', "good.toml")
    bad = write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wat"\n', "bad.toml")
    preset = write(tmp_path, '[values]\n"mix.wet" = 0.5\n', "preset.toml")
    assert main(["check", str(good), str(preset)]) == 0
    assert main(["check", str(good), str(bad)]) == 1
    assert main(["check", str(bad), str(tmp_path / "missing.toml")]) == 2
    assert main(["check", "--kind", "preset", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{preset}: ok (presets: 0 'preset')" in out
    assert f"{tmp_path / 'missing.toml'}: cannot read: no such file" in out
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_box_configs_are_detected_by_their_tables(tmp_path):
    from ravebox.service.commands.check import detect

    assert detect({"box": {}, "graphs": {}}) == "box"
    assert detect({"mapping": {}, "graphs": {}}) == "box"
    assert detect({"mapping": {}, "map": []}) == "mapping"
    assert detect({"values": {}}) == "preset"
    assert detect({"map": []}) == "mapping"


@pytest.mark.parametrize("name", ["default", "nanokontrol2", "midimix", "launchcontrol-xl", "generic-16"])
def test_bundled_mappings_pass_check(name):
    out = io.StringIO()
    assert check_file(bundled_path(name), out=out) == 0, out.getvalue()


def test_box_config_with_a_broken_mapping(tmp_path):
    from pathlib import Path

    model = Path(__file__).resolve().parents[1] / "models" / "rave_a.ts"
    write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wat"\n', "map.toml")
    box = write(tmp_path, f'[box]\nname = "t"\n[models]\na = "{model}"\n[graphs.main]\nencoder = "a"\n'
                          f'[mapping]\nfile = "map.toml"\nwach = true\n', "box.toml")
    out = io.StringIO()
    assert check_file(box, out=out) == 1
    text = out.getvalue()
    assert f"{box}:9: mapping.wach: unknown key (did you mean 'watch'?)" in text
    assert f"{tmp_path / 'map.toml'}:3: map[0].target: unknown parameter 'mix.wat' (did you mean 'mix.wet'?)" in text
    write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\n', "map.toml")
    box.write_text(box.read_text().replace("wach = true\n", ""))
    out = io.StringIO()
    assert check_file(box, out=out) == 0, out.getvalue()
    assert out.getvalue() == f"{box}: ok (box config: graphs main; mapping 'map': 1 rules)\n"


def test_preset_names_are_checked_against_the_mappings_own_presets(tmp_path):
    write(tmp_path, 'name = "calm"\n[values]\n"mix.wet" = 0.5\n', "p/calm.toml")
    bad = write(tmp_path, '[presets]\ndir = "p"\n[[map]]\nnote = 1\npreset = "clam"\n', "bad.toml")
    out = io.StringIO()
    assert check_file(bad, out=out) == 1
    assert out.getvalue() == f"{bad}:5: map[0].preset: unknown preset 'clam' (did you mean 'calm'?)\n"
    free = write(tmp_path, '[[map]]\nnote = 1\npreset = "any name"\n', "free.toml")   # presets come from the box
    assert check_file(free, out=io.StringIO()) == 0


def test_a_folder_checks_every_toml_below_it(tmp_path, capsys):
    write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\n', "d/a.toml")
    write(tmp_path, '[values]\n"mix.wet" = 5\n', "d/sub/p.toml")
    assert main(["check", "-q", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'd/sub/p.toml'}:2: values.\"mix.wet\": must be a number in range 0..1, got 5\n")
    assert main(["check", str(bundled_path("default").parent)]) == 0
