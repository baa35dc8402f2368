"""The one assembly of a box's parts, shared by the daemon (live) and render (offline).

``assemble(box, sample_rate)`` builds engine, parameter store, clock follower,
mapping runtime and event router (:mod:`ravebox.assembly.parts`);
``BoxParts.output_stages(latency, max_block)`` builds the gate sequencer and
one output stage per graph. :class:`~ravebox.assembly.router.EventRouter` is
the one place a MIDI event is routed to the clock follower or the mapping, and
where the ``clock.*`` parameters reach the follower; the control thread drives
it live and the render loop offline, so "a render is what the PA would hear"
holds by construction.

Layering: above ``config/``, ``engine/``, ``mapping/``, ``clock/`` and
``gates/``; below ``render/``, ``host/`` and ``service/``, which all use it.
Importing this package does not import torch (the engine is imported when
:func:`assemble` builds the real one).
"""

from __future__ import annotations

from ravebox.assembly.parts import BoxParts, assemble
from ravebox.assembly.router import ClockSource, EventRouter, EventSink

__all__ = ["BoxParts", "ClockSource", "EventRouter", "EventSink", "assemble"]
