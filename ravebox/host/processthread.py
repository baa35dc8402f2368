"""A JACK process thread run as a Python loop, so a cycle's work can go on after JACK was told it is done.

Since session 10 this is the fallback: where the native cycle can be built (a C compiler,
:mod:`ravebox.host.nativecycle`) the process thread is C and never waits for the GIL.

Why: with a process *callback* JACK counts a client as running until the callback
returns, so every line of Python in it stands between the cycle's start and its
deadline. On a VM or a busy box a pause of a millisecond or two now and then
catches a client that runs longer more often: ravebox's output stage (delay line,
declick, mix, gain, DC blocker, gates, limiter: ~0.3 ms of numpy calls per period)
cost it about a third more xruns than a bare pass-through client in the same run,
all of them "client still running" in jackd's log (docs/dedicated-box.md).

JACK's other model (``jack_set_process_thread``) hands the client the thread:
``jack_cycle_wait`` blocks until a cycle starts, ``jack_cycle_signal`` tells the
server the client's part of it is done, and whatever runs after the signal runs
outside the deadline (until the next cycle starts, one period later). ravebox's
session does only copies before the signal (the output computed in the previous
cycle into the ports, this cycle's input and MIDI out of them) and computes the
next period's output after it: one period more latency, declared to JACK.

The loop is a ``ctypes`` callback that libjack calls once on its process thread
and that returns only when told to end. ``jack_cycle_wait`` goes through
``ctypes.CDLL``, so the GIL is let go while the thread sleeps, as it is between two
calls of a callback; ``jack_cycle_signal`` through ``ctypes.PyDLL`` (the GIL stays:
another thread taking it there would delay the work after the signal).

Ending: the loop returns after a signalled cycle when ``deadline`` answers False;
libjack's thread then exits by itself, outside Python, and ``jack_deactivate``
finds a thread that is gone (see :mod:`ravebox.host.jackstop` for why a JACK
thread must never be cancelled inside Python). If the server dies, libjack ends
the thread inside ``jack_cycle_wait`` (``JackClient::Error``): the GIL is not held
there, so no other thread is left waiting for it.

Threads: :meth:`ProcessThread.install` runs on the main thread before
``activate``; the loop, ``deadline`` and ``after`` on the JACK process thread.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import jack

from ravebox.host import libjack
from ravebox.host.libjack import c_address

_THREAD_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)


def _load() -> tuple[Any, Any] | None:
    """libjack's process-thread calls: (releasing the GIL, keeping it), or None where they cannot be had."""
    vp = ctypes.c_void_p
    releasing = libjack.load({"jack_cycle_wait": (ctypes.c_uint32, [vp]),
                              "jack_set_process_thread": (ctypes.c_int, [vp, _THREAD_FN, vp])}, keep_gil=False)
    keeping = libjack.load({"jack_cycle_signal": (None, [vp, ctypes.c_int])}, keep_gil=True)
    return None if releasing is None or keeping is None else (releasing, keeping)


_libs = _load()


class ProcessThread:
    """Runs ``deadline(n)`` before each cycle's signal and ``after()`` once it was sent.

    ``deadline`` answers False to end the loop (after that cycle's signal, without ``after``).
    Neither should raise; one that does is counted with ``on_error()`` and the loop goes on (leaving it
    would end libjack's thread with the client still active and its cycle unsignalled).
    """

    def __init__(self, client: jack.Client, deadline: Callable[[int], bool], after: Callable[[], None],
                 on_error: Callable[[], None]) -> None:
        self._client = client
        self._deadline = deadline
        self._after = after
        self._on_error = on_error
        self._fn = _THREAD_FN(self._run)   # kept: libjack holds only the C pointer

    @staticmethod
    def available(client: jack.Client) -> bool:
        return _libs is not None and hasattr(client, "_ptr")

    def install(self) -> None:
        """Main thread, before ``activate``: JACK runs :meth:`_run` as the client's process thread."""
        assert _libs is not None
        if _libs[0].jack_set_process_thread(c_address(self._client), self._fn, None):
            raise jack.JackError("jack_set_process_thread failed (a process callback was set already?)")

    def _run(self, _arg: object) -> None:
        """Process thread: the whole loop, one pass per cycle."""
        assert _libs is not None
        wait, signal = _libs[0].jack_cycle_wait, _libs[1].jack_cycle_signal
        deadline, after, client = self._deadline, self._after, c_address(self._client)
        while True:
            n = wait(client)
            try:
                go_on = deadline(n)
            except BaseException:   # noqa: BLE001 - never leave the loop with the cycle unsignalled
                self._on_error()
                go_on = True
            signal(client, 0)
            if not go_on:
                return None
            try:
                after()
            except BaseException:   # noqa: BLE001 - see deadline
                self._on_error()
