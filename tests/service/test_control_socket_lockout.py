"""Nobody can lock the operators out of the control socket, and a refusal always says ok: false."""

from __future__ import annotations

import json
import socket

import pytest

from ravebox.service import control_socket
from ravebox.service.control_socket import MAX_CLIENTS, CommandTable, ControlClient, ControlServer


@pytest.fixture
def server(tmp_path):
    table = CommandTable({"status": lambda request: {"state": "running"},
                          "preset": lambda request: {"ok": False, "error": f"no preset {request.get('ref')!r}"}})
    with ControlServer(tmp_path / "control.sock", table) as srv:
        srv.start()
        yield srv


def _idle_clients(path, count: int, first: bytes = b"") -> list[socket.socket]:
    """Connections that answer one status request (so they hold a slot) and then go quiet."""
    held = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(b"status\n")
        assert json.loads(sock.makefile("rb").readline())["ok"] is True
        if first:
            sock.sendall(first)          # half a request, never finished
        held.append(sock)
    return held


def test_idle_clients_holding_every_slot_never_lock_out_an_operator(server):
    held = _idle_clients(server.path, MAX_CLIENTS, first=b'{"cmd": "sta')
    try:
        for _ in range(3):   # each new client takes the slot of the longest-waiting idle one
            with ControlClient(server.path) as client:
                assert client.request("status") == {"ok": True, "result": {"state": "running"}}
        assert server.evicted >= 1
        evicted = held[0]
        assert evicted.recv(4096) == b""                          # dropped, not left hanging
    finally:
        for sock in held:
            sock.close()


def test_a_client_that_never_completes_a_request_is_dropped(server, monkeypatch):
    monkeypatch.setattr(control_socket, "REQUEST_TIMEOUT_S", 0.3)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(server.path))
        sock.sendall(b"stat")                                    # and then nothing, ever
        assert sock.recv(4096) == b""


@pytest.mark.parametrize("document", [b'{"cmd": "status", "x": ' + b"[" * 50_000,
                                      b'{"cmd": "status", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"])
def test_json_nested_deeper_than_the_parser_goes_gets_an_error_answer(server, document):
    with ControlClient(server.path) as client:
        client._sock.sendall(document + b"\n")
        answer = json.loads(client._reader.readline())
        assert answer == {"ok": False, "error": "bad request: JSON nested too deep"}
        assert client.request("status")["ok"] is True             # the connection is still served


def test_a_handler_refusal_travels_as_ok_false(server):
    with ControlClient(server.path) as client:
        answer = client.request("preset", ref="nine")
    assert answer["ok"] is False and answer["error"] == "no preset 'nine'"
    assert answer["result"] == {"ok": False, "error": "no preset 'nine'"}
