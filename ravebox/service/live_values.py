"""The preset and live-value commands of the control socket: list, set, save; and the recall log line.

Why a module of its own: the daemon only forwards (``Daemon.presets/set_param/save_preset``); what a
command checks and answers is here, testable with a store and a runtime and no JACK.

Threads: :func:`preset_list` may run on the control-socket thread (it reads an immutable bank and a
string). :func:`set_value` and :func:`save_live` run on the main thread; the store has one writer, the
control thread, so a value is written through ``on_control`` (``ControlThread.call``). :class:`RecallLog`
runs on the main thread, once a tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ravebox.mapping.presets import parse_setting
from ravebox.mapping.save import preset_values, save_preset

log = logging.getLogger("ravebox.presets")


def preset_list(runtime: Any) -> dict:
    """``{"presets": [{"name", "program", "file"}...], "current": last recalled name or None}``."""
    if runtime is None:
        return {"presets": [], "current": None}
    return {"presets": [{"name": p.name, "program": p.index, "file": p.file} for p in runtime.presets.presets],
            "current": runtime.last_preset}


def set_value(store: Any, on_control: Callable[[Callable[[], Any]], Any], now: Callable[[], int],
              key: str, value: float) -> dict:
    """Set one live value by its preset key (``mix.wet``, ``main/latent.bias[2]``); ConfigError if invalid."""
    pairs = [(k, v) for k, v in parse_setting(key, value) if k.graph is None or k.graph in store.graphs]
    if not pairs:
        graph = parse_setting(key, value)[0][0].graph
        return {"ok": False, "error": f"set {key}: this box has no graph '{graph}' (graphs: {', '.join(store.graphs)})"}

    def write() -> bool:
        frame = now()
        for pkey, v in pairs:
            store.set(pkey, v, frame)
        return True

    on_control(write)
    shown = ", ".join(f"{k} = {v:g}" for k, v in pairs)
    log.info("set %s", shown)
    return {"ok": True, "message": shown}


def save_live(runtime: Any, store: Any, name: str) -> dict:
    """Write the live values as preset ``name`` into the mapping's preset files (the reloader picks it up)."""
    if runtime is None:
        return {"ok": False, "error": "save: the daemon is not running a mapping"}
    values = preset_values(store.snapshot())
    path = save_preset(runtime.presets, name, values)
    log.info("preset '%s' saved to %s (%d values)", name, path, len(values))
    return {"ok": True, "message": f"preset '{name}' saved to {path} ({len(values)} values)", "file": str(path)}


class RecallLog:
    """Logs each preset recall once (main thread, every tick): MIDI recalls happen on the control thread,
    which never logs, so the main thread reports what the runtime's counter says happened."""

    def __init__(self) -> None:
        self._seen = 0

    def tick(self, runtime: Any) -> None:
        if runtime is None:
            return
        count = runtime.stats.recalls
        if count != self._seen:
            more = count - self._seen
            self._seen = count
            extra = f" ({more} recalls since the last line)" if more > 1 else ""
            log.info("preset '%s' recalled%s", runtime.last_preset, extra)
