"""The one rig that runs the real daemon against a dummy jackd, for tests/host, tests/service AND bench/.

Why here and not in ``ravebox/``: it is test scaffolding (a MIDI sender script, the committed test
models, stand-in choices), which a wheel must not ship; and bench/ can import it without pytest (it
imports none): each bench script puts the repository on ``sys.path`` and does
``from tests.host.daemonkit import ...``, as the tests do.

- box files: ``write_box``/``box_toml`` (a one-graph box on a committed test model, any extra
  sections, connect rules and mapping), built from ``connect(...)`` rules and a ``mapping_toml(...)``
  of ``rule(...)`` entries;
- the daemon in this process, its main loop on a thread (``running_daemon``; signals are tested in a
  subprocess elsewhere) or as ``ravebox run`` in its own process with a control socket
  (``daemon_process``, ``ask``, ``wait_status``: what the benchmarks measure);
- a controller process (``Controller``: mido over rtmidi's JACK API) and ``deliver``/``wait_for``,
  which wait for conditions and never assert on time.
Everything is stopped in ``finally`` blocks by the context managers.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from ravebox.host.dummyserver import die_with_parent
from ravebox.service.daemon import Daemon

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "models"
SENDER = Path(__file__).with_name("midisender.py")


def table(header: str, **keys: object) -> str:
    """One TOML table, ``[header]`` or ``[[header]]`` as given; values as JSON writes them, which TOML reads
    the same for strings (escapes included), numbers, booleans and lists of them."""
    return header + "\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())


def connect(port: str, *allow: str, **keys: object) -> str:
    """A ``[[jack.connect]]`` rule: the daemon's ports matching ``port`` connect to peers matching ``allow``
    (``keys``: the rule's other keys, e.g. ``deny=[...]``)."""
    return table("[[jack.connect]]", port=port, allow=list(allow), **keys)


def rule(**keys: object) -> str:
    """One ``[[map]]`` entry of a mapping, e.g. ``rule(cc=7, target="out.gain_db", range=[-40, 0])``."""
    return table("[[map]]", **keys)


def mapping_toml(*rules: str, name: str | None = "test", **defaults: object) -> str:
    """A mapping whose CCs act at once and exactly (any channel, jump takeover, no smoothing; ``defaults``
    adds or overrides ``[defaults]`` keys), then ``rules`` (``rule(...)``, or TOML text)."""
    head = table("[mapping]", name=name) if name is not None else ""
    keys = {"channel": "any", "takeover": "jump", "smoothing_ms": 0, **defaults}
    return head + table("[defaults]", **keys) + "".join(rules)


GAIN_CC7 = rule(cc=7, target="out.gain_db", range=[-40, 0])
TEST_MAPPING = mapping_toml(GAIN_CC7, rule(cc=8, target="mix.wet"))
# Controls a source holds (a momentary CC button, a held note, the pitch wheel): released when it vanishes.
HELD_RULES = (rule(cc=64, button="momentary", target="latent.freeze") + rule(note=36, button="momentary", target="loop.enabled")
              + rule(pitchbend=True, target="latent.bias", dim=0, range=[-2, 2]))

# Test clients in, a sink out, the fakectl controller and a MIDI clock client (write_box's default).
TEST_CONNECT = (connect("^main_in_", "^tone:out$", "^src:out$") + connect("^main_out_", "^sink:in_")
                + connect("^midi_in$", "^fakectl:") + connect("^clock_in$", "(?i)midi_clock|jack_midi_clock"))
# An impulse source into main's first input, its first output to the sink's first input (latency tests).
PASS_CONNECT = connect("^main_in_1$", "^src:out$") + connect("^main_out_1$", "^sink:in_1$")
# Two graphs, "main" and "other", fed by one tone, each to its own sink channel.
TWO_GRAPHS_CONNECT = (connect("_in_1$", "^tone:out$") + connect("^main_out_1$", "^sink:in_1$")
                      + connect("^other_out_1$", "^sink:in_2$"))


def box_toml(*, name: str = "test", client: str = "rbx", model: str | Path = "rave_a.ts", graphs: str | None = None,
             sections: str = "", extra: str = "", connect: str | None = None, mapping_file: str | Path | None = "map.toml") -> str:
    """A box file: model ``a`` (a committed test model by name, or a path), the ``main`` graph encoding and
    decoding with it unless ``graphs`` says otherwise, any other ``sections``, ``[jack]`` with ``extra`` keys
    and the ``connect`` rules (default ``TEST_CONNECT``; ``""``: none, so the daemon's own defaults), and
    ``[mapping] file`` unless ``mapping_file`` is None (then the bundled default mapping)."""
    rules = TEST_CONNECT if connect is None else connect
    mapping = f'[mapping]\nfile = "{mapping_file}"\n' if mapping_file is not None else ""
    return f"""
[box]
name = "{name}"
[models]
a = "{MODELS / model}"
{graphs or '[graphs.main]' + chr(10) + 'encoder = "a"'}
{sections}
[jack]
client_name = "{client}"
{extra}
{rules}
{mapping}"""


def write_box(tmp: Path, *, mapping: str | None = TEST_MAPPING, **box: object) -> Path:
    """``tmp/box.toml`` from ``box_toml(**box)``, with ``mapping`` as ``tmp/map.toml`` (None: no mapping
    file, the box plays the bundled default mapping). Returns the box file's path."""
    if mapping is not None:
        (tmp / "map.toml").write_text(mapping)
    path = tmp / "box.toml"
    path.write_text(box_toml(mapping_file="map.toml" if mapping is not None else None, **box))
    return path


@contextlib.contextmanager
def running_daemon(box: Path, server: str, engine_factory=None, observers=()):
    """Start a Daemon, run its main loop on a thread, yield it; stop and join on exit.

    The join waits for the main loop's own shutdown to finish (``jack_deactivate`` can take
    seconds on a loaded VM). Returning earlier let the test's server be killed, and the next
    test's daemon start, while this one was still inside libjack: the process died with SIGSEGV
    in ``deactivate`` (seen three times in the suite at load average 17-20).
    """
    daemon = Daemon(box, server=server, engine_factory=engine_factory, observers=observers)
    daemon.start()
    thread = threading.Thread(target=daemon.run, name="test-daemon-main", daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        daemon.request_stop()
        thread.join(300)                      # a bound for a hang, not a timing
        if thread.is_alive():
            raise AssertionError("the daemon's main loop did not stop within 300 s")
        daemon.shutdown()                     # a no-op after run(); closes a daemon whose run() never started


def deliver(ctl: "Controller", daemon, *lines: str, until=None, tries: int = 5, timeout: float = 15.0) -> None:
    """Send MIDI ``lines`` until ``until()`` holds (default: the daemon handled that many more events);
    resend only when JACK had an xrun meanwhile.

    Why: at an xrun JACK drops the MIDI of the cycle a client missed (``bench/soak.py`` counts it:
    ``events_lost`` follows ``xruns``), as a message can be lost on stage and the musician moves the
    knob again. A message lost with NO xrun to blame is ravebox's fault and fails here. ``lines``
    must be safe to repeat as a group (absolute CC values; a release, then a press).
    """
    host, control = daemon.host, daemon.host.control
    for _ in range(tries):
        before, xruns = control.events + control.coalesced, host.xruns
        for line in lines:
            ctl.send(line)
        done = until or (lambda before=before: control.events + control.coalesced >= before + len(lines))
        if wait_for(done, timeout):
            return
        assert host.xruns > xruns, f"{lines} had no effect and JACK had no xrun to lose them in"
    raise AssertionError(f"{lines} had no effect {tries} times, each time with an xrun")


def ask(sock: Path, command: str, **fields: object) -> dict:
    """One request on a daemon's control socket; the whole answer (``ok``, ``result`` or ``error``)."""
    from ravebox.service.control_socket import ControlClient

    with ControlClient(sock, timeout_s=20) as client:
        return client.request(command, **fields)


def running(status: dict) -> bool:
    return status.get("state") == "running"


def wait_status(sock: Path, ready: Callable[[dict], bool] = running, timeout: float = 300.0,
                proc: subprocess.Popen | None = None) -> dict:
    """Poll the control socket until ``ready(status)``; returns that status. Raises if ``proc`` exits first
    or nothing is ready by ``timeout`` (a bound for a hang: a loaded VM warms a model slowly)."""
    from ravebox.errors import ServiceError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"ravebox exited with {proc.returncode} before it was ready")
        try:
            status = ask(sock, "status").get("result") or {}
            if ready(status):
                return status
        except (ServiceError, OSError, ValueError):
            pass                                              # not up yet
        time.sleep(0.25)
    raise RuntimeError(f"ravebox was not ready within {timeout:g} s (status on {sock})")


@contextlib.contextmanager
def daemon_process(box: Path, server: str, sock: Path, *, launch: tuple[str, ...] = ("-m", "ravebox.service.cli"),
                   env: dict | None = None, ready: Callable[[dict], bool] = running,
                   timeout: float = 300.0) -> Iterator[subprocess.Popen]:
    """``ravebox run`` on ``box`` in its own process (as systemd runs it; ``launch``: what follows the
    interpreter before ``run``), its control socket at ``sock``, logging warnings only; yields the process
    once ``ready(status)`` holds, terminates it on exit (and the kernel does, should this process die first).
    Its state folder (the remembered auto block, ``service/blockmemory.py``) is the box's folder: every
    box starts as on a fresh machine, and none writes into this user's home."""
    env = dict(os.environ if env is None else env, RAVEBOX_CONTROL_SOCKET=str(sock), NOTIFY_SOCKET="",
               RAVEBOX_LOG_LEVEL="WARNING", JACK_NO_START_SERVER="1", XDG_STATE_HOME=str(box.parent / "state"))
    env.pop("STATE_DIRECTORY", None)
    proc = subprocess.Popen([sys.executable, *launch, "run", "--config", str(box), "--server", server], env=env, cwd=ROOT,
                            preexec_fn=die_with_parent)
    try:
        wait_status(sock, ready, timeout, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Controller:
    """The MIDI sender subprocess (mido over rtmidi's JACK API), driven line by line.

    ``script``: another sender with the same line protocol (``ready``, then ``ok`` per command).
    """

    def __init__(self, env: dict, name: str = "fakectl", script: Path = SENDER) -> None:
        self.proc = subprocess.Popen([sys.executable, str(script), name], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == "ready"
        self.name = name

    def wait_connected(self, daemon, port: str = "midi_in", client: str = "rbx", timeout: float = 15.0) -> bool:
        """Whether the daemon's auto-connect joined this controller's ``out`` to its ``port`` within ``timeout``."""
        pair = (f"{self.name}:out", f"{client}:{port}")
        return wait_for(lambda: pair in daemon.host.connector.remembered, timeout)

    def send(self, line: str) -> str:
        """Send one command; returns the answer (``ok``, or ``refused ...`` for raw bytes)."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok" or answer.startswith("refused"), answer
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> "Controller":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_for(predicate, timeout: float = 15.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (waiting, never asserting on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
