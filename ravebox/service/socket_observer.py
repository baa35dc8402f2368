"""The control-socket observer: serves ``ravebox status`` and its commands from a running daemon.

Why apart from the other observers: it is the one that parses requests (``set mix.wet 0.4``,
``preset 2``, ``learn ...``) and decides which thread runs each command; the others only
read the status.

Threads: ``on_ready``/``on_tick``/``on_stopping`` run on the main thread; the handlers on
the control socket's connection threads (``status``, ``presets`` and ``learn`` answer there;
the rest are queued to the main thread and run in ``on_tick``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ravebox.errors import ServiceError
from ravebox.service import control_socket
from ravebox.service.observers import Observer

log = logging.getLogger("ravebox.service.observers")


class ControlSocketObserver(Observer):
    """Serves the control socket from ``on_ready`` until ``on_stopping``.

    ``status`` is answered on the socket thread (a snapshot); ``reload``,
    ``preset`` and ``panic`` are queued to the main thread and run in ``on_tick``.
    """

    def __init__(self, path: str, mode: int = 0o660) -> None:
        self.path = path
        self.mode = mode
        self.calls = control_socket.MainThreadCalls()
        self.server: control_socket.ControlServer | None = None

    def on_ready(self, daemon: object) -> None:
        """Start serving; a socket that cannot be made is one error line, and the box plays on without it."""
        table = control_socket.CommandTable(self.handlers(daemon))
        try:
            self.server = control_socket.ControlServer(self.path, table, self.mode).start()
        except ServiceError as exc:
            log.error("%s; `ravebox status` cannot reach this daemon", exc)

    def on_tick(self, daemon: object) -> None:
        self.calls.run_pending()

    def on_stopping(self, daemon: object) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.calls.run_pending()  # release any waiting client with a result

    def handlers(self, daemon: object) -> dict[str, Callable[[dict], dict]]:
        d: Any = daemon
        on_main = self.calls.call

        def live() -> Any:
            return d.commands  # the daemon's LiveCommands (service/live_values.py), built at start
        return {
            "status": lambda req: d.status(),
            "reload": lambda req: _reload(d, on_main),
            "preset": lambda req: on_main(lambda: live().recall_preset(_preset_ref(req))),
            "panic": lambda req: on_main(lambda: live().panic()),
            "presets": lambda req: live().presets(),
            "set": lambda req: on_main(lambda: live().set_param(*_setting(req))),
            "save": lambda req: on_main(lambda: live().save_preset(_preset_name(req))),
            "learn": lambda req: _learn(d.learning, req),
            "record": lambda req: on_main(lambda: live().record(str(req.get("ref") or req.get("action") or ""))),
            "help": lambda req: {"commands": ["status", "reload", "preset <name|number>", "presets",
                                              "set <param> <value>", "save <name>", "panic",
                                              "learn <target> [graph dim mode timeout_s] | learn cancel",
                                              "record start|stop", "help"]},
        }


def _reload(daemon: Any, on_main: Callable[[Callable[[], dict]], dict]) -> dict:
    """Socket thread: read the files here (seconds for a huge mapping), swap them in on the main thread."""
    prepared = daemon.prepare_reload()
    return on_main(lambda: daemon.apply_reload(prepared))


def _learn(service: Any, request: dict) -> dict:
    """Socket thread: ``{"cmd": "learn", "target": ..., "graph", "dim", "mode", "timeout_s"}`` or ``"cancel": true``.

    Runs on the socket thread, not the main thread: it waits for the player's move
    while the main loop keeps running (and writes the file; see service/learning.py).
    """
    from ravebox.mapping.learnfile import LearnTarget

    if service is None:
        raise ServiceError("learn: the daemon is not running a mapping")
    target = request.get("target") or request.get("ref")
    if request.get("cancel") or target == "cancel":
        return service.cancel()
    if not isinstance(target, str) or not target:
        raise ServiceError("learn needs a target parameter: learn <target>, e.g. learn mix.wet")
    dim = request.get("dim")
    graph = request.get("graph")
    if (dim is not None and not isinstance(dim, int)) or (graph is not None and not isinstance(graph, str)):
        raise ServiceError("learn: graph must be a name and dim an integer")
    return service.request(LearnTarget(target, graph, dim), str(request.get("mode") or "ask"),
                           float(request.get("timeout_s") or 30.0))


_WORDS = {"true": 1.0, "on": 1.0, "false": 0.0, "off": 0.0}


def _setting(request: dict) -> tuple[str, float]:
    """``{"param": "mix.wet", "value": 0.5}``, or the shorthand line ``set mix.wet 0.5``."""
    param, value = request.get("param"), request.get("value")
    if param is None and isinstance(request.get("ref"), str):
        param, _, value = request["ref"].partition(" ")
    if not param or value in (None, ""):
        raise ServiceError("set needs a parameter and a value: set mix.wet 0.5 (keys as in a preset)")
    text = str(value).strip().lower()
    try:
        number = float(value) if isinstance(value, (int, float)) else _WORDS[text] if text in _WORDS else float(text)
    except ValueError:
        raise ServiceError(f"set {param}: {value!r} is not a number") from None
    return str(param), number


def _preset_name(request: dict) -> str:
    name = request.get("ref") or request.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ServiceError("save needs a preset name: save <name>")
    return name.strip()


def _preset_ref(request: dict) -> str | int:
    """``ref`` as given; a string of digits means a preset number."""
    ref = request.get("ref")
    if ref is None or ref == "":
        raise ServiceError("preset needs a name or number: preset <ref>")
    if isinstance(ref, str) and ref.isdigit():
        return int(ref)
    return ref
