"""Registry of box-config sections: which module validates which top-level table.

Why a registry: each layer owns the schema of its own section (the clock
follower knows what a sane PLL bandwidth is, the JACK host knows port
patterns), while ``config/box.py`` composes them and reports unknown tables
with a did-you-mean. Each section module exposes
``parse(table: dict, diags: Diagnostics, prefix: str) -> Settings``.
"""

SECTIONS = {
    "box": "ravebox.config.box_section",
    "models": "ravebox.config.graphs",
    "graph": "ravebox.config.graphs",
    "clock": "ravebox.config.clock",
    "gates": "ravebox.config.gates",
    "jack": "ravebox.config.jack",
    "mapping": "ravebox.config.mapping",
    "output": "ravebox.config.graphs",
}
