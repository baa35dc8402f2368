import os
import socket

from ravebox.service.notify import Notifier


def test_no_notify_socket_means_no_op():
    notifier = Notifier(env={})
    assert not notifier.enabled
    assert notifier.ready("x") is False
    assert notifier.watchdog_usec is None


def test_datagram_payload_is_newline_separated_assignments(listener):
    notifier = Notifier(env=listener.env())
    assert notifier.ready("120.0 BPM locked")
    assert notifier.status("line one\nline two")
    assert listener.messages() == [
        {"READY": "1", "STATUS": "120.0 BPM locked"},
        {"STATUS": "line one line two"},
    ]
    notifier.close()
    notifier.close()


def test_abstract_namespace_address():
    name = f"ravebox-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(b"\0" + name.encode())
    try:
        assert Notifier(env={"NOTIFY_SOCKET": "@" + name}).stopping()
        assert server.recv(100) == b"STOPPING=1"
    finally:
        server.close()


def test_watchdog_usec_only_for_our_pid():
    assert Notifier(env={"WATCHDOG_USEC": "4000000"}).watchdog_usec == 4_000_000
    ours = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(env=ours).watchdog_usec == 4_000_000
    other = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}
    assert Notifier(env=other).watchdog_usec is None
    assert Notifier(env={"WATCHDOG_USEC": "junk"}).watchdog_usec is None


def test_send_failure_is_counted_not_raised(tmp_path, caplog):
    notifier = Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    assert notifier.failures == 2
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1
