"""End to end: the shipped units under a real ``systemd --user`` manager, against a real dummy jackd.

The units are installed as shipped, plus one drop-in each that only says what
differs on a test machine: the dummy driver instead of a sound card, existing
users (``daemon`` for jackd, ``nobody`` in group ``audio`` for ravebox), the
program's path (this checkout and its interpreter; where the sandbox hides
them, under ``/root`` or ``/tmp``, a read-only bind brings them back, with
``ProtectHome=tmpfs`` instead of ``yes`` so that a bind under ``/root`` can
show through), log files
instead of the journal, and the watchdog test hook. Every sandboxing option
of the shipped units stays in force.

Two programs run under those units: a stand-in daemon (no torch; proves the
units, the sandbox and the service layer) and the real ``ravebox run`` on a
committed test model.

Realtime scheduling cannot be shown here: this machine's capability bounding
set lacks CAP_SYS_RESOURCE, so no process can raise RLIMIT_RTPRIO above 0 and
only root (CAP_SYS_NICE) gets SCHED_FIFO. ``test_units.py`` checks instead
that the units grant it (LimitRTPRIO=, no RestrictRealtime=) and that their
syscall filter keeps ``sched_setscheduler`` and friends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from usermanager import UserManager, available

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.jack,
              pytest.mark.skipif(available() is not None, reason=str(available()))]


def drop_in(unit_dir: Path, unit: str, text: str) -> None:
    folder = unit_dir / f"{unit}.d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.conf").write_text(text)


HIDDEN_BY_SANDBOX = ("/root", "/home", "/run/user", "/tmp", "/var/tmp")  # ProtectHome=, PrivateTmp=


def hidden_paths() -> list[str]:
    """This checkout and the interpreter, where the sandbox would hide them (pyenv under /root,
    a CI clone under /tmp): the test drop-in binds them back read-only. A venv's python is a
    link into its base interpreter's prefix, so both prefixes are bound."""
    paths = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, ROOT)}
    return sorted(p for p in paths if any(Path(p).is_relative_to(h) for h in HIDDEN_BY_SANDBOX))


def write_box(base: Path, client: str) -> Path:
    (base / "map.toml").write_text('[mapping]\nname = "e2e"\n[[map]]\ncc = 7\ntarget = "out.gain_db"\n'
                                   'range = [-40, 0]\n')
    box = base / "box.toml"
    box.write_text(f'[box]\nname = "e2e"\n[models]\na = "{ROOT / "tests/models/rave_a.ts"}"\n'
                   f'[graphs.main]\nencoder = "a"\n[jack]\nclient_name = "{client}"\n'
                   f'[mapping]\nfile = "map.toml"\n'
                   '[[jack.connect]]\nport = "^clock_in$"\nallow = ["^jack_midi_clock:"]\n')
    return box


