"""Shared helpers: write a mapping, play raw bytes through parser + runtime, read values."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ravebox.mapping import MappingRuntime, load_mapping
from ravebox.midi.parser import MidiParser
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

SR = 1000  # one frame per millisecond keeps glide arithmetic readable
GRAPHS = {"main": 4, "aux": 2}


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class Rig:
    """A parser, a store and a runtime, driven by raw bytes."""

    def __init__(self, tmp_path: Path, text: str, graphs: dict[str, int] | None = None) -> None:
        self.path = write(tmp_path, text)
        self.store = ParamStore(graphs or GRAPHS, SR)
        self.runtime = MappingRuntime(load_mapping(self.path), self.store)
        self.parser = MidiParser()
        self.frame = 0

    def send(self, *data: int, port: str = "ctl", frame: int | None = None) -> "Rig":
        """Feed bytes at ``frame`` (default: 1000 frames after the last send, so glides end)."""
        self.frame = self.frame + 1000 if frame is None else frame
        for event in self.parser.feed(port, self.frame, bytes(data)):
            self.runtime.handle(event)
        assert self.runtime.stats.errors == 0, self.runtime.stats.last_error
        return self

    def value(self, name: str, graph: str | None = "main", dim: int | None = None, frame: int | None = None) -> float:
        key = ParamKey(name, graph if name != "preset.recall" and name != "clock.bpm" else None, dim)
        return round(self.store.value(key, self.frame + 10_000 if frame is None else frame), 6)

    def target(self, name: str, graph: str | None = "main", dim: int | None = None) -> float:
        return round(self.store.target(ParamKey(name, graph, dim)), 6)


def cc(number: int, value: int, channel: int = 0) -> tuple[int, int, int]:
    return (0xB0 | channel, number, value)
