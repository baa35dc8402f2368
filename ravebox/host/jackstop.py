"""Closing a JACK client whose callbacks run Python, without libjack killing a thread inside Python.

Why: JACK2 stops a client's threads with ``pthread_cancel`` and asynchronous
cancellation (``JackPosixThread::Kill``: the process thread in
``jack_deactivate``, the notification thread in ``jack_client_close``). A
thread cancelled while it holds the GIL, or while it waits for it (inside
``take_gil``'s condition wait, which re-takes the GIL's mutex as it unwinds),
dies owning a lock every Python thread needs: the process hangs for good with
all threads in ``take_gil``/``drop_gil``. ``bench/soak.py --census`` hit it
twice (a heap walk holds the GIL in long C calls, so the process thread is
often waiting for it when the daemon stops); any box can hit it when a
SIGTERM lands while the GIL is busy.

The way out, in two steps (:meth:`ravebox.host.session.Session.close`):

1. the process callback, told to end, raises ``jack.CallbackExit``; libjack
   then deactivates the client from that thread, *after* it left Python, and
   the thread exits by itself (``JackClient::End``). ``jack_deactivate`` then
   finds the client inactive and cancels nothing. :func:`thread_gone` tells
   when it has exited.
2. an inactive client's notification thread calls no callbacks any more, but
   one may still be on its way into Python (a notification that arrived
   before); :func:`outside_python` tells when it is back in its socket read,
   so ``jack_client_close`` cancels it there.

Both read ``/proc/self/task/<tid>`` (Linux, like JACK's dummy and ALSA
drivers here); where that is missing they answer True and the old behaviour
(cancel at once) remains.

Threads: every function here runs on the thread that closes the client (the main thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

TASKS = Path("/proc/self/task")
LEAVE_PYTHON_S = 5.0   # how long a close waits for each JACK thread to leave Python before closing anyway: a
#                        bound for a server that stopped running cycles, not a timing (it takes a cycle or two)


def thread_gone(tid: int) -> bool:
    """Whether the thread with native id ``tid`` of this process has exited."""
    return not (TASKS / str(tid)).exists() if TASKS.exists() else True


def outside_python(tid: int) -> bool:
    """Whether thread ``tid`` is asleep somewhere other than a futex wait (the GIL is a futex; a JACK
    notification thread at rest sleeps in its socket read), or gone. True where ``/proc`` cannot tell."""
    task = TASKS / str(tid)
    try:
        state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        where = (task / "wchan").read_text().strip()
    except (OSError, IndexError):
        return True                       # gone, or no /proc to ask
    if where in ("", "0"):
        return True                       # the kernel does not say where threads sleep: cannot tell
    return state in ("S", "D") and "futex" not in where


def wait_until(done: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    """Poll ``done`` (sleeping between polls, so other threads get the GIL) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
    return True


def ended(tid: int | None) -> bool:
    """The process thread ended itself: its last cycle noted its native id ``tid`` and it has exited."""
    return tid is not None and thread_gone(tid)

