"""The control socket: JSON lines over a Unix stream socket, no network listener.

Why a Unix socket: on a box reached over SSH, file permissions are the access
control. The socket is created mode 0660, owned by the service user and its
group, inside a 0750 runtime directory; an operator joins the service group to
use ``ravebox status``. Nothing ever listens on an IP address.

Wire format, one request and one answer per line (UTF-8 JSON objects)::

    {"cmd": "status"}                -> {"ok": true, "result": {...}}
    {"cmd": "preset", "ref": "2"}    -> {"ok": false, "error": "no preset '2'"}

A bare word line (``status``, ``preset 2``) is accepted too, so that
``socat - UNIX-CONNECT:/run/ravebox/control.sock`` works as a last resort.
A refusal is always ``{"ok": false, "error": ...}`` (a handler's own
``{"ok": false}`` result is lifted into the envelope, the result kept beside it).

Why nobody can lock the operators out: a client must complete each request
line within :data:`REQUEST_TIMEOUT_S` of connecting or of its last answer, or
it is dropped; and when all :data:`MAX_CLIENTS` slots are taken, a new client
takes the slot of the connection that has waited longest for a request (one
running a command is never dropped). A request nested too deep for the JSON
parser gets an error answer like any other bad request.

Threads: one acceptor thread, plus one short-lived thread per connection
(``socketserver``'s threading mix-in). Handlers run on those threads; the
caller decides which handlers hop to the main thread (see
:class:`MainThreadCalls`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import queue
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ravebox.errors import RaveboxError, ServiceError

log = logging.getLogger(__name__)

DEFAULT_PATH = "/run/ravebox/control.sock"
ENV_PATH = "RAVEBOX_CONTROL_SOCKET"
MAX_LINE = 64 * 1024
REQUEST_TIMEOUT_S = 5.0
MAX_CLIENTS = 8

Handler = Callable[[dict], dict]


def default_path(env: Mapping[str, str] | None = None) -> str:
    """``$RAVEBOX_CONTROL_SOCKET`` or ``/run/ravebox/control.sock``."""
    env = os.environ if env is None else env
    return env.get(ENV_PATH) or DEFAULT_PATH


def parse_request(line: str) -> dict:
    """A JSON object, or ``word [arg]`` shorthand (``preset 2`` -> cmd preset, ref 2)."""
    line = line.strip()
    if line.startswith("{"):
        try:
            request = json.loads(line)
        except RecursionError:
            raise ValueError("JSON nested too deep") from None
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            raise ValueError('a request must be a JSON object with a string "cmd"')
        return request
    word, _, rest = line.partition(" ")
    return {"cmd": word, **({"ref": rest.strip()} if rest.strip() else {})}


class CommandTable:
    """Command name -> handler; turns every outcome into one answer object."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = dict(handlers)

    def answer(self, line: str) -> dict:
        try:
            request = parse_request(line)
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        handler = self.handlers.get(request["cmd"])
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return {"ok": False, "error": f"unknown command '{request['cmd']}' (commands: {known})"}
        try:
            result = handler(request)
        except RaveboxError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug in a handler must not kill the socket thread
            log.exception("control command %r failed", request["cmd"])
            return {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}
        if isinstance(result, dict) and result.get("ok") is False:
            reason = result.get("error") or result.get("message") or "refused"
            return {"ok": False, "error": str(reason), "result": result}
        return {"ok": True, "result": result}


