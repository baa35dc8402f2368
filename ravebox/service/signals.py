"""The service's signal handlers, set in one place for the daemon and for a box waiting to start.

SIGTERM (systemd's stop) and SIGINT (Ctrl-C) stop; SIGHUP (``systemctl reload``) reloads the box, or
makes a waiting box try again. Python lets only the main thread set handlers, so elsewhere (the tests
run the daemon's main loop on a thread of their own) this does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[int, Any], Any]


def install(stop: Handler, hangup: Handler) -> None:
    """Main thread: ``stop`` on SIGTERM and SIGINT, ``hangup`` on SIGHUP (each called as a signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hangup)
