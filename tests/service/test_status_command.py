import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

from ravebox.service import cli
from ravebox.service.commands import status as status_command
from ravebox.service.socket_observer import ControlSocketObserver


@pytest.fixture
def sock(tmp_path, daemon):
    """A control socket on a fake daemon, with a fake main loop running the queued calls."""
    observer = ControlSocketObserver(str(tmp_path / "control.sock"))
    observer.on_ready(daemon)
    stop = threading.Event()
    main = threading.Thread(target=lambda: [observer.on_tick(daemon) for _ in iter(lambda: stop.wait(0.01), True)])
    main.start()
    yield observer.path
    stop.set()
    main.join()
    observer.on_stopping(daemon)


def ravebox_status(*argv: str) -> tuple[int, str]:
    args = cli.build_parser(["status", *argv]).parse_args(["status", *argv])
    out = io.StringIO()
    return status_command.run(args, out=out), out.getvalue()


def test_text_status_shows_every_section(sock):
    code, text = ravebox_status("--socket", sock)
    assert code == 0
    assert text.splitlines() == [
        "state        running",
        "tempo        123.4 BPM (locked)",
        "transport    playing",
        "gate step    main 3",
        "late blocks  0",
        "xruns        0",
        "latency      2304 frames / 48.0 ms",
        "mapping      /etc/ravebox/mapping.toml (reloaded at 10:31:02: 12 rules)",
        "graph        main: percussion  12.5 ms per block of 42.7 ms",
        "param        main.temperature = 0.500",
    ]


def test_json_status(sock):
    code, text = ravebox_status("--json", "--socket", sock)
    assert code == 0
    assert json.loads(text)["clock"]["tempo_bpm"] == 123.4


def test_commands_through_the_cli(sock, daemon):
    assert ravebox_status("preset", "verse", "--socket", sock) == (0, "preset: preset verse\n")
    assert ravebox_status("panic", "--socket", sock) == (0, "panic: muted True, reset main\n")
    assert ravebox_status("reload", "--socket", sock)[0] == 0
    assert ravebox_status("reload", "--socket", sock) == (
        1, "ravebox: reload refused: mapping.toml:3: cc.7: channel must be in range 1..16\n")
    assert (daemon.preset, daemon.panics, daemon.reloads) == ("verse", 1, 2)


def test_a_result_that_says_not_ok_is_a_refusal(sock, daemon):
    daemon.recall_preset = lambda ref: {"ok": False, "error": f"no preset {ref!r}"}
    assert ravebox_status("preset", "chorus", "--socket", sock) == (1, "ravebox: preset refused: no preset 'chorus'\n")
    daemon.apply_reload = lambda prepared: {"ok": False, "message": "map.toml:2: cc: must be 0..127"}
    assert ravebox_status("reload", "--socket", sock) == (1, "ravebox: reload refused: map.toml:2: cc: must be 0..127\n")


def test_socket_from_environment(sock, monkeypatch):
    monkeypatch.setenv("RAVEBOX_CONTROL_SOCKET", sock)
    assert ravebox_status()[0] == 0


def test_unreachable_daemon_exits_2_with_a_hint(tmp_path, capsys):
    code, _ = ravebox_status("--socket", str(tmp_path / "none.sock"))
    assert code == 2
    assert "is ravebox running and ready?" in capsys.readouterr().err


@pytest.fixture
def shared_sock(daemon):
    """A socket in a world-traversable folder, so another user's permissions are what counts."""
    folder = tempfile.mkdtemp(prefix="ravebox-perm-")
    os.chmod(folder, 0o755)
    observer = ControlSocketObserver(os.path.join(folder, "run", "control.sock"))
    observer.on_ready(daemon)
    yield observer.path
    observer.on_stopping(daemon)
    shutil.rmtree(folder)