class MainThreadCalls:
    """Runs calls on the main thread: socket threads submit, ``run_pending`` executes.

    Why: ``reload``, ``preset`` and ``panic`` change daemon state that the main
    thread owns. The main thread drains this queue from ``on_tick`` (about once
    a second), so such a command answers within about a second, or times out
    with a clear error if the main loop is stuck.
    """

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self._calls: queue.SimpleQueue[tuple[Callable[[], dict], concurrent.futures.Future]] = queue.SimpleQueue()

    def call(self, fn: Callable[[], dict]) -> dict:
        """Socket thread: wait for the main thread to run ``fn``; re-raise its error."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((fn, future))
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ServiceError(f"the daemon's main loop did not answer within {self.timeout_s:g} s") from None

    def run_pending(self) -> int:
        """Main thread: run every queued call; returns how many ran."""
        ran = 0
        while True:
            try:
                fn, future = self._calls.get_nowait()
            except queue.Empty:
                return ran
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)
                ran += 1


class _Connection(socketserver.BaseRequestHandler):
    """Connection thread: answers request lines until the client hangs up, dawdles or is evicted."""

    def setup(self) -> None:
        self.waiting_since: float | None = None   # set while waiting for a request line
        self._buffer = b""

    def handle(self) -> None:
        server: ControlServer = self.server  # type: ignore[assignment]
        if not server.admit(self):
            self._write({"ok": False, "error": f"too many control clients busy (max {MAX_CLIENTS})"})
            return
        try:
            self._serve(server.table)
        finally:
            server.leave(self)

    def _serve(self, table: CommandTable) -> None:
        while True:
            line = self._read_line()
            if line is None:
                return
            if len(line) > MAX_LINE:
                self._write({"ok": False, "error": f"request longer than {MAX_LINE} bytes"})
                return
            if line.strip():
                self._write(table.answer(line.decode("utf-8", "replace")))

    def _read_line(self) -> bytes | None:
        """One line, complete within REQUEST_TIMEOUT_S; None when the client is gone or too slow."""
        self.waiting_since = start = time.monotonic()
        try:
            while b"\n" not in self._buffer and len(self._buffer) <= MAX_LINE:
                left = start + REQUEST_TIMEOUT_S - time.monotonic()
                if left <= 0:
                    return None
                self.request.settimeout(left)
                chunk = self.request.recv(4096)
                if not chunk:
                    return None
                self._buffer += chunk
        except OSError:  # a timeout, or evicted (shut down) by a newer client
            return None
        finally:
            self.waiting_since = None
        line, sep, rest = self._buffer.partition(b"\n")
        self._buffer = rest
        return line + sep

    def evict(self) -> None:
        """Any thread: end this connection's wait for a request (its slot is wanted)."""
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, answer: dict) -> None:
        try:
            self.request.settimeout(REQUEST_TIMEOUT_S)
            self.request.sendall(json.dumps(answer, default=str).encode("utf-8") + b"\n")
        except (OSError, ValueError):
            pass


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The listening socket and its acceptor thread. Context manager; ``close()`` is idempotent."""

    daemon_threads = True

    def __init__(self, path: str | os.PathLike, table: CommandTable, mode: int = 0o660) -> None:
        self.path = Path(path)
        self.table = table
        self.mode = mode
        self._clients: list[_Connection] = []
        self.evicted = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        try:
            _prepare_path(self.path)
            super().__init__(str(self.path), _Connection)
            os.chmod(self.path, mode)
        except OSError as exc:
            raise ServiceError(f"cannot create the control socket {self.path}: {exc.strerror or exc} "
                               f"(set ${ENV_PATH} or --control-socket to a writable place)") from exc

    def start(self) -> "ControlServer":
        self._thread = threading.Thread(target=self.serve_forever, name="control-socket", daemon=True)
        self._thread.start()
        log.info("control socket listening on %s (mode %o)", self.path, self.mode)
        return self

    def admit(self, connection: _Connection) -> bool:
        """Connection thread: take a slot, evicting the longest-waiting idle client when full;
        False only when every slot is busy running a command."""
        with self._lock:
            if len(self._clients) >= MAX_CLIENTS:
                idle = [c for c in self._clients if c.waiting_since is not None]
                if not idle:
                    return False
                oldest = min(idle, key=lambda c: c.waiting_since or 0.0)
                self._clients.remove(oldest)
                oldest.evict()
                self.evicted += 1
            self._clients.append(connection)
            return True

    def leave(self, connection: _Connection) -> None:
        with self._lock:
            if connection in self._clients:
                self._clients.remove(connection)

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        if self.socket.fileno() >= 0:
            self.server_close()
            _unlink_socket(self.path)

    def __enter__(self) -> "ControlServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _prepare_path(path: Path) -> None:
    """Create the parent folder (0750) and remove a stale socket; refuse a live one."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    if not os.path.lexists(path):
        return
    if not stat.S_ISSOCK(os.lstat(path).st_mode):
        raise ServiceError(f"control socket path {path} exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody answers: left over from a crash
            return
    raise ServiceError(f"another ravebox already answers on {path}")


def _unlink_socket(path: Path) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            path.unlink()
    except FileNotFoundError:
        pass


class ControlClient:
    """The client side (``ravebox status``): one connection, one request per line.

    Thread: whichever thread uses it; not shared between threads.
    """

    def __init__(self, path: str | os.PathLike, timeout_s: float = 10.0) -> None:
        self.path = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout_s)
        try:
            self._sock.connect(self.path)
        except OSError as exc:
            self._sock.close()
            raise ServiceError(_connect_hint(self.path, exc)) from exc
        self._reader = self._sock.makefile("rb")

    def request(self, cmd: str, **fields: object) -> dict:
        """Send one request; return the answer object (``ok`` and ``result`` or ``error``)."""
        line = json.dumps({"cmd": cmd, **fields}).encode("utf-8") + b"\n"
        try:
            self._sock.sendall(line)
            answer = self._reader.readline(16 * MAX_LINE)
        except OSError as exc:
            raise ServiceError(f"lost the connection to {self.path}: {exc}") from exc
        if not answer:
            raise ServiceError(f"{self.path} closed the connection without answering")
        return json.loads(answer)

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_hint(path: str, exc: OSError) -> str:
    """Name the likely cause, since this is what an operator sees over SSH."""
    if isinstance(exc, FileNotFoundError):
        why = "no socket there: is ravebox running and ready? (systemctl status ravebox)"
    elif isinstance(exc, PermissionError):
        why = "permission denied: add yourself to the service group (sudo usermod -aG ravebox $USER) and log in again"
    elif isinstance(exc, ConnectionRefusedError):
        why = "connection refused: the socket is stale, ravebox is not running"
    else:
        why = str(exc)
    return f"cannot reach ravebox at {path}: {why}"
