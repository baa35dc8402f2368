"""Audio paths a headroom re-size replaced are released once no thread can touch them (real dummy jackd).

Found by a soak's heap census (issue 14's RSS growth): the headroom that follows the playing worker re-sizes
now and then on a busy machine, and every replaced path -- its rings and its wake pipe's two file
descriptors -- was kept until the daemon stopped: about one per minute under load, for ever.
"""

from __future__ import annotations

import gc
import os
import weakref
from dataclasses import replace

import pytest

from tests.host.daemonkit import running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]


def on_main_thread(daemon, fn) -> None:
    """Run ``fn`` on the daemon's main loop (where the host re-sizes its headroom) and wait for it."""
    daemon.offmain.submit(lambda: None, lambda _: fn()).result(timeout=60)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_replaced_paths_are_closed_and_dropped_while_playing(jack_server, tmp_path):
    with running_daemon(write_box(tmp_path), jack_server.name, PassEngine.factory()) as daemon:
        host = daemon.host
        host.follow_worker = False          # only the re-sizes this test makes
        assert wait_for(lambda: host.worker.on_time > 5)
        fds = open_fds()
        replaced = []
        for i in range(8):
            old = host.path
            replaced.append(weakref.ref(old))
            del old
            wanted = replace(host.headroom, periods=host.headroom.periods + (1 if i % 2 == 0 else -1))
            on_main_thread(daemon, lambda wanted=wanted: host._resize_headroom(host.session, wanted, "a test"))
            progress = host.worker.progress
            assert wait_for(lambda done=progress: host.worker.progress > done + 2, timeout=30)   # the new path plays
        assert host.headroom_resizes == 8

        def released() -> bool:
            gc.collect()
            return all(ref() is None for ref in replaced)

        assert wait_for(released, timeout=60), [type(r()).__name__ for r in replaced if r() is not None]
        assert open_fds() <= fds             # the wake pipes went with them
        assert wait_for(lambda: host.worker.on_time > progress + 5, timeout=30)   # still playing in time
