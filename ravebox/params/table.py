"""The one table of live parameters: names, ranges, units, defaults, smoothing.

Why one table: mapping validation, ``ravebox check``'s did-you-mean, the
reference documentation, presets and the status output all read it, so a
parameter exists exactly when it is listed here.

A parameter is addressed by a :class:`ParamKey`: its name, the graph it
belongs to (``None`` = every graph), and for per-dimension parameters the
latent dimension (``None`` = every dimension).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ParamKind(str, Enum):
    CONTINUOUS = "continuous"  # any value in [minimum, maximum]
    TOGGLE = "toggle"          # 0 or 1
    CHOICE = "choice"          # an integer index in [minimum, maximum]
    TRIGGER = "trigger"        # an event; the value is ignored


class ParamScope(str, Enum):
    BOX = "box"      # one value for the whole box
    GRAPH = "graph"  # one value per graph
    DIM = "dim"      # one value per graph and latent dimension


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    kind: ParamKind
    scope: ParamScope
    minimum: float
    maximum: float
    default: float
    unit: str
    smoothing_ms: float
    doc: str

    def clamp(self, value: float) -> float:
        """Clamp (and for choices and toggles, round) a value into range."""
        value = min(max(float(value), self.minimum), self.maximum)
        if self.kind in (ParamKind.CHOICE, ParamKind.TOGGLE):
            value = float(round(value))
        return value


@dataclass(frozen=True, slots=True)
class ParamKey:
    """Address of one live value: ``name`` in ``graph`` at latent ``dim``."""

    name: str
    graph: str | None = None
    dim: int | None = None

    def __str__(self) -> str:
        text = self.name if self.graph is None else f"{self.graph}/{self.name}"
        return text if self.dim is None else f"{text}[{self.dim}]"


C, T, CH, TR = ParamKind.CONTINUOUS, ParamKind.TOGGLE, ParamKind.CHOICE, ParamKind.TRIGGER
BOX, GRAPH, DIM = ParamScope.BOX, ParamScope.GRAPH, ParamScope.DIM

_SPECS = (
    # name, kind, scope, min, max, default, unit, smoothing_ms, doc
    ("latent.bias", C, DIM, -4.0, 4.0, 0.0, "sigma", 10.0,
     "Offset added to a latent dimension before decoding."),
    ("latent.scale", C, DIM, 0.0, 4.0, 1.0, "x", 10.0,
     "Factor applied to a latent dimension (before the bias)."),
    ("latent.noise", C, DIM, 0.0, 2.0, 0.0, "sigma", 10.0,
     "Gaussian jitter added per latent frame; seeded, so renders repeat."),
    ("latent.freeze", T, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Hold the current latent frame while on."),
    ("loop.enabled", T, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Record a latent loop of loop.beats beats, then play it back beat-locked."),
    ("loop.beats", C, GRAPH, 0.25, 64.0, 4.0, "beats", 0.0,
     "Length of the latent loop in beats."),
    ("loop.dissolve", C, GRAPH, 0.0, 1.0, 0.0, "", 10.0,
     "0 = the loop repeats exactly, 1 = the live (or prior) stream takes over."),
    ("loop.retrigger", TR, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Throw the recorded loop away and record again from the next aligned start."),
    ("prior.temperature", C, GRAPH, 0.0, 2.0, 1.0, "", 10.0,
     "Sampling temperature of the prior (0 = greedy)."),
    ("prior.listen", T, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Feed the encoded live input into the prior's context instead of its own output."),
    ("prior.mix", C, DIM, 0.0, 1.0, 1.0, "", 10.0,
     "Per-dimension blend of encoded (0) and prior (1) latents in a mixed graph."),
    ("mix.wet", C, GRAPH, 0.0, 1.0, 1.0, "", 10.0,
     "Wet/dry balance; the dry input is delayed to match the model."),
    ("out.gain_db", C, GRAPH, -60.0, 12.0, 0.0, "dB", 10.0,
     "Output gain before the gate and the limiter."),
    ("in.gain_db", C, GRAPH, -60.0, 24.0, 0.0, "dB", 10.0,
     "Input gain before the encoder."),
    ("gate.pattern", CH, GRAPH, 0.0, 127.0, 0.0, "", 0.0,
     "Index of the gate pattern (in the order the box config lists them)."),
    ("gate.depth", C, GRAPH, 0.0, 1.0, 0.0, "", 10.0,
     "How far a closed gate step attenuates: 0 = no gating, 1 = silence."),
    ("gate.swing", C, GRAPH, 0.0, 0.5, 0.0, "step", 0.0,
     "Delay of every second step, as a fraction of a step."),
    ("model.select", CH, GRAPH, 0.0, 127.0, 0.0, "", 0.0,
     "Index of the decoder among the graph's alternatives; switching crossfades."),
    ("graph.mute", T, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Fade a graph's output to silence (and back)."),
    ("preset.recall", CH, BOX, 0.0, 127.0, 0.0, "", 0.0,
     "Recall a preset by index (handled by the mapping layer)."),
    ("clock.offset_ms", C, BOX, -100.0, 100.0, 0.0, "ms", 0.0,
     "Sync delay: shifts the followed clock phase, as Ableton's Sync Delay."),
    ("clock.bpm", C, BOX, 20.0, 300.0, 120.0, "BPM", 0.0,
     "Tempo of the internal clock when no external clock leads."),
    ("engine.reset", TR, GRAPH, 0.0, 1.0, 0.0, "", 0.0,
     "Panic: reset the model stream state of a graph."),
    ("record.enabled", T, BOX, 0.0, 1.0, 0.0, "", 0.0,
     "Record the box's output to FLAC while on ([record] in the box config; handled by the daemon)."),
)

PARAMS: dict[str, ParamSpec] = {
    row[0]: ParamSpec(*row) for row in _SPECS
}


def spec(name: str) -> ParamSpec:
    """The spec of ``name``; raises ``KeyError`` for unknown names."""
    return PARAMS[name]


def reference_markdown() -> str:
    """The parameter table as Markdown, for ``docs/mapping-reference.md`` (a test keeps them equal).

    Why generated: the docs then cannot drift from the table, the one place a
    parameter is defined.
    """
    rows = [
        "| parameter | kind | per | range | default | unit | smoothing | what it does |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in PARAMS.values():
        smoothing = f"{p.smoothing_ms:g} ms" if p.kind is ParamKind.CONTINUOUS else "-"
        rows.append(f"| `{p.name}` | {p.kind.value} | {p.scope.value} | {p.minimum:g}..{p.maximum:g} "
                    f"| {p.default:g} | {p.unit or '-'} | {smoothing} | {p.doc} |")
    return "\n".join(rows) + "\n"
