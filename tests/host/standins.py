"""Tiny stand-ins for the engine and the output stage, for host tests that are about the host.

The pass-through engine returns its input as the wet signal, so the host's own
delay can be measured to the sample; ``fail_graph`` makes it raise for one graph.
"""

from __future__ import annotations

import numpy as np


class PassEngine:
    """``process`` copies each graph's input to its output (channel c <- input c mod inputs)."""

    def __init__(self, graphs, block_size: int = 2048, latency_frames: int = 0) -> None:
        self.graphs = list(graphs)
        self.block_size = block_size
        self.latency_frames = latency_frames
        self.fail_graph: str | None = None
        self.calls = 0

    def process(self, inputs, start_frame, store, clock):
        self.calls += 1
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
