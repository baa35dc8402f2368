"""The ``[osc]`` table of a box config: OSC control over UDP (python-osc), off unless ``port`` is given.

Example::

    [osc]
    port = 9000                      # listen here; no [osc] table (or no port): no network listener at all
    host = "127.0.0.1"               # the default: only this machine; "0.0.0.0" for a tablet on the LAN
    feedback_to = ["127.0.0.1:9001"] # where parameter changes are sent (host:port), optional

Under the bundled systemd unit the daemon has no network (``PrivateNetwork=yes``,
``RestrictAddressFamilies=AF_UNIX AF_NETLINK``); enabling OSC needs the drop-in
described in docs/dedicated-box.md. Parsed on the main thread; never raises itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.schema import INVALID, Integer, is_table, unknown_keys

KEYS = ("port", "host", "feedback_to")
PORT = Integer(1, 65535)   # a UDP port number


@dataclass(frozen=True, slots=True)
class OscSettings:
    """``port`` None = OSC off. ``feedback_to``: ``(host, port)`` pairs parameter changes go to."""

    port: int | None = None
    host: str = "127.0.0.1"
    feedback_to: tuple[tuple[str, int], ...] = ()

    @property
    def enabled(self) -> bool:
        return self.port is not None


def parse(table: object, diags: Diagnostics, prefix: str = "osc") -> OscSettings:
    """Validate an ``[osc]`` table; every problem goes to ``diags``."""
    if not is_table(table, diags, prefix):
        return OscSettings()
    unknown_keys(table, KEYS, diags, prefix)
    values: dict = {}
    for key, value in table.items():
        path = f"{prefix}.{key}"
        if key == "port":
            if PORT.check(value, diags, path) is not INVALID:
                values[key] = value
        elif key == "host":
            if _address(value):
                values[key] = value
            else:
                diags.error(path, f"must be an IP address to listen on (\"127.0.0.1\", \"0.0.0.0\"), not {value!r}")
        elif key == "feedback_to":
            targets = _targets(value, diags, path)
            if targets is not None:
                values[key] = targets
    return OscSettings(**values)


def _port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _address(value: object) -> bool:
    try:
        ipaddress.ip_address(value)  # type: ignore[arg-type]
        return True
    except ValueError:
        return False


def _targets(value: object, diags: Diagnostics, path: str) -> tuple[tuple[str, int], ...] | None:
    if not isinstance(value, list):
        diags.error(path, 'must be a list of "host:port" strings')
        return None
    out = []
    for i, item in enumerate(value):
        host, sep, port = item.rpartition(":") if isinstance(item, str) else ("", "", "")
        if not sep or not _address(host) or not port.isdigit() or not _port(int(port)):
            diags.error(f"{path}[{i}]", f'must be "host:port" with an IP address, not {item!r}')
            continue
        out.append((host, int(port)))
    return tuple(out)
