"""Helpers to run the real daemon (composition root) against a dummy jackd inside a test.

The daemon runs its main loop on a background thread here (signals are tested
in a subprocess elsewhere); ``engine`` picks the real engine or the pass-through
stand-in. Everything is stopped in ``finally`` blocks by the context managers.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path

from ravebox.service.daemon import Daemon

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "models"
SENDER = Path(__file__).with_name("midisender.py")

TEST_MAPPING = """
[mapping]
name = "test"
[defaults]
channel = "any"
takeover = "jump"
smoothing_ms = 0
[[map]]
cc = 7
target = "out.gain_db"
range = [-40, 0]
[[map]]
cc = 8
target = "mix.wet"
"""


# Two graphs, "main" and "other", fed by one tone, each to its own sink channel.
TWO_GRAPHS_CONNECT = """
[[jack.connect]]
port = "_in_1$"
allow = ["^tone:out$"]
[[jack.connect]]
port = "^main_out_1$"
allow = ["^sink:in_1$"]
[[jack.connect]]
port = "^other_out_1$"
allow = ["^sink:in_2$"]
"""

def write_box(tmp: Path, *, client: str = "rbx", mapping: str = TEST_MAPPING, extra: str = "",
              connect: str | None = None, model: str = "rave_a.ts", graphs: str | None = None,
              sections: str = "") -> Path:
    """A one-graph box (``main``) on a committed test model, with auto-connect rules for test clients."""
    (tmp / "map.toml").write_text(mapping)
    rules = connect if connect is not None else """
[[jack.connect]]
port = "^main_in_"
allow = ["^tone:out$", "^src:out$"]
[[jack.connect]]
port = "^main_out_"
allow = ["^sink:in_"]
[[jack.connect]]
port = "^midi_in$"
allow = ["^fakectl:"]
[[jack.connect]]
port = "^clock_in$"
allow = ["(?i)midi_clock|jack_midi_clock"]
"""
    box = f"""
[box]
name = "test"
[models]
a = "{MODELS / model}"
{graphs or '[graphs.main]' + chr(10) + 'encoder = "a"'}
{sections}
[jack]
client_name = "{client}"
{extra}
{rules}
[mapping]
file = "map.toml"
"""
    path = tmp / "box.toml"
    path.write_text(box)
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


class Controller:
    """The MIDI sender subprocess (mido over rtmidi's JACK API), driven line by line.

    ``script``: another sender with the same line protocol (``ready``, then ``ok`` per command).
    """

    def __init__(self, env: dict, name: str = "fakectl", script: Path = SENDER) -> None:
        self.proc = subprocess.Popen([sys.executable, str(script), name], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == "ready"

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
