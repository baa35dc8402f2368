"""The [gates] config section."""

from __future__ import annotations

import tomllib

import pytest

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.gates import GateSettings, parse
from ravebox.gates.patterns import Step

TEXT = """
[gates]
attack_ms = 1.5
release_ms = 8

[[gates.pattern]]
name = "trance"
rate = "1/16"
steps = "x.x- 9..."
swing = 0.1

[[gates.pattern]]
name = "tresillo"
rate = "1/8T"
euclid = { pulses = 3, steps = 8, rotate = 1 }
release_ms = 20

[[gates.pattern]]
name = "fills"
seed = 7
steps = [ { level = 0.5, probability = 0.25 }, { tie = true }, { condition = "2:4" } ]
"""


def test_patterns_in_order_with_defaults_and_overrides():
    d = Diagnostics("box.toml", TEXT)
    g = parse(tomllib.loads(TEXT)["gates"], d, "gates")
    assert not d
    assert [p.name for p in g.patterns] == ["trance", "tresillo", "fills"]
    trance, tresillo, fills = g.patterns
    assert (trance.step_beats, trance.swing, trance.attack_ms, trance.release_ms) == (0.25, 0.1, 1.5, 8.0)
    assert len(trance.steps) == 8 and trance.steps[3].tie and trance.steps[4].level == 1.0
    assert tresillo.step_beats == pytest.approx(1 / 3) and tresillo.release_ms == 20.0
    assert "".join("x" if s.level else "." for s in tresillo.steps) == "..x..x.x"
    assert fills.seed == 7
    assert fills.steps == (Step(0.5, False, 0.25), Step(1.0, True), Step(1.0, False, 1.0, (2, 4)))


def test_every_problem_is_reported_with_its_path():
    text = "[gates]\nrelease = 3\n[[gates.pattern]]\nrate = \"1/5\"\nstpes = \"x\"\n"
    d = Diagnostics("box.toml", text)
    g = parse(tomllib.loads(text)["gates"], d, "gates")
    assert g.patterns == ()
    assert [str(i) for i in d.items] == [
        "box.toml:2: gates.release: unknown key (did you mean 'release_ms'?)",
        "box.toml:5: gates.pattern[0].stpes: unknown key (did you mean 'steps'?)",
        "box.toml:4: gates.pattern[0].rate: rate must be 1/1 .. 1/64 (optionally T for triplet or . for dotted), got '1/5'",
        "box.toml:3: gates.pattern[0]: needs exactly one of 'steps' or 'euclid'",
    ]


@pytest.mark.parametrize("pattern,key,fragment", [
    ({"steps": "x?"}, "gates.pattern[0].steps", "unknown step character"),
    ({"steps": [{"level": 1.5}]}, "gates.pattern[0].steps[0].level", "0..1"),
    ({"steps": [{"condition": "5:4"}]}, "gates.pattern[0].steps[0].condition", "A <= B"),
    ({"steps": [{"probabilty": 0.5}]}, "gates.pattern[0].steps[0].probabilty", "did you mean 'probability'"),
    ({"euclid": {"pulses": 9, "steps": 8}}, "gates.pattern[0].euclid", "pulses <= steps"),
    ({"steps": "x", "length": 0}, "gates.pattern[0].length", "0.01..1"),
    ({"steps": "x", "seed": -1}, "gates.pattern[0].seed", "an integer >= 0, got -1"),
])
def test_bad_values(pattern, key, fragment):
    d = Diagnostics("box.toml")
    parse({"pattern": [pattern]}, d, "gates")
    assert d.items[0].key == key and fragment in d.items[0].message


def test_duplicate_names_and_non_tables():
    d = Diagnostics("box.toml")
    parse({"pattern": [{"name": "a", "steps": "x"}, {"name": "a", "steps": "."}]}, d, "gates")
    assert "used more than once" in d.items[0].message
    d = Diagnostics("box.toml")
    assert parse("x", d, "gates") == GateSettings()
    assert d.items[0].message == "must be a table"
