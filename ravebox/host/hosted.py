"""What the JACK host runs: :class:`HostedBox` (one typed parts object) and :class:`HostedEngine`.

Why a module of its own: these are the host's side of the seam with the
assembly. The composition root makes a ``HostedBox`` from the assembly's parts
(:meth:`HostedBox.from_parts`) and hands it to :meth:`ravebox.host.host.Host.start`;
host tests build one around a stand-in engine that implements exactly
``HostedEngine`` (``tests/host/standins.py``).

Thread: built and read on the main thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ravebox.assembly.parts import BoxParts
from ravebox.assembly.router import EventRouter
from ravebox.host.audiopath import AudioPath, GraphIO, OutputStageLike
from ravebox.host.worker import WorkerEngine
from ravebox.midi.parser import PortParser
from ravebox.params.store import ParamStore


class HostedEngine(WorkerEngine, Protocol):
    """What the host asks of an engine besides what its worker drives (the real one: ``Engine``)."""

    @property
    def block_size(self) -> int:
        """Frames per ``process`` call: the audio path's block."""
        ...

    @property
    def latency_frames(self) -> int:
        """What the models and rate conversion add; the dry signal is delayed as much."""
        ...

    @property
    def parallel_lanes(self) -> int:
        """Graphs ``start_parallel`` runs at once (1: in turn)."""
        ...

    @property
    def channels(self) -> Mapping[str, tuple[int, int]]:
        """(input channels, output channels) per graph, in play order; 0 inputs: the graph takes no audio."""
        ...

    def measure(self, *, last_multiple: int | None = None) -> object:
        """Time every graph at the engine block before the worker starts (a stand-in may do nothing;
        ``last_multiple``: the auto block multiple the last start chose)."""
        ...

    def block_p99(self, lanes: int = 1) -> float | None:
        """Measured p99 seconds of one block with ``lanes`` graphs at once; None: not measured."""
        ...


#: ``parser_factory(input label)`` -> a parser of that input's bytes (``PortParser``).
ParserFactory = Callable[[str], PortParser]
#: ``stages(path)`` -> one output stage per graph, built for the path's latency and largest period.
StagesFactory = Callable[[AudioPath], "list[OutputStageLike]"]


@dataclass(frozen=True)
class HostedBox:
    """Everything :meth:`Host.start` runs, built before it (live: from the assembly's parts).

    ``stages`` None plays the wet signal as it is (host tests); ``router`` None routes MIDI nowhere.
    """

    engine: HostedEngine
    store: ParamStore
    sample_rate: int                 # the rate the parts were built for; the server must run at it
    router: EventRouter | None = None
    stages: StagesFactory | None = None
    late_policy: str = "dry"
    mute_fade_ms: float = 10.0
    parser_factory: ParserFactory = PortParser

    @classmethod
    def from_parts(cls, parts: BoxParts) -> "HostedBox":
        """The box the assembly built, with its ``[output]`` settings and one stage per graph."""
        output = parts.box.output
        return cls(parts.engine, parts.store, parts.sample_rate, parts.router,
                   lambda path: list(parts.output_stages(path.latency, path.max_period)),
                   late_policy=output.late_block, mute_fade_ms=output.mute_fade_ms)

    @property
    def graphs(self) -> list[GraphIO]:
        """Audio shape of each graph, sized from the models (``engine.channels``)."""
        return [GraphIO(name, int(i), int(o)) for name, (i, o) in self.engine.channels.items()]
