"""Offline render: audio file + Standard MIDI File -> the daemon's mapping, clock and engine -> audio file."""

from ravebox.render.render import RenderError, RenderJob, render

__all__ = ["RenderError", "RenderJob", "render"]
