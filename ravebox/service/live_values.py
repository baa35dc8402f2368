"""The live commands of the control socket: presets (list, recall, save), set, panic, record; the recall log.

Why a module of its own: the daemon only builds :class:`LiveCommands` and the control socket calls it;
what a command checks and answers is here, the functions testable with a store and a runtime and no JACK.

Threads: :func:`preset_list` may run on the control-socket thread (it reads an immutable bank and a
string). :func:`set_value` and :func:`save_live` run on the main thread; the store has one writer, the
control thread, so a value is written through ``on_control`` (``ControlThread.call``). :class:`RecallLog`
runs on the main thread, once a tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from ravebox.mapping.presets import parse_setting
from ravebox.mapping.save import preset_values, save_preset
from ravebox.params.table import ParamKey

log = logging.getLogger("ravebox.presets")


class ControlSide(Protocol):
    """The host as the live commands use it: the control thread (the store's one writer) and the worker."""

    def on_control(self, fn: Callable[[], Any], timeout: float = 1.0) -> Any: ...
    def now(self) -> int: ...
    def unmute(self) -> None: ...


class Recorder(Protocol):
    def start(self) -> dict: ...
    def stop(self) -> dict: ...


class LiveCommands:
    """What ``ravebox status preset|set|save|panic|record`` do to a running box.

    Threads: :meth:`presets` any thread (the control socket's); the others the main thread
    (the control socket queues them there), writing the store through the control thread.
    """

    def __init__(self, runtime: Any, store: Any, host: ControlSide, recorder: Recorder) -> None:
        self.runtime, self.store, self.host, self.recorder = runtime, store, host, recorder

    def recall_preset(self, ref: str | int) -> dict:
        """Recall a preset by name or number."""
        runtime, host = self.runtime, self.host
        ok = host.on_control(lambda: runtime.recall(ref, host.now()))
        if not ok:
            return {"ok": False, "error": f"no preset {ref!r}"}
        return {"ok": True, "preset": ref, "message": f"preset '{runtime.last_preset}' recalled"}

    def presets(self) -> dict:
        return preset_list(self.runtime)

    def set_param(self, key: str, value: float) -> dict:
        return set_value(self.store, self.host.on_control, self.host.now, key, value)

    def save_preset(self, name: str) -> dict:
        return save_live(self.runtime, self.store, name)

    def panic(self) -> dict:
        """Reset every graph's model state and let graphs muted by a failure play again."""
        store, host = self.store, self.host

        def reset() -> bool:
            for name in store.graphs:
                store.set(ParamKey("engine.reset", name), 1.0, host.now())
            return True
        host.on_control(reset)
        host.unmute()
        log.warning("panic: model state reset on every graph")
        graphs = list(store.graphs)
        return {"ok": True, "graphs": graphs,
                "message": f"model state reset on {', '.join(graphs)}; graphs muted by a failure play again"}

    def record(self, action: str) -> dict:
        """``start`` or ``stop`` a take (``ravebox status record start|stop``)."""
        if action not in ("start", "stop"):
            return {"ok": False, "error": f"record start or record stop, not {action!r}"}
        return self.recorder.start() if action == "start" else self.recorder.stop()


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
    which never logs, so the main thread reports what the recall counter says happened."""

    def __init__(self) -> None:
        self._seen = 0

    def tick(self, count: int, name: str | None) -> None:
        """``count``: recalls so far (the mapping's ``stats.recalls``); ``name``: the last one recalled."""
        if count != self._seen:
            more = count - self._seen
            self._seen = count
            extra = f" ({more} recalls since the last line)" if more > 1 else ""
            log.info("preset '%s' recalled%s", name, extra)
