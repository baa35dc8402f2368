"""A uniquely named dummy ``jackd``: start, wait until ready, kill, restart.

Why here and not only in the tests: ``ravebox demo`` starts one when no JACK
server runs, the benches start one, and every integration test needs its own
(tests never mock JACK). Several sessions share a machine, so each server gets a
unique name (``-n``) and clients pick it with ``servername=`` or
``JACK_DEFAULT_SERVER``. The dummy driver needs no sound card and no realtime rights.

Usage::

    with JackServer() as server:          # started and ready
        client = jack.Client("t", servername=server.name)
        server.kill(); server.start()     # the "server crashed and came back" fault

Everything here runs on the caller's thread; ``close()`` is idempotent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path


def die_with_parent() -> None:
    """In a child before exec (``preexec_fn``): SIGTERM it when its parent dies (no orphan jackd or daemon
    after a crash or a SIGKILL; Linux only, a no-op elsewhere). Caution: "parent" is the thread that
    started the child, so start such children from a thread that outlives them."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class JackServerError(RuntimeError):
    """jackd did not start (its log is in the message)."""


class JackServer:
    """A ``jackd -d dummy`` process under a unique server name."""

    def __init__(self, name: str | None = None, rate: int = 48000, period: int = 256,
                 capture: int = 2, playback: int = 2, log_dir: str | Path | None = None,
                 realtime: bool = True) -> None:
        """``realtime`` False: ``jackd --no-realtime`` (its clients' process threads at normal scheduling)."""
        self.name = name or f"rbx-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.rate = rate
        self.period = period
        self.capture = capture
        self.playback = playback
        self.realtime = realtime
        self.log_path = Path(log_dir or "/tmp") / f"jackd-{self.name}.log"
        self._proc: subprocess.Popen | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "JackServer":
        """Start jackd and return once a client can connect to it."""
        if self.running:
            return self
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1", JACK_NO_START_SERVER="1")
        cmd = ["jackd", "-n", self.name, *([] if self.realtime else ["--no-realtime"]),
               "-d", "dummy", "-r", str(self.rate), "-p", str(self.period),
               "-C", str(self.capture), "-P", str(self.playback)]
        log = open(self.log_path, "ab")
        try:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=die_with_parent)
        finally:
            log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import jack

        from ravebox.host import jackmessages

        jackmessages.silence()   # no "Cannot connect to server socket" per probe while jackd starts
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            try:
                probe = jack.Client("rbx-probe", no_start_server=True, servername=self.name)
            except jack.JackError:
                time.sleep(0.05)
                continue
            probe.close()
            return
        log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        self.kill()
        raise JackServerError(f"jackd -n {self.name} did not become ready:\n{log}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def kill(self) -> None:
        """SIGKILL the server (a crash, as far as clients can tell) and reap it."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the server (an orderly shutdown) and reap it."""
        self._stop(signal.SIGTERM)

    def _stop(self, sig: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def close(self) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """An environment for child processes that should use this server."""
        return dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_START_SERVER="1")

    def __enter__(self) -> "JackServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