def status_as(uid: int, gid: int, groups: list[int], path: str) -> tuple[int, str]:
    """``ravebox status`` in a forked child that dropped to ``uid``/``gid``/``groups`` (no exec needed)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges, ask, report through the pipe
        code = 99
        try:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            out = io.StringIO()
            sys.stderr = out
            code, text = ravebox_status("--socket", path)
            os.write(write_end, (text + out.getvalue()).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), text


@pytest.mark.skipif(os.getuid() != 0, reason="switching users needs root")
def test_only_members_of_the_service_group_may_connect(shared_sock):
    st = os.stat(shared_sock)
    assert (oct(st.st_mode & 0o777), st.st_uid, st.st_gid) == ("0o660", 0, 0)
    code, text = status_as(65534, 65534, [], shared_sock)
    assert code == 2
    assert "permission denied: add yourself to the service group" in text
    code, text = status_as(65534, 65534, [st.st_gid], shared_sock)
    assert code == 0, text
    assert "tempo        123.4 BPM (locked)" in text


def test_watch_redraws_until_ctrl_c(sock, monkeypatch):
    sleeps = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(status_command.time, "sleep", fake_sleep)
    code, text = ravebox_status("--watch", "--interval", "0.5", "--socket", sock)
    assert code == 0
    assert sleeps == [0.5, 0.5, 0.5]
    assert text.count(status_command.CLEAR) == 3
    assert text.count("tempo        123.4 BPM (locked)") == 3


def test_watch_keeps_retrying_while_the_daemon_is_away(tmp_path, monkeypatch):
    monkeypatch.setattr(status_command.time, "sleep", lambda s: (_ for _ in ()).throw(KeyboardInterrupt))
    code, text = ravebox_status("--watch", "--socket", str(tmp_path / "none.sock"))
    assert code == 0
    assert "cannot reach ravebox" in text and "(retrying every 1 s)" in text


def test_status_command_does_not_import_torch_or_jack(sock):
    code = ("import sys; from ravebox.service import cli; rc = cli.main(['status', '--socket', sys.argv[1]]);"
            "assert 'torch' not in sys.modules and 'jack' not in sys.modules; sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code, sock], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "tempo        123.4 BPM (locked)" in result.stdout


def test_text_status_shows_measured_inference_headroom_margin_and_warnings():
    text = status_command.render({
        "state": "running",
        "latency": {"frames": 5632, "ms": 117.3, "headroom": {"periods": 12, "source": "measured"}},
        "warnings": ["measured inference p99 50.0 ms exceeds the engine block (42.7 ms): the CPU cannot keep up"],
        "graphs": [{"name": "main", "models": ["full"], "worker_ms": 41.0, "block_ms": 42.7,
                    "inference_ms": {"p50": 38.0, "p99": 41.5}, "headroom_ms": 64.0, "margin": 0.352}],
    })
    assert "latency      5632 frames / 117.3 ms (headroom 12 periods, measured)" in text
    assert "WARNING      measured inference p99 50.0 ms exceeds the engine block" in text
    assert ("graph        main: full  41.0 ms per block of 42.7 ms  measured 41.5 ms p99 of 64.0 ms headroom "
            "(+35% margin)") in text


def test_preset_without_a_name_lists_them_and_marks_the_last_recalled(sock, daemon):
    assert ravebox_status("preset", "verse", "--socket", sock)[0] == 0
    code, text = ravebox_status("preset", "--socket", sock)
    assert code == 0
    assert text.splitlines() == ["    0  init  (/p/init.toml)", "*   1  verse  (/p/verse.toml)",
                                 "* = last recalled (verse)"]


def test_set_and_save_run_on_the_main_thread(sock, daemon):
    assert ravebox_status("set", "mix.wet", "0.25", "--socket", sock) == (0, "set: mix.wet = 0.25\n")
    assert daemon.params == {"mix.wet": 0.25}
    code, text = ravebox_status("set", "mix.wte", "1", "--socket", sock)
    assert code == 1 and "unknown parameter" in text
    assert ravebox_status("set", "mix.wet", "loud", "--socket", sock) == (
        1, "ravebox: set refused: set mix.wet: 'loud' is not a number\n")
    assert ravebox_status("save", "chorus", "--socket", sock) == (0, "save: preset 'chorus' saved to /p/chorus.toml\n")
    assert daemon.saved == "chorus"


def test_set_and_save_on_a_bare_socket_line(sock, daemon):
    import socket

    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(sock)
        raw.sendall(b"set mix.wet 0.5\n")
        line = raw.makefile().readline()
    assert json.loads(line) == {"ok": True, "result": {"ok": True, "message": "mix.wet = 0.5"}}


def test_a_reader_that_leaves_early_gets_no_traceback(sock):
    """``ravebox status | head``: the pipe closes before ravebox has written; it exits quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)                                   # `head` already gone
    done = subprocess.run([sys.executable, "-m", "ravebox.service.cli", "status", "--socket", sock],
                          stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write_end)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_text_status_shows_slots_loop_position_reload_parts_and_ignored_entries():
    status = {
        "state": "running",
        "clock": {"tempo_bpm": 120.0, "lock": "locked", "source": "midi_in <- TR-8", "transport": "running",
                  "bar_beat": "5:2"},
        "graphs": [{"name": "main", "models": ["a", "b"], "slots": {"encoder": "/m/a.ts", "decoder 0": "/m/b.ts"},
                    "loop": {"state": "playing", "beats": 4.0}}],
        "mapping": {"path": "/m/map.toml", "ignored": ["map[3] (line 20): graph 'voice' is not in this box"],
                    "last_reload": {"ok": False, "at": "10:31:02", "message": "mapping not reloaded, keeping 'x':\n"
                                    "/m/map.toml:3: map[0].cc: out of range\n/m/map.toml:7: map[1].target: unknown"}},
        "reload": {"ok": False, "parts": {"mapping": {"ok": False}, "box": {"ok": False, "at": "10:31:02",
                                                                          "message": "box file not reloaded:\nbox.toml:2: x"}}},
        "counters": {"mapping_unknown_graphs": 2, "mapping_unknown_dims": 0},
    }
    assert status_command.render(status).splitlines() == [
        "state        running",
        "tempo        120.0 BPM (locked, midi_in <- TR-8)",
        "transport    running, bar 5 beat 2",
        "mapping      /m/map.toml (reload FAILED at 10:31:02: mapping not reloaded, keeping 'x':",
        "               /m/map.toml:3: map[0].cc: out of range",
        "               /m/map.toml:7: map[1].target: unknown)",
        "reload       box FAILED at 10:31:02: box file not reloaded:",
        "               box.toml:2: x",
        "ignored      map[3] (line 20): graph 'voice' is not in this box",
        "ignored      dropped: 2 event(s) for a missing graph",
        "graph        main: a, b (encoder a.ts, decoder 0 b.ts)  loop playing 4 beats",
    ]


