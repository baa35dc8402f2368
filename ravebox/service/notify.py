"""A small sd_notify client: one datagram per state change to ``$NOTIFY_SOCKET``.

Why hand-written instead of a dependency: the systemd project documents the
datagram itself as the stable interface (sd_notify(3), "Notes") and advises
against linking libsystemd just for this; the pure-Python ``sdnotify`` package
is unmaintained since 2017 and hides every error. Here the whole protocol is:
a ``SOCK_DGRAM`` AF_UNIX socket, the address from ``$NOTIFY_SOCKET`` (a leading
``@`` means the Linux abstract namespace), newline-separated ``KEY=VALUE``
assignments as the payload. Credentials travel implicitly with AF_UNIX.

Thread: the main thread (the systemd observer's ``on_ready``/``on_tick``/
``on_stopping``), the thread that also runs reloads, commands and the socket's
requests. So a send never waits: it goes out with ``MSG_DONTWAIT``, and a
datagram the manager's queue has no room for (``EAGAIN``: a stuck or slow
reader) is dropped and counted (``dropped``, in status under ``systemd``),
not retried. systemd itself acts on what it misses: a lost ``WATCHDOG=1`` is
a late ping, never a frozen main loop.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends state strings to the service manager; a no-op when not under systemd.

    Failures never raise: a service that cannot notify is still a working
    synthesizer, and systemd will act on the missing READY/WATCHDOG itself.
    The first failure is logged once, later ones only counted; a datagram the
    manager had no room for is counted apart (``dropped``).
    """

    def __init__(self, address: str | None = None, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = address if address is not None else env.get("NOTIFY_SOCKET") or None
        self.watchdog_usec = _watchdog_usec(env)
        self.failures = 0
        self.dropped = 0
        self.sent = 0
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (``$NOTIFY_SOCKET`` was set)."""
        return self.address is not None

    def send(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines in one datagram; ``send(READY=1, STATUS="ok")``."""
        if not self.enabled:
            return False
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        try:
            self._socket().sendto(payload.encode("utf-8"), socket.MSG_DONTWAIT, _sockaddr(self.address or ""))
        except BlockingIOError:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("sd_notify to %s: the manager's queue is full, datagram dropped "
                            "(further drops are counted only)", self.address)
            return False
        except OSError as exc:
            self.failures += 1
            if self.failures == 1:
                log.warning("sd_notify to %s failed: %s (further failures are counted only)", self.address, exc)
            return False
        self.sent += 1
        return True

    def counts(self) -> dict[str, int]:
        """Datagrams sent, dropped (no room in the manager's queue) and failed otherwise."""
        return {"sent": self.sent, "dropped": self.dropped, "failures": self.failures}

    def ready(self, status: str | None = None) -> bool:
        return self.send(READY=1, **({"STATUS": status} if status else {}))

    def status(self, text: str) -> bool:
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def stopping(self, status: str | None = None) -> bool:
        return self.send(STOPPING=1, **({"STATUS": status} if status else {}))

    def close(self) -> None:
        """Idempotent."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        return self._sock


def _sockaddr(address: str) -> str | bytes:
    """``@name`` is the abstract namespace: a leading NUL byte on the wire."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode("utf-8")
    return address


def _one_line(value: object) -> str:
    """A newline would start a new assignment; STATUS must stay one line."""
    return " ".join(str(value).split("\n"))


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """``$WATCHDOG_USEC`` if it is meant for this process (``$WATCHDOG_PID`` unset or ours)."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
