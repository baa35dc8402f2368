"""libjack's own messages, kept off stderr.

Why: while ravebox probes for a server (``ravebox demo``, ``ravebox run``
before jackd is up, every reconnect attempt) libjack prints a dozen lines such
as "Cannot connect to server socket err = No such file or directory" and
"JackShmReadWritePtr::~JackShmReadWritePtr - Init not done for -1" to stderr.
ravebox prints one line of its own instead (``open_client``'s HostError, the
demo's "no JACK server answered"), and keeps libjack's recent lines here for
``--log-level DEBUG``.

:func:`silence` swaps JACK-Client's error and info callbacks for an append to
a bounded deque. libjack may call them on any thread (the one calling into
libjack, or one of its own); ``deque.append`` is atomic and neither logs nor
blocks, so no thread waits on the callback. The main thread reads
:func:`recent`.
"""

from __future__ import annotations

import collections

import jack

_recent: collections.deque[str] = collections.deque(maxlen=64)
_installed = False


def silence() -> None:
    """Route libjack's error and info messages into :func:`recent` (idempotent; main thread)."""
    global _installed
    if not _installed:
        jack.set_error_function(_recent.append)
        jack.set_info_function(_recent.append)
        _installed = True


def recent(clear: bool = True) -> list[str]:
    """libjack's messages since the last call (main thread)."""
    lines = list(_recent)
    if clear:
        _recent.clear()
    return lines
