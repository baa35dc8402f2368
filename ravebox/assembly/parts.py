"""``assemble(box, sample_rate) -> BoxParts``: every part of a box, built once, the same way live and offline.

Why one function: the daemon and render used to build the follower, the
default-mapping fallback and the gate sequencer each in their own way. Now
both call :func:`assemble`; the daemon hands the parts to the JACK host,
render drives them block by block.

What is built, in order: the engine (loads and warms every model; a stand-in
through ``engine_factory`` in tests), the parameter store sized from the
engine's graphs, the clock follower (``[clock]``), the mapping runtime
(``[mapping]``, the bundled default when the box names none -- the loader
fills that in), and the event router over them. Output stages and their gate
sequencer (``[gates]``, ``[output]``) depend on the audio path's latency and
largest block, so :meth:`BoxParts.output_stages` builds them on demand (live:
per JACK audio path, again after a period change; offline: once).

To add a part: build it in :func:`assemble` from its typed config field and
add a field to :class:`BoxParts`; the daemon and render then both have it.

Thread: the main thread (daemon start) or the render thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ravebox.assembly.router import EventRouter
from ravebox.clock.follower import ClockFollower
from ravebox.config.box import BoxConfig
from ravebox.engine.output import OutputStage
from ravebox.gates.sequencer import GateSequencer
from ravebox.mapping.runtime import MappingRuntime
from ravebox.params.store import ParamStore

if TYPE_CHECKING:
    from ravebox.engine.engine import Loader

log = logging.getLogger("ravebox.assembly")

#: ``engine_factory(box, sample_rate, seed)`` -> an engine (the real one, or a test stand-in).
EngineFactory = Callable[[BoxConfig, int, "int | None"], Any]


@dataclass(frozen=True)
class BoxParts:
    """The parts of one running (or rendering) box; the references never change once built."""

    box: BoxConfig
    sample_rate: int
    engine: Any
    store: ParamStore
    follower: ClockFollower
    mapping: MappingRuntime
    router: EventRouter

    def gates(self, max_block: int) -> GateSequencer | None:
        """The rhythmic gate sequencer of the ``[gates]`` patterns (None without patterns)."""
        patterns = self.box.gates.patterns
        return GateSequencer(patterns, self.sample_rate, max_block) if patterns else None

    def output_stages(self, latency: int, max_block: int) -> list[OutputStage]:
        """One output stage per graph (engine order), sharing one gate sequencer."""
        gates = self.gates(max_block)
        return [OutputStage(name, outputs, self.sample_rate, self.box.output, latency, max_block,
                            max(inputs, 1), gates)
                for name, (inputs, outputs) in self.engine.channels.items()]


def real_engine(loader: Loader | None = None) -> EngineFactory:
    """The factory of the real engine (imported when called: it imports torch)."""
    def build(box: BoxConfig, sample_rate: int, seed: int | None) -> Any:
        from ravebox.engine.engine import Engine

        return Engine(box, sample_rate, seed, loader=loader)
    return build


def box_warnings(box: BoxConfig, graph_dims: dict[str, int]) -> list[str]:
    """What a box will not use, said once at load and by ``ravebox check``: models no graph plays, and
    mapping entries aimed at a graph or latent dimension the box lacks (``graph_dims``: name -> dims)."""
    used = {name for g in box.graphs for name in (g.encoder, g.prior, *g.decoders) if name}
    lines = [f"{box.path}: models.{name}: declared but no graph uses it (it is not loaded)"
             for name in box.models if name not in used]
    return lines + [f"mapping {box.mapping.path}: {problem} (its events are dropped)"
                    for problem in box.mapping.mapping.unknown_targets(graph_dims)]


def assemble(box: BoxConfig, sample_rate: int, *, seed: int | None = None,
             engine_factory: EngineFactory | None = None) -> BoxParts:
    """Build the box's parts for ``sample_rate``; ``seed`` None means ``[output] seed``."""
    engine = (engine_factory or real_engine())(box, sample_rate, seed)
    store = ParamStore(engine.graph_dims, sample_rate, defaults=box.gates.param_defaults(engine.graph_dims))
    follower = ClockFollower(sample_rate, box.clock)
    settings = box.mapping
    mapping = MappingRuntime(settings.mapping, store, settings.presets)
    for problem in box_warnings(box, store.graphs):
        log.warning("%s", problem)
    return BoxParts(box, sample_rate, engine, store, follower, mapping, EventRouter(follower, mapping, store))
