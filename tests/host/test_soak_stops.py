"""bench/soak.py leaves nothing behind however it ends: SIGTERM (figures so far, then everything stopped)
or SIGKILL (its children get SIGTERM from the kernel). Before, a killed soak left its daemon and jackd
running as orphans."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.host.daemonkit import ROOT, wait_for
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as stopped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_killed_soak_stops_its_daemon_bare_client_and_jackd(sig, tmp_path):
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    soak = subprocess.Popen([sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "30", "--settle-s", "0",
                             "--sample-s", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=tmp_path)
    pids: list[int] = []
    samples = None
    try:
        for line in soak.stdout:
            if line.startswith("samples as they come:"):
                samples = Path(line.split(":", 1)[1].strip())
            if line.startswith("pids:"):
                pids = [int(p) for p in re.findall(r"\d+", line.split("(")[0])]
                break
        assert samples is not None and len(pids) == 3, f"the soak did not start (exit {soak.poll()})"
        assert wait_for(lambda: samples.exists() and samples.read_text().count("\n") >= 2, timeout=120)   # measuring
        assert all(alive(pid) for pid in pids)
        soak.send_signal(sig)
        code = soak.wait(180)                 # a bound for a hang, not a timing
        rest = soak.stdout.read()
        if sig == signal.SIGTERM:
            assert code == 128 + sig, rest
            assert "STOPPED EARLY by SIGTERM" in rest and "rss_growth_kb_per_min:" in rest
        assert wait_for(lambda: not any(alive(pid) for pid in pids), timeout=120), \
            [(pid, Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:80]) for pid in pids if alive(pid)]
    finally:
        if soak.poll() is None:
            soak.kill()
            soak.wait()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
