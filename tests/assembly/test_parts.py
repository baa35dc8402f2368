"""``assemble``: one box -> the same parts for the daemon and for render; defaults filled by the loader."""

from __future__ import annotations

from pathlib import Path

from ravebox.assembly import assemble
from ravebox.config.box import load_box
from ravebox.gates.sequencer import GateSequencer
from ravebox.mapping.bundled import bundled_path
from tests.host.standins import PassEngine

MODELS = Path(__file__).resolve().parents[1] / "models"


def write(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "box.toml"
    path.write_text(f'[models]\na = "{MODELS / "rave_a.ts"}"\n[graphs.one]\nencoder = "a"\n'
                    f'[graphs.two]\nencoder = "a"\n{extra}')
    return path


def test_a_box_without_sections_gets_every_default(tmp_path):
    box = load_box(write(tmp_path))
    assert box.mapping.path == bundled_path("default") and box.mapping.watch
    assert box.gates.patterns == () and box.jack.midi_inputs == ("midi_in", "clock_in")
    assert box.clock.internal_bpm == 120.0
    parts = assemble(box, 48000, engine_factory=PassEngine.factory(outputs=2))
    assert set(parts.store.graphs) == {"one", "two"}
    assert parts.router.follower is parts.follower and parts.router.mapping is parts.mapping
    stages = parts.output_stages(latency=2048, max_block=256)
    assert [(s.graph, s.channels) for s in stages] == [("one", 2), ("two", 2)]


def test_gate_patterns_give_one_sequencer_shared_by_every_stage(tmp_path):
    box = load_box(write(tmp_path, '[[gates.pattern]]\nname = "p"\nrate = "1/16"\nsteps = "x.x."\n'))
    parts = assemble(box, 48000, engine_factory=PassEngine.factory())
    assert isinstance(parts.gates(256), GateSequencer)
    first, second = parts.output_stages(latency=0, max_block=256)
    assert first.gates is second.gates is not None
