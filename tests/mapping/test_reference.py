"""The reference document lists every key and every parameter, from the code's own tables."""

from __future__ import annotations

from ravebox.mapping import loader, model, rules, shaping
from ravebox.mapping.reference import DOC, render
from ravebox.params.table import PARAMS, reference_markdown

TEXT = DOC.read_text(encoding="utf-8")


def test_generated_parameter_table_is_current():
    assert render(TEXT) == TEXT, "run: python -m ravebox.mapping.reference"
    assert reference_markdown() in TEXT


def test_every_parameter_is_listed():
    assert [name for name in PARAMS if f"| `{name}` |" not in TEXT] == []


def test_every_key_and_choice_is_documented():
    words = (rules.RULE_KEYS + loader.DEFAULT_KEYS + loader.PRESET_TABLE_KEYS + loader.MAPPING_KEYS
             + shaping.CURVES + model.TAKEOVERS + model.BUTTONS + tuple(shaping.ENCODERS.values()))
    assert [w for w in words if f"`{w}`" not in TEXT] == []
    assert [t for t in loader.TOP_KEYS if f"`[{t}]`" not in TEXT and f"`[[{t}]]`" not in TEXT] == []
