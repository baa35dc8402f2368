"""docs/box-config.md stays true: its example loads, and every table and key the parsers accept is documented.

The key lists come from the parser modules themselves (the tuples and
dataclass fields they check unknown keys against), so a key added to a parser
without a line in the reference fails here. Every parser exposes such a list,
so nothing below is a hand-written key list.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import tomllib
from pathlib import Path

import pytest

from ravebox.clock.settings import ClockSettings, DropoutPolicy
from ravebox.config import gates as gates_config
from ravebox.config import graphs as graphs_config
from ravebox.config import jack as jack_config
from ravebox.config import mapping as mapping_config
from ravebox.config.box import load_box
from ravebox.config import osc as osc_config
from ravebox.config import record as record_config
from ravebox.config.box import SECTIONS
from ravebox.config.schema import Choice
from ravebox.recording.settings import RecordSettings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "box-config.md"
MODELS = REPO / "tests" / "models"

# table -> {subtable label: keys the parser accepts there}, read from the parsers.
ACCEPTED: dict[str, dict[str, tuple[str, ...]]] = {
    "box": {"[box]": graphs_config._BOX_KEYS},
    "models": {"[models.NAME]": graphs_config._MODEL_KEYS},
    "graphs": {"[graphs.NAME]": graphs_config._GRAPH_KEYS},
    "output": {"[output]": tuple(graphs_config._OUTPUT_FIELDS)},
    # config/clock.py checks keys against the ClockSettings fields
    "clock": {"[clock]": tuple(f.name for f in dataclasses.fields(ClockSettings))},
    "gates": {
        "[gates]": gates_config._TOP,
        "[[gates.pattern]]": gates_config._PATTERN,
        "step tables": gates_config._STEP,
        "euclid": gates_config._EUCLID,
    },
    # config/jack.py checks keys against the JackSettings fields
    "jack": {
        "[jack]": tuple(f.name for f in dataclasses.fields(jack_config.JackSettings)),
        "[[jack.connect]]": jack_config._RULE_KEYS,
    },
    "mapping": {"[mapping]": tuple(mapping_config.FIELDS)},
    "record": {"[record]": record_config.KEYS},
    "osc": {"[osc]": osc_config.KEYS},
}

# table -> values a key accepts from a fixed set (also read from the parsers).
CHOICES: dict[str, tuple[str, ...]] = {
    "graphs": graphs_config.GRAPH_KINDS + graphs_config.MATCH_MODES,
    "output": graphs_config.LATE_POLICIES,
    "clock": tuple(p.value for p in DropoutPolicy),
    "jack": tuple(v for field in jack_config.FIELDS.values() if isinstance(field, Choice) for v in field.options),
}

# table -> the settings object whose field defaults the reference's "default" column must state.
DEFAULTS: dict[str, object] = {
    "box": graphs_config.BoxSettings(),
    "output": graphs_config.OutputSettings(),
    "clock": ClockSettings(),
    "jack": jack_config.JackSettings(),
    "record": RecordSettings(),
}


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _example() -> str:
    match = re.search(r"^```toml\n(.*?)^```", _doc(), re.S | re.M)
    assert match, "docs/box-config.md has no ```toml block"
    return match.group(1)


def _section(table: str) -> str:
    """The text of the ``## `[table...`` section, up to the next level-2 heading."""
    parts = re.split(r"^## ", _doc(), flags=re.M)
    found = [p for p in parts if re.match(rf"`\[\[?{re.escape(table)}[\].]", p)]
    assert len(found) == 1, f"docs/box-config.md needs one '## `[{table}...]`' section, found {len(found)}"
    return found[0]


