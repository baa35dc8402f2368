import os
import socket
import threading

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


def test_a_reader_that_never_reads_costs_drops_never_a_frozen_sender(tmp_path):
    """The manager's queue full (a stuck reader): each send returns at once, dropped and counted; the send
    before the fix blocked the main loop for good once the queue had filled."""
    path = tmp_path / "stuck.sock"
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(path))                         # bound, never read
    notifier = Notifier(env={"NOTIFY_SOCKET": str(path)})
    outcomes: list[bool] = []
    sender = threading.Thread(target=lambda: outcomes.extend(notifier.watchdog() for _ in range(5000)), daemon=True)
    try:
        sender.start()
        sender.join(120)                           # a hang bound, not a timing: the old send never returned
        assert not sender.is_alive(), "the send blocked on a full queue"
        assert len(outcomes) == 5000
        counts = notifier.counts()
        assert counts["dropped"] > 0 and counts["failures"] == 0
        assert counts["sent"] + counts["dropped"] == 5000 == outcomes.count(True) + outcomes.count(False)
        assert counts["sent"] == outcomes.count(True)
        # the reader wakes up: what it gets is what was counted as sent, and sending works again
        reader.setblocking(False)
        got = 0
        while True:
            try:
                assert reader.recv(64) == b"WATCHDOG=1"
                got += 1
            except BlockingIOError:
                break
        assert got == counts["sent"]
        assert notifier.watchdog() and notifier.counts()["sent"] == got + 1
    finally:
        reader.close()
        notifier.close()


def test_the_systemd_observer_reports_the_notifier_counts(tmp_path):
    from ravebox.service.observers import SystemdObserver

    observer = SystemdObserver(Notifier(env={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")}))
    observer.notifier.status("x")
    assert observer.status() == {"enabled": True, "sent": 0, "dropped": 0, "failures": 1}
    assert SystemdObserver(Notifier(env={})).status() == {"enabled": False, "sent": 0, "dropped": 0, "failures": 0}
