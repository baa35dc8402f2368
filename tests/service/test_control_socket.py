import json
import os
import socket
import stat
import threading

import pytest

from ravebox.errors import ServiceError
from ravebox.service.control_socket import (
    CommandTable,
    ControlClient,
    ControlServer,
    MainThreadCalls,
    default_path,
    parse_request,
)
from ravebox.service.socket_observer import ControlSocketObserver


class MainLoop:
    """Stands in for the daemon's main thread: ticks the observer until stopped."""

    def __init__(self, observer, daemon):
        self.observer, self.daemon = observer, daemon
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fake-main")

    def _run(self):
        while not self.stop.wait(0.01):
            self.observer.on_tick(self.daemon)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


@pytest.fixture
def served(tmp_path, daemon):
    observer = ControlSocketObserver(str(tmp_path / "run" / "control.sock"))
    observer.on_ready(daemon)
    with MainLoop(observer, daemon):
        yield observer
    observer.on_stopping(daemon)


def test_socket_mode_0660_owned_by_us_in_a_0750_folder(served):
    st = os.stat(served.path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert stat.S_IMODE(os.stat(os.path.dirname(served.path)).st_mode) == 0o750


def test_status_returns_the_daemon_snapshot(served, daemon):
    with ControlClient(served.path) as client:
        answer = client.request("status")
    assert answer["ok"] is True
    assert answer["result"]["clock"] == {"tempo_bpm": 123.4, "lock": "locked", "transport": "playing", "beat": 8.5}
    assert answer["result"]["graphs"][0]["models"] == ["percussion"]


def test_reload_runs_on_the_main_thread_and_reports_config_errors(served, daemon):
    with ControlClient(served.path) as client:
        first = client.request("reload")
        second = client.request("reload")
    assert first == {"ok": True, "result": {"ok": True, "mapping": "/etc/ravebox/mapping.toml"}}
    assert second == {"ok": False, "error": "mapping.toml:3: cc.7: channel must be in range 1..16"}
    assert daemon.threads["reload"] == "fake-main"


def test_preset_by_name_and_number(served, daemon):
    with ControlClient(served.path) as client:
        assert client.request("preset", ref="verse") == {"ok": True, "result": {"preset": "verse"}}
        assert client.request("preset", ref="3") == {"ok": True, "result": {"preset": 3}}
        assert client.request("preset", ref="missing") == {"ok": False, "error": "no preset 'missing'"}
        assert client.request("preset") == {"ok": False, "error": "preset needs a name or number: preset <ref>"}
    assert daemon.preset == 3
    assert daemon.threads["preset"] == "fake-main"


def test_panic(served, daemon):
    with ControlClient(served.path) as client:
        assert client.request("panic") == {"ok": True, "result": {"muted": True, "reset": ["main"]}}
    assert daemon.panics == 1
    assert daemon.threads["panic"] == "fake-main"


def test_unknown_command_and_bad_json(served):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(served.path)
        reader = sock.makefile("rb")
        sock.sendall(b"volume 11\n")
        unknown = json.loads(reader.readline())
        sock.sendall(b"{not json\n")
        bad = json.loads(reader.readline())
        sock.sendall(b"panic\n")
        bare = json.loads(reader.readline())
    assert unknown == {"ok": False, "error": "unknown command 'volume' "
                                             "(commands: help, learn, panic, preset, presets, record, reload, save, set, status)"}
    assert bad["ok"] is False and bad["error"].startswith("bad request: ")
    assert bare["ok"] is True


def test_several_requests_on_one_connection(served, daemon):
    with ControlClient(served.path) as client:
        tempos = [client.request("status")["result"]["clock"]["tempo_bpm"] for _ in range(5)]
    assert tempos == [123.4] * 5


def test_handler_bug_answers_an_internal_error():
    def broken(request):
        raise KeyError("x")

    assert CommandTable({"status": broken}).answer("status") == {"ok": False, "error": "internal error: KeyError: 'x'"}


def test_main_thread_call_times_out_when_nobody_ticks():
    calls = MainThreadCalls(timeout_s=0.05)
    with pytest.raises(ServiceError, match="main loop did not answer within 0.05 s"):
        calls.call(lambda: {"never": True})
    assert calls.run_pending() == 0  # the cancelled call is not run late


def test_stop_removes_the_socket(tmp_path, daemon):
    observer = ControlSocketObserver(str(tmp_path / "control.sock"))
    observer.on_ready(daemon)
    observer.on_stopping(daemon)
    observer.on_stopping(daemon)
    assert not os.path.lexists(tmp_path / "control.sock")


def test_stale_socket_is_replaced_but_a_live_one_refused(tmp_path):
    path = tmp_path / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    with ControlServer(path, CommandTable({})).start():
        with pytest.raises(ServiceError, match="another ravebox already answers"):
            ControlServer(path, CommandTable({}))


def test_a_regular_file_in_the_way_is_refused(tmp_path):
    (tmp_path / "control.sock").write_text("x")
    with pytest.raises(ServiceError, match="exists and is not a socket"):
        ControlServer(tmp_path / "control.sock", CommandTable({}))


def test_client_explains_a_missing_socket(tmp_path):
    with pytest.raises(ServiceError, match="no socket there: is ravebox running"):
        ControlClient(tmp_path / "none.sock")


def test_parse_request_and_default_path():
    assert parse_request("preset  verse ") == {"cmd": "preset", "ref": "verse"}
    assert parse_request('{"cmd": "status"}') == {"cmd": "status"}
    with pytest.raises(ValueError):
        parse_request('{"cmd": 3}')
    assert default_path({}) == "/run/ravebox/control.sock"
    assert default_path({"RAVEBOX_CONTROL_SOCKET": "/tmp/x.sock"}) == "/tmp/x.sock"


def test_an_unwritable_socket_path_is_one_clear_log_line(tmp_path, daemon, caplog):
    """Not a traceback: the box keeps playing, the log says where and what to change."""
    locked = tmp_path / "locked"
    locked.write_text("a file, so nothing can be created below it\n")
    observer = ControlSocketObserver(str(locked / "run" / "control.sock"))
    with caplog.at_level("ERROR"):
        observer.on_ready(daemon)
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info is None
    assert f"cannot create the control socket {locked}/run/control.sock" in record.getMessage()
    assert "RAVEBOX_CONTROL_SOCKET" in record.getMessage()
    observer.on_stopping(daemon)
