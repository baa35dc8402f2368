"""Registry of box-config sections: which module validates which top-level table.

Why a registry: each layer owns the schema of its own section (the clock
follower knows what a sane PLL bandwidth is, the JACK host knows port
patterns), while ``config/box.py`` only composes them and reports unknown
tables with a did-you-mean. Each external section module exposes
``parse(table: dict, diags: Diagnostics, prefix: str) -> Settings``.

Run by whoever loads a box (main thread, ``ravebox check``, render).
"""

from __future__ import annotations

#: Tables validated by ``config/graphs.py`` (the engine's own schema).
OWN_SECTIONS = ("box", "models", "graphs", "output")

#: Tables owned by other layers: table name -> module with ``parse``.
EXTERNAL_SECTIONS = {
    "clock": "ravebox.config.clock",
    "gates": "ravebox.config.gates",
    "jack": "ravebox.config.jack",
    "mapping": "ravebox.config.mapping",
    "record": "ravebox.config.record",
}

ALL_SECTIONS = OWN_SECTIONS + tuple(EXTERNAL_SECTIONS)
