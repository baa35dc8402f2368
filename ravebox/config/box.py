"""``load_box(path) -> BoxConfig``: one TOML file describing a whole box.

Composition: this module reads the file and hands each top-level table to its
owner's parser -- ``[box]``, ``[models]``, ``[graphs]`` and ``[output]`` to
``config/graphs.py``; ``[clock]``, ``[gates]``, ``[jack]``, ``[mapping]`` and
``[record]``, ``[osc]`` to ``config/clock.py``, ``config/gates.py``, ``config/jack.py``,
``config/mapping.py``, ``config/record.py`` and ``config/osc.py``. A table the file leaves out gets its defaults here (the
parser of an empty table), so every field of :class:`BoxConfig` is always a
settings object of its own type and no consumer needs to probe. All problems of
every section are collected into one :class:`Diagnostics` and raised together as
a :class:`~ravebox.errors.ConfigError`.

To add a section: give its layer a frozen settings type and a
``parse(table, diags, prefix)``, add a field to :class:`BoxConfig` and one line
to :data:`SECTIONS` and :func:`parse_box_table`.

Run on the main thread (daemon start and reload), by ``ravebox check`` and by
render. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ravebox.clock.settings import ClockSettings
from ravebox.config import clock as clock_table
from ravebox.config import gates as gates_table
from ravebox.config import graphs as own
from ravebox.config import jack as jack_table
from ravebox.config import mapping as mapping_table
from ravebox.config import osc as osc_table
from ravebox.config import record as record_table
from ravebox.config.diagnostics import Diagnostics, read_toml
from ravebox.config.gates import GateSettings
from ravebox.config.graphs import BoxSettings, GraphSpec, ModelSpec, OutputSettings
from ravebox.config.jack import JackSettings
from ravebox.config.mapping import MappingSettings
from ravebox.config.schema import unknown_keys
from ravebox.config.osc import OscSettings
from ravebox.recording.settings import RecordSettings

#: Every top-level table a box file may have.
SECTIONS = ("box", "models", "graphs", "output", "clock", "gates", "jack", "mapping", "record", "osc")


@dataclass(frozen=True, slots=True)
class BoxConfig:
    """A validated box; every section is filled (with its defaults when the file omits it).

    ``path`` is the config file; relative paths inside sections (a mapping
    file, say) resolve against ``path.parent``.
    """

    path: Path
    box: BoxSettings
    models: Mapping[str, ModelSpec]
    graphs: tuple[GraphSpec, ...]
    output: OutputSettings
    jack: JackSettings
    clock: ClockSettings
    gates: GateSettings
    mapping: MappingSettings
    record: RecordSettings
    osc: OscSettings

    def graph(self, name: str) -> GraphSpec:
        for spec in self.graphs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def graph_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.graphs)


def load_box(path: str | Path) -> BoxConfig:
    """Read and validate a box config; raises ConfigError listing every problem."""
    path = Path(path).resolve()
    table, diags = read_toml(path)
    box = parse_box_table(table, diags, path)
    diags.raise_if_any()
    assert box is not None  # a section that failed to parse left an error in diags
    return box


def parse_box_table(table: Mapping, diags: Diagnostics, path: Path) -> BoxConfig | None:
    """Validate an already parsed TOML table; None when a section could not be built (see ``diags``)."""
    unknown_keys(table, SECTIONS, diags, "", what="table")
    settings = own.parse_box(table.get("box", {}), diags)
    models = own.parse_models(table.get("models", {}), diags, path.parent)
    if "graphs" not in table:
        diags.error("graphs", "missing [graphs.NAME] table: a box needs at least one graph")
    graphs = own.parse_graphs(table.get("graphs", {}), diags, models)
    output = own.parse_output(table.get("output", {}), diags)
    jack = jack_table.parse(table.get("jack", {}), diags, "jack")
    clock = clock_table.parse(table.get("clock", {}), diags, "clock")
    gates = gates_table.parse(table.get("gates", {}), diags, "gates")
    mapping = mapping_table.parse(table.get("mapping", {}), diags, "mapping")
    record = record_table.parse(table.get("record", {}), diags, "record")
    osc = osc_table.parse(table.get("osc", {}), diags, "osc")
    if mapping is None:
        return None
    return BoxConfig(path, settings, own.freeze(models), graphs, output, jack, clock, gates, mapping, record, osc)