def _rows(section: str) -> dict[str, dict[str, str]]:
    """``{key: {column header: cell}}`` of every markdown table row whose first cell is a `key`."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in section.splitlines():
        line = line.strip()  # a table may be indented under a list item
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            key = re.fullmatch(r"`([^`]+)`", cells[0])
            if key:
                rows.setdefault(key.group(1), dict(zip(header, cells)))
    return rows


def _place_example(tmp_path: Path) -> Path:
    """Write the example as tmp/box.toml, its model paths linked to the committed test models."""
    text = _example()
    for name, entry in tomllib.loads(text).get("models", {}).items():
        path = entry if isinstance(entry, str) else entry["path"]
        assert not Path(path).is_absolute(), f"models.{name}: the example should show a relative path"
        source = MODELS / Path(path).name
        assert source.is_file(), f"models.{name}: the example names {path}; tests/models has no {source.name}"
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
    box = tmp_path / "box.toml"
    box.write_text(text, encoding="utf-8")
    return box


def test_example_loads(tmp_path):
    box = load_box(_place_example(tmp_path))
    table = tomllib.loads(_example())
    assert set(table) == set(SECTIONS), "the example shows every top-level table"
    # what the brief of the example promises: transfer A->B with an index map, plus a prior voice
    kinds = {g.kind: g for g in box.graphs}
    assert len(box.graphs) == 2 and set(kinds) == {"transfer", "prior"}
    transfer = kinds["transfer"]
    assert transfer.match == "map" and transfer.index_map and transfer.encoder not in transfer.decoders[:1]
    assert kinds["prior"].prior is not None
    assert len(box.gates.patterns) >= 2
    jack = box.jack
    assert jack.connect and jack.clock_from in (*jack.midi_inputs, "any")
    assert box.clock.clock_follow
    assert box.mapping.mapping is not None


def test_example_builds_an_engine(tmp_path):
    """The index map fits the real models (length = decoder dims, entries < encoder dims): checked at engine build."""
    pytest.importorskip("torch")
    from ravebox.engine.engine import Engine

    box = load_box(_place_example(tmp_path))
    engine = Engine(box, box.box.sample_rate or 48000, 0)
    assert set(engine.graphs) == set(box.graph_names)


def test_every_table_has_a_section():
    for table in SECTIONS:
        _section(table)


@pytest.mark.parametrize("table", sorted(ACCEPTED))
def test_every_accepted_key_has_a_row(table):
    rows = _rows(_section(table))
    for where, keys in ACCEPTED[table].items():
        missing = [key for key in keys if key not in rows]
        assert not missing, f"docs/box-config.md, {where}: no table row for {missing}"


@pytest.mark.parametrize("table", sorted(CHOICES))
def test_every_allowed_value_is_named(table):
    section = _section(table)
    missing = [v for v in CHOICES[table] if f'"{v}"' not in section and f"`{v}`" not in section]
    assert not missing, f"docs/box-config.md, [{table}]: allowed values not named: {missing}"


def _states(cell: str, default: object) -> bool:
    cell = cell.strip().strip("`")
    if default is None:  # found at run time (measured headroom, the models' rate): the doc says from what
        return "measured" in cell or cell.startswith("the models' rate")
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, bool):
        return cell == str(default).lower()
    if isinstance(default, (str, Path)):
        return cell == f'"{default}"'
    if isinstance(default, (int, float)):
        try:
            return float(cell) == default
        except ValueError:
            return False
    if isinstance(default, tuple):
        try:
            return tomllib.loads(f"v = {cell}")["v"] == list(default)
        except tomllib.TOMLDecodeError:
            return False
    raise TypeError(default)


@pytest.mark.parametrize("table", sorted(DEFAULTS))
def test_documented_defaults_match_the_code(table):
    rows = _rows(_section(table))
    settings = DEFAULTS[table]
    wrong = []
    for field in dataclasses.fields(settings):
        default = getattr(settings, field.name)
        if field.name == "connect":  # the built-in rules: a table of their own in the doc
            continue
        cell = rows[field.name].get("default")
        if cell is None or not _states(cell, default):
            wrong.append(f"{field.name}: doc says {cell!r}, code has {default!r}")
    assert not wrong, f"docs/box-config.md, [{table}]:\n" + "\n".join(wrong)


def test_builtin_connect_rules_are_listed():
    rows = _rows(_section("jack"))
    for rule in jack_config.DEFAULT_RULES:
        row = rows.get(rule.port)
        assert row is not None, f"built-in rule for {rule.port!r} not listed"
        for column, patterns in (("allow", rule.allow), ("deny", rule.deny)):
            listed = re.findall(r"`([^`]+)`", row.get(f"`{column}`", ""))
            assert listed == list(patterns), f"built-in rule {rule.port!r}: {column} is {patterns}, doc says {listed}"
