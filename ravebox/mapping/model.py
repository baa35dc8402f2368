"""Validated, immutable mapping objects: what a mapping file *means*.

Built once by :mod:`ravebox.mapping.loader` (main thread), then only read by
the runtime on the control thread, so every object here is frozen (the
mididings habit: build and validate once, then only run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ravebox.config.names import matches as name_matches
from ravebox.params.table import ParamKey

# source kind -> (lowest, highest) raw value it delivers
SOURCE_RANGES: dict[str, tuple[int, int]] = {
    "cc": (0, 127),
    "cc14": (0, 16383),
    "nrpn": (0, 16383),
    "rpn": (0, 16383),
    "note": (0, 127),
    "program": (0, 127),
    "pitchbend": (-8192, 8191),
    "pressure": (0, 127),
    "polytouch": (0, 127),
}
SOURCE_KINDS = tuple(SOURCE_RANGES)
BUTTONS = ("momentary", "toggle", "trigger")
TAKEOVERS = ("jump", "pickup", "catchup")


ANY_PORT = "*"   # the port label of events every port filter accepts (render --midi without --port)


@dataclass(frozen=True, slots=True)
class PortPattern:
    """Which source ports a rule listens to, in the one dialect of port and device names
    (:mod:`ravebox.config.names`): a plain word matches any source label containing it, a
    glob (``*?[``) the whole label, anything else is a regular expression; case and runs of
    spaces, ``-`` and ``_`` are ignored (jackd's ``-X seq`` bridge writes
    ``Launch-Control-XL`` for the device a2jmidid calls ``Launch Control XL``).
    """

    text: str = "*"

    def matches(self, port: str) -> bool:
        if port == ANY_PORT:   # an event that stands for every controller (a performance file in render)
            return True
        return name_matches(self.text, port)


@dataclass(frozen=True, slots=True)
class Source:
    """One controller message stream: ``kind`` and ``number`` on some channels of some ports.

    ``number`` is the CC, note, (N)RPN parameter or program number, or
    ``None`` for sources without one (pitch bend, channel pressure, any program).
    ``channels`` are 0-based; ``None`` means every channel.
    """

    kind: str
    number: int | None
    channels: frozenset[int] | None
    port: PortPattern
    order: str = "auto"       # cc14: does an MSB reset the LSB (msb_first), keep it (lsb_first), or tell (auto)
    bits: int = 14            # nrpn/rpn: 7 = data entry MSB only

    def accepts(self, port: str, channel: int | None) -> bool:
        if self.channels is not None and channel is not None and channel not in self.channels:
            return False
        return self.port.matches(port)

    def describe(self) -> str:
        text = self.kind if self.number is None else f"{self.kind} {self.number}"
        if self.channels is not None:
            text += " on channel " + ",".join(str(c + 1) for c in sorted(self.channels))
        if self.port.text != "*":
            text += f" from ports '{self.port.text}'"
        return text


@dataclass(frozen=True, slots=True)
class Rule:
    """One mapping entry: a source, how its values are shaped, and where they go.

    ``mode`` is decided at load time: ``absolute`` (faders, knobs, bend,
    pressure, velocity), ``relative`` (endless encoders), ``button``
    (momentary / toggle / trigger presses).
    """

    index: int                 # position in the file (map[index])
    line: int | None
    source: Source
    target: ParamKey | None    # None for preset rules
    preset: str | None         # recall this preset by name
    mode: str                  # absolute | relative | button
    source_range: tuple[float, float]
    target_range: tuple[float, float]  # lo > hi when reversed
    curve: str = "linear"
    steepness: float = 4.0
    gamma: float = 2.0
    encoder: str | None = None
    step: float = 0.0
    acceleration: float = 0.0
    button: str | None = None
    threshold: int = 64
    value: float | None = None     # what a trigger press sets
    velocity: str = "trigger"      # notes: "value" makes velocity the source value
    takeover: str = "jump"
    smoothing_ms: float | None = None  # None = the parameter's own smoothing
    glide_ms: float | None = None      # preset recall glide (None = the mapping's)
    layer: bool = False
    label: str = ""
    feedback: bool = False             # send the parameter's value back to the control (LEDs, rings, motor faders)
    learn: ParamKey | None = None      # a learn button: a press arms MIDI learn for this parameter

    def describe(self) -> str:
        """One line for status output: ``cc 1 on channel 1 -> loop.dissolve (dissolve)``."""
        target = f"preset '{self.preset}'" if self.preset is not None else str(self.target)
        if self.learn is not None:
            target = f"learn {self.learn}"
        if self.value is not None:
            target += f" = {self.value:g}"
        return f"{self.source.describe()} -> {target}" + (f" ({self.label})" if self.label else "")

    @property
    def recalls_presets(self) -> bool:
        return self.preset is not None or (self.target is not None and self.target.name == "preset.recall")


@dataclass(frozen=True, slots=True)
class Preset:
    """A named snapshot of parameter values; ``index`` is what a program change selects."""

    name: str
    index: int
    values: tuple[tuple[ParamKey, float], ...]
    file: str = ""
    reset_unlisted: bool = False   # a recall first resets every moved value it does not list (as [presets] reset_unlisted)


@dataclass(frozen=True)
class PresetBank:
    """Presets by name and by index."""

    presets: tuple[Preset, ...] = ()
    files: tuple[Path, ...] = ()     # every preset file read
    sources: tuple[Path, ...] = ()   # the files and folders asked for (a reload reads them again)
    by_name: dict[str, Preset] = field(init=False, repr=False)
    by_index: dict[int, Preset] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.presets})
        object.__setattr__(self, "by_index", {p.index: p for p in self.presets})

    def find(self, which: str | int) -> Preset | None:
        return self.by_index.get(which) if isinstance(which, int) else self.by_name.get(which)

    def __len__(self) -> int:
        return len(self.presets)


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file: its rules, presets, and the files it was read from."""

    name: str
    rules: tuple[Rule, ...]
    presets: PresetBank
    preset_glide_ms: float = 0.0
    path: Path | None = None
    files: tuple[Path, ...] = ()   # every file read (the mapping and its presets), for hot reload
    has_presets: bool = False      # the file declared a [presets] table
    preset_reset_unlisted: bool = False  # a recall resets every moved value the preset does not list
    index: dict[tuple[str, int | None], tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, int | None], list[Rule]] = {}
        for rule in self.rules:
            index.setdefault((rule.source.kind, rule.source.number), []).append(rule)
        object.__setattr__(self, "index", {k: tuple(v) for k, v in index.items()})

    def rules_for(self, kind: str, number: int | None) -> tuple[Rule, ...]:
        """Rules listening to ``kind``/``number`` (program rules for *any* program included)."""
        rules = self.index.get((kind, number), ())
        if kind == "program" and number is not None:
            rules = rules + self.index.get((kind, None), ())
        return rules

    def unknown_targets(self, graphs: dict[str, int]) -> list[str]:
        """Entries aimed at a graph or a latent dimension the box lacks (``graphs``: name -> latent dims).

        Not errors (a mapping is shared between boxes): the daemon logs them at load, ``ravebox check``
        warns, and the runtime counts the events they drop (``MappingStats.unknown_graphs/unknown_dims``).
        """
        problems = []
        for r in self.rules:
            target = r.target
            if target is None:
                continue
            where = f"map[{r.index}]" + (f" (line {r.line})" if r.line else "")
            if target.graph is not None and target.graph not in graphs:
                problems.append(f"{where}: graph '{target.graph}' is not in this box")
            elif target.dim is not None and graphs:
                dims = graphs[target.graph] if target.graph is not None else max(graphs.values())
                if target.dim >= dims:
                    whose = f"graph '{target.graph}' has" if target.graph is not None else "the widest graph has"
                    problems.append(f"{where}: latent dim {target.dim} is not in this box ({whose} {dims})")
        return problems
