"""`ravebox ports --config` predicts the ports the daemon will register: no inputs for a graph without an
encoder, channel counts from the model files (the committed models are mono), --channels without them."""

from __future__ import annotations

from pathlib import Path

from ravebox.config.box import load_box
from ravebox.service.commands.ports import graph_ports, own_ports

MODELS = Path(__file__).resolve().parents[1] / "models"
BOX = f"""
[models]
a = "{MODELS / 'rave_a.ts'}"
p = "{MODELS / 'prior_a.ts'}"
[graphs.main]
encoder = "a"
[graphs.dream]
kind = "prior"
prior = "p"
decoder = "a"
"""


def test_ports_come_from_the_models_and_a_prior_without_encoder_has_no_inputs(tmp_path):
    (tmp_path / "box.toml").write_text(BOX)
    box = load_box(tmp_path / "box.toml")
    assert graph_ports(box, channels=2) == [("main", 1, 1), ("dream", 0, 1)]
    audio = [(name, is_input) for name, is_input, is_audio in own_ports(graph_ports(box, 2)) if is_audio]
    assert audio == [("main_in_1", True), ("main_out_1", False), ("dream_out_1", False)]
    assert graph_ports(box, channels=2, open_models=False) == [("main", 2, 2), ("dream", 0, 2)]


def test_a_model_that_cannot_be_opened_falls_back_to_the_assumed_channels(tmp_path, capsys):
    (tmp_path / "broken.ts").write_bytes(b"not a model")
    (tmp_path / "box.toml").write_text(f'[models]\na = "{tmp_path / "broken.ts"}"\n[graphs.main]\nencoder = "a"\n')
    box = load_box(tmp_path / "box.toml")
    assert graph_ports(box, channels=2) == [("main", 2, 2)]
    assert "cannot open" in capsys.readouterr().err
