"""load_box: valid boxes load into immutable objects; every problem is reported with file:line and did-you-mean."""

import dataclasses
from pathlib import Path

import pytest

from ravebox.config.box import BoxConfig, load_box
from ravebox.config.graphs import OutputSettings
from ravebox.data import default_box_path
from ravebox.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "models"


def _write(tmp_path, text, name="box.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _errors(path):
    with pytest.raises(ConfigError) as info:
        load_box(path)
    return [str(d) for d in info.value.diagnostics]


@pytest.mark.parametrize("path", sorted((REPO / "boxes").glob("*.toml")) + [default_box_path()],
                         ids=lambda p: p.name)
def test_shipped_boxes_load(path):
    box = load_box(path)
    assert isinstance(box, BoxConfig) and box.graphs
    for spec in box.models.values():
        assert spec.path.is_file()


def test_relative_model_paths_resolve_against_the_config_file(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "x.ts").write_bytes(b"")
    box = load_box(_write(tmp_path, '[models]\nx = "models/x.ts"\n[graphs.g]\nencoder = "x"\n'))
    assert box.models["x"].path == tmp_path / "models" / "x.ts"
    spec = box.graph("g")
    assert (spec.kind, spec.encoder, spec.decoders, spec.match) == ("transfer", "x", ("x",), "pad_zeros")


def test_box_is_immutable(tmp_path):
    box = load_box(_write(tmp_path, f'[models]\na = "{MODELS / "rave_a.ts"}"\n[graphs.g]\nencoder = "a"\n'))
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.output = OutputSettings()
    with pytest.raises(TypeError):
        box.models["b"] = None
    assert box.output == OutputSettings()
    assert (box.output.ceiling_db, box.output.crossfade_ms, box.output.late_block) == (-1.0, 200.0, "dry")


def test_every_problem_is_collected_with_line_and_suggestion(tmp_path):
    path = _write(tmp_path, f"""[models]
a = "{MODELS / 'rave_a.ts'}"
gone = "nope.ts"

[graphs.main]
encoder = "a"
decoder = "aa"
match = "pad_zero"

[graphs.dream]
kind = "prior"
decoder = "a"

[output]
ceiling = -1
crossfade_ms = -5
late_block = "silense"

[clok]
internal_bpm = 100
""")
    errors = _errors(path)
    expected = [
        f"{path}:3: models.gone.path: model file not found",
        f"{path}:7: graphs.main.decoder: no model named 'aa' in [models] (did you mean 'a'?)",
        f"{path}:8: graphs.main.match: must be one of pad_zeros, crop, pad_noise, map (did you mean 'pad_zeros'?)",
        "graphs.dream.prior: a prior graph needs a prior model",
        f"{path}:15: output.ceiling: unknown key (did you mean 'ceiling_db'?)",
        f"{path}:16: output.crossfade_ms: must be a number in range 0..10000, got -5",
        f"{path}:17: output.late_block: must be one of dry, silence (did you mean 'silence'?)",
        f"{path}:19: clok: unknown table (did you mean 'clock'?)",
    ]
    for text in expected:
        assert any(e.startswith(text) or text in e for e in errors), (text, errors)
    assert len(errors) == len(expected)


def test_map_mode_checks(tmp_path):
    a = MODELS / "rave_a.ts"
    errors = _errors(_write(tmp_path, f'[models]\na = "{a}"\n[graphs.g]\nencoder = "a"\n'
                                      'match = "crop"\nmap = [0, 1]\n[graphs.h]\nencoder = "a"\nmap = [0, -2]\n'))
    assert any("graphs.g.map: only used with match = \"map\"" in e for e in errors)
    assert any("graphs.h.map: must be a non-empty list" in e for e in errors)


def test_graph_needs_models_and_valid_names(tmp_path):
    errors = _errors(_write(tmp_path, '[graphs."bad name"]\nencoder = "a"\n[graphs.x]\nkind = "mixd"\n'))
    assert any("graphs.bad name: graph names use letters" in e for e in errors)
    assert any("graphs.x.kind: must be one of transfer, prior, mixed (did you mean 'mixed'?)" in e for e in errors)
    assert "graphs" in str(_errors(_write(tmp_path, "[box]\nname = 'x'\n", "empty.toml")))


def test_other_sections_go_to_their_parsers(tmp_path):
    a = MODELS / "rave_a.ts"
    box = load_box(_write(tmp_path, f'[models]\na = "{a}"\n[graphs.g]\nencoder = "a"\n'
                                    '[clock]\ninternal_bpm = 90.0\n[mapping]\nfile = "default"\n'))
    assert box.clock.internal_bpm == 90.0
    assert box.mapping.mapping is not None
    errors = _errors(_write(tmp_path, f'[models]\na = "{a}"\n[graphs.g]\nencoder = "a"\n'
                                      '[clock]\ninternal_bmp = 90.0\n', "bad.toml"))
    assert any("clock.internal_bmp" in e and "internal_bpm" in e for e in errors)


def test_toml_syntax_error_names_the_line(tmp_path):
    errors = _errors(_write(tmp_path, "[models]\na = \n"))
    assert errors[0].startswith(f"{tmp_path / 'box.toml'}:2: TOML syntax error")


def test_an_invalid_kind_does_not_hide_the_rest_of_the_graph(tmp_path):
    """`check` promises every problem at once: a bad kind is one of them, not the only one."""
    a = MODELS / "rave_a.ts"
    errors = _errors(_write(tmp_path, f'[models]\na = "{a}"\n[graphs.x]\nkind = "tranfser"\nencoder = "a"\n'
                                      'decoder = "aa"\nmatch = "pad_zero"\ncolour = 1\n'))
    assert any("graphs.x.kind: must be one of" in e and "'transfer'" in e for e in errors)
    assert any("graphs.x.decoder" in e and "'a'" in e for e in errors), errors
    assert any("graphs.x.match" in e for e in errors), errors
    assert any("graphs.x.colour: unknown key" in e for e in errors), errors
