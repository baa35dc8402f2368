"""SIGTERM stops the daemon even while another thread keeps the GIL busy (a heap walk, a long C call).

libjack ends a client's threads with asynchronous ``pthread_cancel``; before the fix, the process
thread was cancelled while it waited for the GIL and died owning the GIL's mutex: every thread then
hung in ``take_gil`` and the daemon never stopped (``bench/soak.py --census``, twice; reproduced by
this test at every run). See ``ravebox/host/jackstop.py``.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.host.daemonkit import ROOT, write_box
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

# The daemon with the pass-through engine; once ready, a thread holds the GIL in C calls of ~50 ms
# (sum over a range never yields it), over and over, the way a heap walk does.
CHILD = """
import sys, threading
sys.path.insert(0, sys.argv[3])
from ravebox.service import logs
from ravebox.service.daemon import Daemon
from ravebox.service.observers import Observer
from tests.host.standins import PassEngine

def hog():
    while True:
        sum(range(1_000_000))

class Ready(Observer):
    def on_ready(self, daemon):
        threading.Thread(target=hog, daemon=True).start()
        print("ready", flush=True)

logs.configure("INFO")
daemon = Daemon(sys.argv[1], server=sys.argv[2], engine_factory=PassEngine.factory(), observers=[Ready()])
daemon.start()
sys.exit(daemon.run())
"""


def test_sigterm_stops_the_daemon_while_the_gil_is_busy(jack_server, tmp_path):
    box = write_box(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(box), jack_server.name, str(ROOT)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=jack_server.env())
    try:
        for line in proc.stdout:
            if line.strip() == "ready":
                break
        else:
            pytest.fail(f"the daemon exited before it was ready (exit {proc.wait()})")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(120)             # a bound for the hang, not a timing: it stops in about a second
        except subprocess.TimeoutExpired:
            pytest.fail("the daemon did not stop on SIGTERM while another thread kept the GIL busy")
        tail = proc.stdout.read()
        assert code == 0, tail
        assert "stopped" in tail
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