def test_text_status_shows_the_running_headroom_and_an_auto_block():
    text = status_command.render({
        "state": "running",
        "latency": {"frames": 7168, "ms": 149.3,
                    "headroom": {"periods": 12, "source": "running", "running_p99_ms": 39.5}},
        "graphs": [{"name": "main", "models": ["full"], "worker_ms": 39.5, "block_ms": 85.3,
                    "block_multiple": {"multiple": 2, "source": "auto",
                                       "why": "x1 p99 35.0 ms of 42.7 ms; x2 p99 40.0 ms of 85.3 ms: fits"}}],
    })
    assert ("latency      7168 frames / 149.3 ms (headroom 12 periods, running, worker p99 39.5 ms while playing)"
            in text)
    assert "block x2 (auto: x1 p99 35.0 ms of 42.7 ms; x2 p99 40.0 ms of 85.3 ms: fits)" in text


def test_text_status_shows_ravebox_s_own_silent_periods_once_there_are_some():
    """A period the cycle thread did not finish plays faded silence on ravebox's ports (not an xrun): the
    text status says how many beside the xruns, and stays quiet while there are none."""
    quiet = status_command.render({"state": "running", "xruns": 3, "unready_cycles": 0})
    assert "dropouts" not in quiet and "unready" not in quiet
    text = status_command.render({"state": "running", "xruns": 3, "unready_cycles": 2})
    assert text.splitlines() == ["state        running", "xruns        3", "dropouts     2"]
