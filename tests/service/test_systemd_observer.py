import logging

from ravebox.service.notify import Notifier
from ravebox.service.observers import CounterLogObserver, SystemdObserver, counters_of, status_line


def test_status_line_carries_tempo_lock_xruns_and_models(daemon):
    daemon.xruns = 3
    assert status_line(daemon.status()) == "123.4 BPM locked | xruns 3, late 0 | main:percussion"


def test_status_line_survives_an_empty_status():
    assert status_line({}) == "no tempo ? | xruns ?, late ? | no models"


def test_nothing_is_sent_before_ready(daemon, listener):
    observer = SystemdObserver(Notifier(env=listener.env()))
    observer.on_tick(daemon)
    observer.on_tick(daemon)
    assert listener.messages() == []


def test_ready_then_watchdog_while_healthy(daemon, listener):
    observer = SystemdObserver(Notifier(env=listener.env()))
    observer.on_ready(daemon)
    observer.on_tick(daemon)
    observer.on_tick(daemon)
    assert listener.messages() == [
        {"READY": "1", "STATUS": "123.4 BPM locked | xruns 0, late 0 | main:percussion"},
        {"WATCHDOG": "1"},
        {"WATCHDOG": "1"},
    ]


def test_watchdog_withheld_while_unhealthy_and_resumed_after(daemon, listener, caplog):
    observer = SystemdObserver(Notifier(env=listener.env()))
    observer.on_ready(daemon)
    listener.messages()
    daemon.healthy = (False, "inference worker stalled for 3.0 s")
    with caplog.at_level(logging.INFO):
        observer.on_tick(daemon)
        observer.on_tick(daemon)
        assert listener.messages() == [{"STATUS": "UNHEALTHY: inference worker stalled for 3.0 s"}]
        daemon.healthy = (True, "")
        observer.on_tick(daemon)
    assert listener.messages() == [
        {"WATCHDOG": "1"},
        {"STATUS": "123.4 BPM locked | xruns 0, late 0 | main:percussion"},
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "ravebox.service.observers"]
    assert logged == [
        "unhealthy, withholding the watchdog ping: inference worker stalled for 3.0 s",
        "healthy again; watchdog pings resume",
    ]


def test_health_check_that_raises_withholds_the_ping(daemon, listener):
    def broken():
        raise RuntimeError("worker gone")

    observer = SystemdObserver(Notifier(env=listener.env()))
    observer.on_ready(daemon)
    listener.messages()
    daemon.health = broken
    observer.on_tick(daemon)
    assert listener.messages() == [{"STATUS": "UNHEALTHY: health check raised RuntimeError: worker gone"}]


def test_status_sent_only_when_it_changes(daemon, listener):
    observer = SystemdObserver(Notifier(env=listener.env(watchdog_usec=None)))
    observer.on_ready(daemon)
    observer.on_tick(daemon)
    daemon.xruns = 1
    observer.on_tick(daemon)
    observer.on_tick(daemon)
    messages = listener.messages()
    assert messages[1:] == [{"STATUS": "123.4 BPM locked | xruns 1, late 0 | main:percussion"}]


def test_no_watchdog_pings_without_watchdog_usec(daemon, listener):
    observer = SystemdObserver(Notifier(env=listener.env(watchdog_usec=None)))
    observer.on_ready(daemon)
    observer.on_tick(daemon)
    assert [m for m in listener.messages() if "WATCHDOG" in m] == []


def test_stopping(daemon, listener):
    observer = SystemdObserver(Notifier(env=listener.env()))
    observer.on_ready(daemon)
    listener.messages()
    observer.on_stopping(daemon)
    observer.on_tick(daemon)
    assert listener.messages() == [{"STOPPING": "1", "STATUS": "stopping"}]


def test_counter_summary_logs_increments_per_interval(daemon, caplog):
    now = [100.0]
    observer = CounterLogObserver(interval_s=60, clock=lambda: now[0])
    daemon.xruns = 2
    with caplog.at_level(logging.INFO, logger="ravebox.service.observers"):
        observer.on_ready(daemon)
        daemon.xruns = 5
        observer.on_tick(daemon)  # interval not over: silent
        now[0] = 161.0
        observer.on_tick(daemon)
        now[0] = 222.0
        observer.on_tick(daemon)  # nothing moved: silent
        daemon.late = 1
        observer.on_stopping(daemon)
    assert [r.getMessage() for r in caplog.records] == [
        "in the last 60s: xruns +3 (total 5)",
        "since the last summary: late_blocks +1 (total 1)",
    ]


def test_counters_prefer_the_counters_table():
    assert counters_of({"xruns": 1, "counters": {"midi_garbage": 4, "name": "x"}}) == {"midi_garbage": 4}
    assert counters_of({"xruns": 1, "late_blocks": 2}) == {"xruns": 1, "late_blocks": 2}


def test_default_observers_and_the_hang_hook(tmp_path, daemon):
    import argparse

    from ravebox.service.observers import DebugHangObserver, default_observers
    from ravebox.service.socket_observer import ControlSocketObserver

    plain = default_observers(env={})
    assert [type(o).__name__ for o in plain] == ["SystemdObserver", "ControlSocketObserver", "CounterLogObserver",
                                              "PresetRecallObserver"]
    assert plain[1].path == "/run/ravebox/control.sock"
    args = argparse.Namespace(control_socket=str(tmp_path / "c.sock"))
    hooked = default_observers(args.control_socket, env={"RAVEBOX_DEBUG_HANG_FILE": str(tmp_path / "hang")})
    assert isinstance(hooked[1], ControlSocketObserver) and hooked[1].path == str(tmp_path / "c.sock")
    hang = hooked[-1]
    assert isinstance(hang, DebugHangObserver)
    calls = []
    daemon.debug_hang_worker = lambda: calls.append("hang")
    hang.on_tick(daemon)
    assert calls == []
    (tmp_path / "hang").touch()
    hang.on_tick(daemon)
    hang.on_tick(daemon)
    assert calls == ["hang"] and not (tmp_path / "hang").exists()
