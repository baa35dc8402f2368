"""OSC against the running daemon on a dummy jackd: opt-in, and a parameter set over UDP reaches the store
(and its controller feedback); without [osc] the process opens no network socket at all."""

from __future__ import annotations

import os
import re
import socket

import pytest
from pythonosc.udp_client import SimpleUDPClient

from ravebox.params.table import ParamKey
from tests.host.daemonkit import running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def inet_sockets_of_this_process() -> set[str]:
    """Inodes of this process's open sockets that are IPv4/IPv6 TCP or UDP sockets."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", link)
        if match:
            mine.add(match.group(1))
    inet = set()
    for table in ("tcp", "udp", "tcp6", "udp6"):
        try:
            lines = open(f"/proc/self/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        inet.update(line.split()[9] for line in lines)
    return mine & inet


def test_osc_sets_parameters_only_when_configured(jack_server, tmp_path):
    before = inet_sockets_of_this_process()
    plain = write_box(tmp_path)
    with running_daemon(plain, jack_server.name, PassEngine.factory()) as daemon:
        assert daemon.osc is None and daemon.status()["osc"] is None
        assert inet_sockets_of_this_process() == before          # off by default: no network listener
    port = free_port()
    (tmp_path / "osc").mkdir()
    box = write_box(tmp_path / "osc", sections=f"[osc]\nport = {port}\n")
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        assert daemon.status()["osc"]["listening"] == f"127.0.0.1:{port}"
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/ravebox/param/main/mix.wet", 0.25)
        client.send_message("/ravebox/param/latent.bias/3", -1.0)
        key = ParamKey("mix.wet", "main")
        assert wait_for(lambda: daemon.store.target(key) == 0.25)
        assert wait_for(lambda: daemon.store.target(ParamKey("latent.bias", "main", 3)) == -1.0)
        client.send_message("/ravebox/param/mix.wte", 0.5)
        assert wait_for(lambda: daemon.status()["osc"]["errors"] == 1)
        assert "did you mean 'mix.wet'" in daemon.status()["osc"]["last_error"]
        client._sock.close()                                     # the test's own sending socket
    assert inet_sockets_of_this_process() == before              # closed with the daemon
