"""Realtime scheduling for ravebox's own threads (inference worker, control thread).

Why: on a shared or busy machine an ordinary thread can wait milliseconds for
a CPU, and the worker has only about two JACK periods from a completed block
to its deadline. SCHED_FIFO at a priority *below* JACK's client thread (JACK2
runs it at its ``-P`` minus 5) lets the worker preempt ordinary processes
without ever delaying the audio callback. Needs ``LimitRTPRIO`` (systemd) or
an rtprio limit (``/etc/security/limits.d``); without it the thread keeps
normal scheduling and says so once.

Thread: called by the thread that wants the priority, on itself.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("ravebox.host")


def make_realtime(priority: int, what: str, quiet: bool = False) -> bool:
    """Give the calling thread SCHED_FIFO ``priority``; False (and one log line unless ``quiet``: the
    JACK process thread never logs) if not allowed.

    With ``SCHED_RESET_ON_FORK``: a process started from this thread (a jackd that
    ``ravebox demo`` starts, a test's subprocess) begins at normal priority.
    """
    if priority <= 0 or sys.platform != "linux":  # SCHED_FIFO, SCHED_RESET_ON_FORK: Linux (the box); macOS has neither
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except (PermissionError, OSError) as exc:
        if not quiet:
            log.info("%s keeps normal scheduling (realtime priority %d refused: %s)", what, priority, exc)
        return False
    return True


def make_normal() -> None:
    """Return the calling thread to normal scheduling (a loop that took a priority and is done)."""
    if sys.platform == "linux":
        try:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            pass
