"""Tiny stand-ins for the engine and the output stage, for host tests that are about the host.

The pass-through engine returns its input as the wet signal, so the host's own
delay can be measured to the sample; ``fail_graph`` makes it raise for one graph.
"""

from __future__ import annotations

import numpy as np

from ravebox.host.audiopath import GraphIO


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

    @classmethod
    def factory(cls, outputs: int = 1, block_size: int = 2048):
        """``engine_factory`` for the daemon: one graph per box graph, mono in (if encoded)."""
        def build(box, sample_rate, seed):
            graphs = [GraphIO(g.name, 1 if g.encoder else 0, outputs) for g in box.graphs]
            return cls(graphs, block_size)
        return build

    def process(self, inputs, start_frame, store, clock):
        self.calls += 1
        if self.sleep_s:
            import time

            time.sleep(self.sleep_s)
        if self.fail_graph is not None:
            raise RuntimeError(f"model of {self.fail_graph} exploded")
        out = {}
        for g in self.graphs:
            src = inputs[g.name]
            block = np.zeros((g.outputs, self.block_size), np.float32)
            if src.shape[0]:
                for c in range(g.outputs):
                    block[c] = src[c % src.shape[0]]
            out[g.name] = block
        return out

    def failed_graph(self, exc):
        return self.fail_graph

    def exclude_graph(self, name):
        self.fail_graph = None