class Box:
    """The installed units in a fresh user manager, with file paths the test reads."""

    def __init__(self, base: Path, program: str) -> None:
        self.base = base
        self.server = f"rbx-e2e-{uuid.uuid4().hex[:6]}"
        self.client = "rbx"
        self.manager = UserManager(base / "manager")
        self.hang = base / "shared" / "hang"
        self.log = base / "ravebox.log"
        self.socket = self.manager.runtime / "ravebox" / "control.sock"
        self.program = program

    def install(self) -> None:
        units = self.manager.units
        for name in ("ravebox-jackd.service", "ravebox.service"):
            shutil.copy(ROOT / "systemd" / name, units / name)
        drop_in(units, "ravebox-jackd.service", f"""[Service]
User=daemon
Group=audio
SupplementaryGroups=
Environment=JACK_PROMISCUOUS_SERVER=audio
ExecStart=
ExecStart=/usr/bin/jackd --realtime --realtime-priority 70 -n {self.server} -d dummy -r 48000 -p 256
StandardOutput=append:{self.base / 'jackd.log'}
StandardError=append:{self.base / 'jackd.log'}
""")
        shared = self.hang.parent
        shared.mkdir(mode=0o777)
        shared.chmod(0o777)
        if self.program == "standin":
            exec_start = f"{sys.executable} {ROOT / 'tests/service/standin_daemon.py'} --name {self.client}"
        else:
            exec_start = f"{sys.executable} -m ravebox.service.cli run --config {write_box(self.base, self.client)}"
        hidden = hidden_paths()
        in_home = any(Path(p).is_relative_to(h) for p in hidden for h in ("/root", "/home"))
        drop_in(units, "ravebox.service", f"""[Service]
User=nobody
Group=nogroup
SupplementaryGroups=
SupplementaryGroups=audio
Environment=JACK_PROMISCUOUS_SERVER=audio
ReadOnlyPaths=
ExecStart=
ExecStart={exec_start}
Environment=JACK_DEFAULT_SERVER={self.server} PYTHONPATH={ROOT} RAVEBOX_DEBUG_HANG_FILE={self.hang}
ReadWritePaths={shared}
{'ProtectHome=tmpfs' if in_home else ''}
{'BindReadOnlyPaths=' + ' '.join(hidden) if hidden else ''}
StandardOutput=append:{self.log}
StandardError=append:{self.log}
""")

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def main_pid(self) -> int:
        return int(self.manager.show("ravebox.service", "MainPID")["MainPID"])

    def status_cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ravebox.service.cli", "status", "--socket", str(self.socket),
                               *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def traversable_by_others(paths: list[Path]):
    """Let the service user (``nobody``) reach the checkout and the interpreter for the test's length.

    A CI clone may be a ``mktemp -d`` folder (mode 0700); each folder up to the one the sandbox
    replaces anyway (``/tmp``, ``/root``, ...) that others cannot traverse gets ``o+x``, and its
    mode back afterwards.
    """
    changed: list[tuple[Path, int]] = []
    for path in paths:
        for folder in [path, *path.parents]:
            if str(folder) in HIDDEN_BY_SANDBOX or folder == folder.parent:
                break
            mode = folder.stat().st_mode & 0o7777
            if not mode & 0o001 and all(folder != f for f, _ in changed):
                changed.append((folder, mode))
                folder.chmod(mode | 0o001)
    try:
        yield
    finally:
        for folder, mode in reversed(changed):
            folder.chmod(mode)


@contextlib.contextmanager
def installed_box(program: str):
    """The units in a fresh user manager, running ``program`` ("standin" or "ravebox"); all torn down after."""
    if program == "ravebox" and not (ROOT / "tests/models/rave_a.ts").exists():
        pytest.skip("the committed test model tests/models/rave_a.ts is missing")
    base = Path(tempfile.mkdtemp(prefix="ravebox-e2e-", dir="/run"))  # not /tmp: PrivateTmp= hides it
    base.chmod(0o755)
    b = Box(base, program)
    with traversable_by_others([Path(p).resolve() for p in (sys.prefix, sys.base_prefix, ROOT)]):
        try:
            b.manager.start()
            b.install()
            b.manager.systemctl("daemon-reload")
            yield b
        finally:
            b.manager.close()
            for name in ("ravebox.log", "jackd.log", "manager/manager.log"):
                path = base / name
                if path.exists():
                    print(f"--- {name}\n{path.read_text()[-6000:]}")
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["standin", "ravebox"])
def box(request):
    with installed_box(request.param) as b:
        yield b


@pytest.fixture
def standin_box():
    with installed_box("standin") as b:
        yield b


@pytest.fixture
def ravebox_box():
    with installed_box("ravebox") as b:
        yield b


