"""A tiny stand-in engine, for host tests that are about the host.

The pass-through engine returns its input as the wet signal, so the host's own
delay can be measured to the sample. It implements exactly
:class:`ravebox.host.host.HostedEngine` (what the host and its worker drive),
plus ``graph_dims`` for the assembly's parameter store, the ``events`` log
the daemon reports, what status reads (``status``, ``rate_status``, ``costs``)
and ``prepare_swap`` (refused: it has no models). ``fail_graph`` mutes one graph
the way the real engine does when a model raises (``failed`` and an event).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ravebox.engine.autoblock import BlockChoice
from ravebox.engine.eventlog import EventLog
from ravebox.host.audiopath import GraphIO


class Refused(NamedTuple):
    """A swap outcome, shaped as ``ravebox.engine.engine.SwapResult`` (which imports torch)."""

    ok: bool
    graph: str
    message: str


class PassEngine:
    """``process`` copies each graph's input to its output (channel c <- input c mod inputs)."""

    def __init__(self, graphs, block_size: int = 2048, latency_frames: int = 0) -> None:
        self.graphs = list(graphs)
        self.block_size = block_size
        self.latency_frames = latency_frames
        self.fail_graph: str | None = None
        self.sleep_s = 0.0      # > one block's deadline makes every block late
        self.calls = 0
        self.channels = {g.name: (g.inputs, g.outputs) for g in self.graphs}
        self.graph_dims = {g.name: 8 for g in self.graphs}
        self.failed: dict[str, str] = {}
        self.events = EventLog()
        self.parallel_lanes = 1
        self.costs: dict = {}
        self.block_choice = BlockChoice(1, "box", "a stand-in: nothing to time")

    @classmethod
    def factory(cls, outputs: int = 1, block_size: int = 2048, built: list | None = None):
        """``engine_factory`` for the daemon: one graph per box graph, mono in (if encoded); each engine
        it builds is appended to ``built`` (the test's handle on the daemon's engine)."""
        def build(box, sample_rate, seed):
            graphs = [GraphIO(g.name, 1 if g.encoder else 0, outputs) for g in box.graphs]
            engine = cls(graphs, block_size)
            if built is not None:
                built.append(engine)
            return engine
        return build

    def process(self, inputs, start_frame, store, clock):
        self.calls += 1
        if self.sleep_s:
            import time

            time.sleep(self.sleep_s)
        if self.fail_graph is not None and self.fail_graph not in self.failed:
            self.failed[self.fail_graph] = f"RuntimeError: model of {self.fail_graph} exploded"
            self.events.append(f"graph {self.fail_graph} muted: {self.failed[self.fail_graph]}")
        out = {}
        for g in self.graphs:
            if g.name in self.failed:
                out[g.name] = np.zeros((g.outputs, self.block_size), np.float32)
                continue
            src = inputs[g.name]
            block = np.zeros((g.outputs, self.block_size), np.float32)
            if src.shape[0]:
                for c in range(g.outputs):
                    block[c] = src[c % src.shape[0]]
            out[g.name] = block
        return out

    def start_parallel(self, thread_init=None) -> bool:
        return False

    def stop_parallel(self) -> None:
        pass

    def has_large_models(self) -> bool:
        return False

    def measure(self, *, last_multiple: int | None = None) -> None:
        """Nothing to time: the headroom then comes from ``[jack] headroom_periods`` or its default."""

    def block_p99(self, lanes: int = 1) -> None:
        return None

    def retarget(self, rate: int) -> None:
        """A JACK restart at another rate: nothing to rebuild (no models, no rate domains)."""

    def status(self) -> dict:
        return {g.name: {"failed": self.failed.get(g.name)} for g in self.graphs}

    def rate_status(self) -> dict:
        return {}

    def prepare_swap(self, graph, path, index=None, role="decoder") -> Refused:
        return Refused(False, graph, f"swap of {graph} {role} to {path} refused: the pass-through stand-in has no models")
