"""Latent graphs, latent ops, loop/dissolve, prior, hot swap, output stage and safety.

No JACK, no MIDI: the engine turns audio blocks, a ParamStore and a ClockView
into audio blocks, identically live and offline. ``Engine`` imports torch, so
import it from ``ravebox.engine.engine`` where startup time matters; the
output stage (``ravebox.engine.output``) needs only numpy.
"""

from __future__ import annotations

__all__ = ["Engine", "OutputStage", "SwapResult"]


def __getattr__(name: str):
    if name in ("Engine", "SwapResult"):
        from ravebox.engine import engine

        return getattr(engine, name)
    if name == "OutputStage":
        from ravebox.engine.output import OutputStage

        return OutputStage
    raise AttributeError(name)
