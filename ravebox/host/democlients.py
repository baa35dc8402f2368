"""Helper JACK clients for the demo, the benches and the tests: a performer, a recorder, an xrun counter.

They are ordinary JACK clients (JACK-Client only; never python-rtmidi in this
process), so ravebox sees them exactly as it would see another program.

Threads: each ``_process`` runs on the JACK process thread of its client and
only copies from or into preallocated numpy arrays / byte lists; everything
else runs on the main thread. Both are context managers; ``close()`` is idempotent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Self

import jack
import numpy as np

from ravebox.host import jackstop
from ravebox.host.performance import Performance

STALLED_S = 0.5        # no cycle for this long: the server is gone or stopped, nothing to wait for


class OwnClient:
    """A helper that opened and activated ``self.client``: ``close()`` deactivates and closes it once
    (idempotent), and ``with`` closes it on the way out.

    Closing leaves Python first, as the daemon's session does (:mod:`ravebox.host.jackstop`): a
    process callback installed with :meth:`_set_process` ends its own thread with
    ``jack.CallbackExit``, and a notification callback wrapped with :meth:`_notified` is waited
    out, so libjack never cancels one of them inside Python (a test process whose daemon threads
    hold the GIL would hang or crash in ``deactivate``)."""

    client: jack.Client
    _closed = False
    _ending = False                   # close(): the process callback's next cycle is its last
    _process_set = False
    _ended_tid: int | None = None     # the process thread's native id, set in that last cycle
    _notify_tid: int | None = None    # the notification thread's, set by its first callback

    def _set_process(self, process: Callable[[int], None]) -> None:
        """Main thread, before activating: run ``process(n)`` every cycle until :meth:`close`."""
        def guarded(n: int) -> None:
            if self._ending:
                self._ended_tid = threading.get_native_id()
                raise jack.CallbackExit
            process(n)

        self.client.set_process_callback(guarded)
        self._process_set = True

    def _process_left(self, cycles: "_CycleWatch") -> bool:
        """The process thread ended itself, or the server runs no cycles any more (stopped or killed)."""
        return jackstop.ended(self._ended_tid) if self._ended_tid is not None else cycles.stalled()

    def _notified(self) -> None:
        """Notification thread, at the top of each notification callback: remember the thread."""
        if self._notify_tid is None:
            self._notify_tid = threading.get_native_id()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._process_set:
            self._ending = True
            cycles = _CycleWatch(self.client)
            jackstop.wait_until(lambda: self._process_left(cycles), jackstop.LEAVE_PYTHON_S)
        self.client.deactivate()   # first: an active client's notifications (an xrun) keep entering Python
        notify = self._notify_tid
        if notify is not None:
            jackstop.wait_until(lambda: jackstop.outside_python(notify), jackstop.LEAVE_PYTHON_S)
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _CycleWatch:
    """Whether the server still runs cycles: its frame time at the last cycle's start moves.

    Why not the time of our own last callback: a process thread kept from the GIL by a busy
    thread runs no Python for a while, and a close that took that for a stopped server
    cancelled the thread inside Python after all."""

    def __init__(self, client: jack.Client) -> None:
        self._client = client
        self._frame = self._read()
        self._since = time.monotonic()

    def _read(self) -> int | None:
        try:
            return self._client.last_frame_time
        except jack.JackError:
            return None

    def stalled(self) -> bool:
        frame, now = self._read(), time.monotonic()
        if frame != self._frame:
            self._frame, self._since = frame, now
            return False
        return now - self._since > STALLED_S


class Performer(OwnClient):
    """Plays a :class:`Performance` from its first cycle after :meth:`go` on ``audio_out``,
    ``midi_out`` (controls) and ``clock_out`` (clock), sample-accurately."""

    def __init__(self, performance: Performance, server: str = "", name: str = "ravebox-demo-player") -> None:
        self.client = jack.Client(name, no_start_server=True, servername=server or None)
        self.audio = self.client.outports.register("audio_out")
        self.midi = self.client.midi_outports.register("midi_out")
        self.clock = self.client.midi_outports.register("clock_out")
        self.perf = performance
        self.position: int | None = None    # frames played since go()
        self._armed = False
        self._next = [0, 0]                 # next event index: clock, controls
        self._set_process(self._process)
        self.client.activate()

    def go(self) -> None:
        """Main thread: start the performance at the next cycle."""
        self._armed = True

    def _process(self, n: int) -> None:
        out = self.audio.get_array()
        self.midi.clear_buffer()
        self.clock.clear_buffer()
        if not self._armed:
            out[:] = 0.0
            return
        if self.position is None:
            self.position = 0
        pos, loop = self.position, self.perf.audio
        start = pos % len(loop)
        first = min(n, len(loop) - start)
        out[:first] = loop[start:start + first]
        if first < n:
            out[first:] = loop[:n - first]
        self._send(self.clock, self.perf.clock, 0, pos, n)
        self._send(self.midi, self.perf.controls, 1, pos, n)
        self.position = pos + n

    def _send(self, port: Any, part: tuple[np.ndarray, list[bytes]], which: int, pos: int, n: int) -> None:
        frames, data = part
        i = self._next[which]
        while i < len(frames) and frames[i] < pos + n:
            try:
                port.write_midi_event(max(0, int(frames[i]) - pos), data[i])
            except jack.JackError:
                break
            i += 1
        self._next[which] = i


class Recorder(OwnClient):
    """Records ``channels`` inputs contiguously into a preallocated buffer of ``seconds``."""

    def __init__(self, seconds: float, channels: int = 2, server: str = "", name: str = "ravebox-demo-rec") -> None:
        self.client = jack.Client(name, no_start_server=True, servername=server or None)
        self.ports = [self.client.inports.register(f"in_{c + 1}") for c in range(channels)]
        self.data = np.zeros((channels, int(seconds * self.client.samplerate) + 1), np.float32)
        self.filled = 0
        self.recording = False
        self._set_process(self._process)
        self.client.activate()

    def _process(self, n: int) -> None:
        if not self.recording:
            return
        start = self.filled
        count = min(n, self.data.shape[1] - start)
        if count <= 0:
            return
        for c, port in enumerate(self.ports):
            self.data[c, start:start + count] = port.get_array()[:count]
        self.filled = start + count

    def audio(self) -> np.ndarray:
        """Main thread: what was recorded, (frames, channels)."""
        return self.data[:, :self.filled].T.copy()


class XrunCounter(OwnClient):
    """A port-less client whose xrun callback counts the server's xruns (benches and fault tests).

    Why a client of its own: it tells an xrun's jump from ravebox's own behaviour
    without asking ravebox. Its callback runs on JACK's notification thread and only
    increments a counter.
    """

    def __init__(self, server: str, name: str = "xrun-monitor") -> None:
        self.count = 0
        self.client = jack.Client(name, servername=server or None, no_start_server=True)
        self.client.set_xrun_callback(self._on_xrun)
        self.client.activate()

    def _on_xrun(self, delayed_usecs: float) -> None:
        self._notified()
        self.count += 1