def test_ready_status_watchdog_restart_and_clean_stop(box):
    m = box.manager
    # 1. start: `systemctl start` of a Type=notify unit returns once READY=1 arrived
    m.systemctl("start", "ravebox.service")
    props = m.show("ravebox.service", "ActiveState", "SubState", "StatusText", "NRestarts", "MainPID")
    assert props["ActiveState"] == "active", props
    assert m.show("ravebox-jackd.service", "ActiveState")["ActiveState"] == "active"
    lines = box.log_lines()
    ready = next(i for i, line in enumerate(lines) if "ravebox.service.observers: ready: " in line)
    # the real daemon logs "running" after the engine (every model loaded and warmed up) and the host started
    warm = "standin: models warm" if box.program == "standin" else "ravebox.host: running: 1 graph(s)"
    assert any(warm in line for line in lines[:ready]), lines
    first_pid = int(props["MainPID"])

    # 2. STATUS= carries the one-line summary
    assert " | xruns " in props["StatusText"] and "main:" in props["StatusText"], props

    # 3. the control socket: 0660, owned by the service user, answers status
    st = os.stat(box.socket)
    assert (oct(st.st_mode & 0o777), st.st_uid) == ("0o660", 65534)
    answer = box.status_cli("--json")
    assert answer.returncode == 0, answer.stderr
    status = json.loads(answer.stdout)
    assert status["state"] == "running"
    if box.program == "ravebox":
        assert [(g["name"], g["models"]) for g in status["graphs"]] == [("main", ["a"])]
        assert status["systemd"]["enabled"] and status["systemd"]["sent"] >= 1   # READY=1 at least

    # 4. a hung worker: health turns false, STATUS says so, the watchdog restarts the service
    box.hang.touch()
    m.wait_for("ravebox.service", lambda p: p["StatusText"].startswith("UNHEALTHY: "), 30, "StatusText")
    m.wait_for("ravebox.service", lambda p: p["NRestarts"] == "1" and p["ActiveState"] == "active"
               and p["MainPID"] not in ("0", str(first_pid)), 90, "NRestarts", "ActiveState", "MainPID")
    assert not box.hang.exists()  # consumed, so the new process does not hang again
    text = "\n".join(box.log_lines())
    assert "holding the inference worker so the watchdog fires" in text
    assert "unhealthy, withholding the watchdog ping: inference worker made no progress" in text
    assert "Fatal Python error: Aborted" in text  # SIGABRT, systemd's watchdog signal, with thread stacks
    m.wait_for("ravebox.service", lambda p: " | xruns " in p["StatusText"], 30, "StatusText")

    # 5. clean stop: exit 0 after SIGTERM, socket removed, jackd left running
    m.systemctl("stop", "ravebox.service")
    props = m.show("ravebox.service", "ActiveState", "Result", "ExecMainStatus")
    assert props == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}
    assert box.log_lines()[-1].endswith(": stopped")
    assert not box.socket.exists()
    assert m.show("ravebox-jackd.service", "ActiveState")["ActiveState"] == "active"


def test_ravebox_stops_with_its_jack_server(standin_box):
    m = standin_box.manager
    m.systemctl("start", "ravebox.service")
    m.systemctl("stop", "ravebox-jackd.service")
    assert m.show("ravebox.service", "ActiveState")["ActiveState"] == "inactive"
    m.systemctl("start", "ravebox.service")  # pulls jackd back in (BindsTo= implies Requires=)
    assert m.show("ravebox-jackd.service", "ActiveState")["ActiveState"] == "active"
    assert m.show("ravebox.service", "ActiveState")["ActiveState"] == "active"


def test_systemctl_reload_sends_sighup_and_the_daemon_rereads_its_mapping(ravebox_box):
    box = ravebox_box
    m = box.manager
    m.systemctl("start", "ravebox.service")
    before = json.loads(box.status_cli("--json").stdout)["mapping"]
    m.systemctl("reload", "ravebox.service")
    deadline = time.monotonic() + 120                 # a bound for a hang, not a timing: a loaded VM is slow
    while time.monotonic() < deadline:
        after = json.loads(box.status_cli("--json").stdout)["mapping"]
        if after.get("last_reload"):
            break
        time.sleep(0.5)
    assert before["last_reload"] is None
    assert after["last_reload"]["ok"] is True  # the file did not change: only SIGHUP can have reloaded it
    assert m.show("ravebox.service", "ActiveState", "NRestarts") == {"ActiveState": "active", "NRestarts": "0"}


def test_status_line_follows_a_midi_clock(ravebox_box):
    box = ravebox_box
    m = box.manager
    m.systemctl("start", "ravebox.service")
    env = {"JACK_DEFAULT_SERVER": box.server, "JACK_PROMISCUOUS_SERVER": "audio", "JACK_NO_START_SERVER": "1"}
    clock = m.popen(["jack_midi_clock", "-b", "132", "-B"], env=env)
    try:
        # until locked AND healthy: on a loaded VM the status may read "UNHEALTHY: inference worker made no
        # progress" for a while (every block late), which is not what this test is about
        deadline = time.monotonic() + 180
        status = ""
        while time.monotonic() < deadline and not status.startswith("132.0 BPM locked"):
            m.run(["sh", "-c", "printf 'play\\n' | jack_transport"], env=env, timeout=10)
            time.sleep(2)
            status = m.show("ravebox.service", "StatusText")["StatusText"]
        assert status.startswith("132.0 BPM locked | xruns "), status
    finally:
        clock.terminate()
        clock.wait(10)
