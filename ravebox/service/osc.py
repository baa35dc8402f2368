"""OSC control (opt-in): parameters, presets and MIDI learn over UDP, and parameter changes sent back.

Why python-osc: it is the maintained pure-Python OSC implementation (message
and bundle parsing, address dispatch, a threaded UDP server, a UDP client);
nothing here re-implements the wire format.

Addresses (arguments after the address):

- ``/ravebox/param/<key> value``: set a parameter. ``<key>`` is written as in a
  preset file: ``mix.wet`` (every graph), ``main/mix.wet`` (one graph),
  ``latent.bias[3]`` or ``latent.bias/3`` (one dimension), ``main/latent.bias/3``.
- ``/ravebox/preset <name|number>``: recall a preset.
- ``/ravebox/learn <target> [graph] [dim]``: MIDI learn (the next controller
  message is written to the mapping file); the outcome is sent back to the
  sender as ``/ravebox/learn/result ok message``.

Problems (an unknown address or parameter, a missing value) are counted,
logged once per kind and answered to the sender as ``/ravebox/error message``;
they never reach the audio.

Feedback: with ``feedback_to`` targets, every parameter whose target changed is
sent as ``/ravebox/param/<key> value`` (at most every ``FEEDBACK_S``).

Threads: the UDP server runs on its own thread (``ravebox-osc``), which parses,
validates and *posts* the change to the control thread (the store's one writer)
without waiting; a learn waits on a short-lived thread of its own.
Why one thread and no timetags: datagrams are handled one after another in the
order they arrive (python-osc's threading server gave each its own thread, so a
fader sweep could land out of order and end on a stale value), and a bundle's
timetag is not waited for (python-osc would sleep the server until then, so one
bundle dated next year would stop OSC control; a flood of them, with threads,
would pile up sleeping threads).
:meth:`OscService.poll` (feedback) runs on the daemon's main thread.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from ravebox.config.osc import OscSettings
from ravebox.config.diagnostics import did_you_mean
from ravebox.errors import RaveboxError, ServiceError
from ravebox.params.table import PARAMS, ParamKey, ParamScope

log = logging.getLogger("ravebox.osc")

PREFIX = "/ravebox"
FEEDBACK_S = 0.05
KEY = re.compile(r"^(?:(?P<graph>[^/\[\]]+)/)?(?P<name>[A-Za-z0-9_.]+)(?:\[(?P<dim>\d+)\])?$")


def parse_key(text: str, graphs: dict[str, int]) -> ParamKey:
    """``main/latent.bias/3`` -> ParamKey; ServiceError with did-you-mean when it names nothing here."""
    head, slash, last = text.rpartition("/")
    if slash and last.isdigit():                 # main/latent.bias/3 -> main/latent.bias[3]
        text = f"{head}[{last}]"
    match = KEY.match(text)
    if match is None:
        raise ServiceError(f"not a parameter key: {text!r} (e.g. mix.wet, main/mix.wet, latent.bias/3)")
    name, graph, dim = match["name"], match["graph"], match["dim"]
    if name not in PARAMS:
        raise ServiceError(f"unknown parameter {name!r}{did_you_mean(name, PARAMS)}")
    spec = PARAMS[name]
    if graph is not None and graph not in graphs:
        raise ServiceError(f"unknown graph {graph!r}{did_you_mean(graph, graphs)}")
    if dim is not None and (spec.scope is not ParamScope.DIM or int(dim) >= max(graphs.values(), default=0)):
        raise ServiceError(f"{name} has no dimension {dim}")
    if spec.scope is ParamScope.BOX and graph is not None:
        raise ServiceError(f"{name} is one value for the whole box (no graph)")
    return ParamKey(name, graph, int(dim) if dim is not None else None)


class OscService:
    """The OSC listener and feedback sender. ``start()`` binds (ServiceError with the reason), ``close()`` stops.

    ``set_param(key, value)``, ``recall(ref)`` and ``learn(target, graph, dim) -> dict`` are the daemon's
    actions (the first two post to the control thread and return at once).
    """

    def __init__(self, settings: OscSettings, graphs: dict[str, int], set_param: Callable[[ParamKey, float], None],
                 recall: Callable[[str | int], None], learn: Callable[[str, str | None, int | None], dict],
                 snapshot: Callable[[], dict[str, float]]) -> None:
        self.settings = settings
        self.graphs = dict(graphs)
        self._set, self._recall, self._learn, self._snapshot = set_param, recall, learn, snapshot
        self.server: BlockingOSCUDPServer | None = None
        self._thread: threading.Thread | None = None
        self._clients = [SimpleUDPClient(host, port) for host, port in settings.feedback_to]
        self._sent: dict[str, float] = {}
        self._next_feedback = 0.0
        self.received = 0
        self.errors = 0
        self.last_error = ""

    # -- main thread -------------------------------------------------------------------------
    def start(self) -> "OscService":
        dispatcher = Dispatcher(strict_timing=False)
        dispatcher.set_default_handler(self._on_message, needs_reply_address=True)
        try:
            self.server = BlockingOSCUDPServer((self.settings.host, int(self.settings.port)), dispatcher)
        except OSError as exc:
            raise ServiceError(f"OSC: cannot listen on {self.settings.host}:{self.settings.port}: {exc} (under the "
                               "bundled systemd unit the daemon has no network: see docs/dedicated-box.md, OSC)") from exc
        self._thread = threading.Thread(target=self.server.serve_forever, name="ravebox-osc", daemon=True)
        self._thread.start()
        log.info("OSC listening on %s:%d (udp)%s", self.settings.host, self.address[1],
                 "; parameter changes to " + ", ".join(f"{h}:{p}" for h, p in self.settings.feedback_to)
                 if self._clients else "")
        return self

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address if self.server else (self.settings.host, self.settings.port or 0)

    def poll(self) -> None:
        """Main thread: send the parameters whose targets changed to ``feedback_to`` (every FEEDBACK_S)."""
        if not self._clients or time.monotonic() < self._next_feedback:
            return
        self._next_feedback = time.monotonic() + FEEDBACK_S
        for key, value in self._snapshot().items():
            if self._sent.get(key) != value:
                self._sent[key] = value
                for client in self._clients:
                    try:
                        client.send_message(f"{PREFIX}/param/{key}", float(value))
                    except OSError as exc:
                        self._problem(f"feedback to {client._address}:{client._port}: {exc}")

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -- OSC server thread --------------------------------------------------------------------
    def _on_message(self, sender: tuple[str, int], address: str, *args: object) -> None:
        self.received += 1
        try:
            self._dispatch(sender, address, args)
        except RaveboxError as exc:
            self._problem(f"{address}: {exc}")
            self._reply(sender, f"{PREFIX}/error", f"{address}: {exc}")

    def _dispatch(self, sender: tuple[str, int], address: str, args: tuple) -> None:
        if address.startswith(f"{PREFIX}/param/"):
            key = parse_key(address[len(PREFIX) + 7:], self.graphs)
            self._set(key, _number(args, address))
        elif address == f"{PREFIX}/preset":
            if len(args) != 1:
                raise ServiceError("needs one argument: a preset name or number")
            ref = args[0]
            self._recall(int(ref) if isinstance(ref, (int, float)) and not isinstance(ref, bool) else str(ref))
        elif address == f"{PREFIX}/learn":
            self._start_learn(sender, args)
        else:
            raise ServiceError(f"unknown address (known: {PREFIX}/param/<key>, {PREFIX}/preset, {PREFIX}/learn)")

    def _start_learn(self, sender: tuple[str, int], args: tuple) -> None:
        if not args or not isinstance(args[0], str):
            raise ServiceError("needs a target parameter: /ravebox/learn mix.wet [graph] [dim]")
        graph = args[1] if len(args) > 1 and isinstance(args[1], str) and args[1] else None
        dim = int(args[2]) if len(args) > 2 and isinstance(args[2], (int, float)) else None

        def run() -> None:
            try:
                answer = self._learn(args[0], graph, dim)
            except RaveboxError as exc:
                answer = {"ok": False, "error": str(exc)}
            text = answer.get("message") or answer.get("error") or ""
            self._reply(sender, f"{PREFIX}/learn/result", 1 if answer.get("ok") else 0, text)
        threading.Thread(target=run, name="ravebox-osc-learn", daemon=True).start()

    def _reply(self, sender: tuple[str, int], address: str, *args: object) -> None:
        try:
            if self.server is not None:
                from pythonosc.osc_message_builder import OscMessageBuilder

                builder = OscMessageBuilder(address)
                for arg in args:
                    builder.add_arg(arg)
                self.server.socket.sendto(builder.build().dgram, sender)
        except OSError:
            pass

    def _problem(self, text: str) -> None:
        # last_error before the count: a status reader that sees the count raised also sees its reason
        if text != self.last_error:
            log.warning("OSC %s", text)
        self.last_error = text
        self.errors += 1

    # -- any thread --------------------------------------------------------------------------------
    def status(self) -> dict:
        host, port = self.address
        return {"listening": f"{host}:{port}", "received": self.received, "errors": self.errors,
                "last_error": self.last_error or None}


def _number(args: tuple, address: str) -> float:
    if len(args) != 1 or isinstance(args[0], (str, bytes)) or args[0] is None:
        raise ServiceError("needs one number")
    value = float(args[0])
    if not math.isfinite(value):
        raise ServiceError(f"not a finite number: {value}")
    return value
