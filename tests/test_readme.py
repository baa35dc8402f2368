"""The README's box config and mapping examples stay valid as the schema evolves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ravebox.config.box import load_box
from ravebox.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "models"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_box_example_loads(tmp_path: Path) -> None:
    box_text = toml_blocks()[0]
    for name, source in (("drums", "rave_a"), ("voice", "rave_a"), ("voice_prior", "prior_a")):
        shutil.copy(MODELS / f"{source}.ts", tmp_path / f"{name}.ts")
    box_file = tmp_path / "box.toml"
    box_file.write_text(box_text.replace("/var/lib/ravebox/models/", f"{tmp_path}/"))
    box = load_box(box_file)
    assert [g.name for g in box.graphs] == ["transfer", "dream"]
    assert box.graphs[0].encoder == "drums" and box.graphs[0].decoders == ("voice",)


def test_readme_mapping_example_loads(tmp_path: Path) -> None:
    mapping_file = tmp_path / "map.toml"
    mapping_file.write_text(toml_blocks()[1])
    mapping = load_mapping(mapping_file)
    assert len(mapping.rules) == 9  # 1 dissolve + 8 bias knobs
