"""``load_box(path) -> BoxConfig``: one TOML file describing a whole box.

Composition: this module reads the file and dispatches each top-level table
to its owner -- ``[box]``, ``[models]``, ``[graphs]`` and ``[output]`` to
``config/graphs.py``; ``[clock]``, ``[gates]``, ``[jack]`` and ``[mapping]`` to
their layer's ``parse(table, diags, prefix)`` (see ``config/sections.py``).
All problems of every section are collected into one :class:`Diagnostics`
and raised together as a :class:`~ravebox.errors.ConfigError`.

Run on the main thread (daemon start and reload), by ``ravebox check`` and by
render. Never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ravebox.config import graphs as own
from ravebox.config.diagnostics import Diagnostics, did_you_mean, read_toml
from ravebox.config.graphs import BoxSettings, GraphSpec, ModelSpec, OutputSettings
from ravebox.config.sections import ALL_SECTIONS, EXTERNAL_SECTIONS


@dataclass(frozen=True, slots=True)
class BoxConfig:
    """A validated box. ``sections`` holds the other layers' settings by table name.

    ``path`` is the config file; relative paths inside other sections (a
    mapping file, say) resolve against ``path.parent``.
    """

    path: Path
    box: BoxSettings
    models: Mapping[str, ModelSpec]
    graphs: tuple[GraphSpec, ...]
    output: OutputSettings
    sections: Mapping[str, object]

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
    return box


def parse_box_table(table: Mapping, diags: Diagnostics, path: Path) -> BoxConfig:
    """Validate an already parsed TOML table (tests and ``check`` may build tables in code)."""
    for name in table:
        if name not in ALL_SECTIONS:
            diags.error(name, f"unknown table{did_you_mean(name, ALL_SECTIONS)}")
    settings = own.parse_box(table.get("box", {}), diags)
    models = own.parse_models(table.get("models", {}), diags, path.parent)
    if "graphs" not in table:
        diags.error("graphs", "missing [graphs.NAME] table: a box needs at least one graph")
    graphs = own.parse_graphs(table.get("graphs", {}), diags, models)
    output = own.parse_output(table.get("output", {}), diags)
    sections = {name: parse_section(name, table[name], diags) for name in EXTERNAL_SECTIONS if name in table}
    return BoxConfig(path, settings, own.freeze(models), graphs, output, own.freeze(sections))


def parse_section(name: str, table: object, diags: Diagnostics) -> object:
    """Hand one table to its layer's parser (imported only when the box has that table)."""
    return importlib.import_module(EXTERNAL_SECTIONS[name]).parse(table, diags, name)
