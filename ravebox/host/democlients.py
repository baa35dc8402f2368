"""Helper JACK clients for the demo, the benches and the tests: a performer, a recorder, an xrun counter.

They are ordinary JACK clients (JACK-Client only; never python-rtmidi in this
process), so ravebox sees them exactly as it would see another program.

Threads: each ``_process`` runs on the JACK process thread of its client and
only copies from or into preallocated numpy arrays / byte lists; everything
else runs on the main thread. Both are context managers; ``close()`` is idempotent.
"""

from __future__ import annotations

from typing import Any, Self

import jack
import numpy as np

from ravebox.host.performance import Performance


class OwnClient:
    """A helper that opened and activated ``self.client``: ``close()`` deactivates and closes it once
    (idempotent), and ``with`` closes it on the way out."""

    client: jack.Client
    _closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.client.deactivate()
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        self.client.set_process_callback(self._process)
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
        self.client.set_process_callback(self._process)
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
        self.count += 1
