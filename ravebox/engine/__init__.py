"""Latent graphs, latent ops, loop/dissolve, prior, hot swap, output stage and safety.

No JACK, no MIDI: the engine turns audio blocks, a ParamStore and a ClockView
into audio blocks, identically live and offline. ``Engine`` imports torch, so
import it from ``ravebox.engine.engine`` where startup time matters; the
output stage (``ravebox.engine.output``) needs only numpy.

Public API::

    engine = Engine(box, sample_rate, seed=None, loader=None)   # loads + warms every model
    engine.block_size        # lcm of all model ratios * [output] block_multiple
    engine.latency_frames    # what the models add (0 unless a model reports it)
    engine.graph_dims        # {graph: latent dims}  -> ParamStore(graphs=...)
    engine.channels          # {graph: (in_channels, out_channels)}; in 0 = no audio input
    wet = engine.process({graph: (ch, n) float32}, start_frame, store, clock)  # inference worker
    engine.prepare_swap(graph, path, index=None, role="decoder")  # any other thread -> SwapResult
    engine.status(), engine.events, engine.failed

    stage = OutputStage(graph, channels, sample_rate, box.output, latency_frames, max_block,
                        dry_channels=1, gates=None)
    stage.process(wet_or_None, dry, start_frame, store, clock, out)  # JACK process thread
    stage.counters()

Per-dimension parameters address the latent space of a graph's first decoder;
other decoder alternatives are fed from it with ``pad_zeros`` matching.
"""

from __future__ import annotations

__all__ = ["Engine", "OutputStage", "SwapResult"]


def __getattr__(name: str) -> object:  # PEP 562: ``import ravebox.engine`` must not import torch until asked
    if name in ("Engine", "SwapResult"):
        from ravebox.engine.engine import Engine, SwapResult

        return Engine if name == "Engine" else SwapResult
    if name == "OutputStage":
        from ravebox.engine.output import OutputStage

        return OutputStage
    raise AttributeError(name)
