"""Separate JACK clients for tests: an impulse source, a recording sink (JACK-Client only, no rtmidi).

They run in the test process but are ordinary JACK clients, as another program
would be; their process callbacks only touch preallocated numpy arrays. Each is closed by ``close()``
(idempotent) or by leaving a ``with`` block (``ravebox.host.democlients.OwnClient``).
"""

from __future__ import annotations

import numpy as np
import jack

from ravebox.host.democlients import OwnClient


class Source(OwnClient):
    """Plays ``signal`` once, starting at absolute JACK frame ``at`` (set ``at`` before it passes)."""

    def __init__(self, server: str, name: str = "src") -> None:
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.port = self.client.outports.register("out")
        self.signal = np.zeros(0, np.float32)
        self.at: int | None = None
        self._set_process(self._process)
        self.client.activate()

    def _process(self, n):
        out = self.port.get_array()
        out[:] = 0.0
        if self.at is None:
            return
        start = self.client.last_frame_time
        a = max(self.at, start)
        b = min(self.at + len(self.signal), start + n)
        if a < b:
            out[a - start:b - start] = self.signal[a - self.at:b - self.at]


class Sink(OwnClient):
    """Records its input contiguously, cycle after cycle (``first`` = JACK frame of the first cycle).

    Contiguous, not indexed by ``last_frame_time``: around an xrun a late callback
    can read the next cycle's frame time, which would punch holes in the recording.
    Each cycle's JACK frame is kept beside it (:meth:`frames_at`), so a distance
    between two recorded samples can be measured in JACK frames: a cycle the sink
    missed (an xrun on this loaded VM) is then not a gap of zero length.
    """

    def __init__(self, server: str, name: str = "sink", seconds: float = 20.0, channels: int = 1) -> None:
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.ports = [self.client.inports.register(f"in_{c + 1}") for c in range(channels)]
        self.data = np.zeros((channels, int(seconds * self.client.samplerate)), np.float32)
        self.cycle_starts = np.zeros(self.data.shape[1] // 16 + 1, np.int64)   # recording index of each cycle
        self.cycle_frames = np.zeros(self.data.shape[1] // 16 + 1, np.int64)   # ... and its JACK frame
        self.cycles = 0
        self.first: int | None = None
        self.filled = 0
        self._set_process(self._process)
        self.client.activate()

    def _process(self, n):
        if self.first is None:
            self.first = self.client.last_frame_time
        start = self.filled
        if start + n > self.data.shape[1]:
            return
        for c, port in enumerate(self.ports):
            self.data[c, start:start + n] = port.get_array()
        self.cycle_starts[self.cycles] = start
        self.cycle_frames[self.cycles] = self.client.last_frame_time
        self.cycles += 1
        self.filled = start + n

    def frames_at(self, indices: np.ndarray) -> np.ndarray:
        """The JACK frame (32-bit counter, unwrapped from the first cycle) of each recording index."""
        count = self.cycles
        starts = self.cycle_starts[:count]
        frames = self.cycle_frames[0] + ((self.cycle_frames[:count] - self.cycle_frames[0]) & 0xFFFFFFFF)
        cycle = np.searchsorted(starts, indices, side="right") - 1
        return frames[cycle] + (indices - starts[cycle])

    def recorded(self, channel: int = 0) -> np.ndarray:
        return self.data[channel, :self.filled]

    def hears(self, level: float, channel: int = 0, seconds: float = 0.05) -> bool:
        """Whether the latest ``seconds`` recorded peak above ``level`` (a tone got through: for ``wait_for``)."""
        rate = self.client.samplerate
        last = self.recorded(channel)[-int(seconds * rate):]
        return self.filled > 2 * len(last) and float(np.max(np.abs(last), initial=0.0)) > level


class Tone(OwnClient):
    """Plays a continuous sine (``amplitude``, ``hz``) on ``tone:out``."""

    def __init__(self, server: str, name: str = "tone", hz: float = 440.0, amplitude: float = 0.5) -> None:
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.port = self.client.outports.register("out")
        rate = self.client.samplerate
        period = int(round(rate / hz))
        self.table = (amplitude * np.sin(2 * np.pi * np.arange(period) / period)).astype(np.float32)
        self.table = np.tile(self.table, 64)
        self.pos = 0
        self._set_process(self._process)
        self.client.activate()

    def _process(self, n):
        out = self.port.get_array()
        size = len(self.table) // 64
        start = self.pos % size
        out[:] = self.table[start:start + n]
        self.pos += n


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def voiced_level_db(x: np.ndarray, chunk: int = 256, min_voiced: float = 0.3) -> float | None:
    """Median level (dB) of the chunks of ``x`` that are not digital silence, or None if too few are.

    On this loaded VM a client can miss whole cycles (JACK then hands the sink zeros);
    those dropouts are not the level under test, so they are left out, not averaged in.
    """
    n = len(x) // chunk
    if n == 0:
        return None
    levels = np.sqrt(np.mean(np.square(x[:n * chunk].reshape(n, chunk), dtype=np.float64), axis=1))
    voiced = levels[levels > 1e-7]
    if len(voiced) < min_voiced * n:
        return None
    return float(20 * np.log10(np.median(voiced)))


class MidiRecorder(OwnClient):
    """Records MIDI on ``<name>:in`` as ``(JACK frame, bytes)``: frame = the cycle's frame time + the event's offset.

    The process callback copies into preallocated arrays (at most ``capacity`` events);
    ``xruns`` counts the server's xruns seen meanwhile.
    """

    def __init__(self, server: str, name: str = "midirec", capacity: int = 100_000) -> None:
        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.port = self.client.midi_inports.register("in")
        self.frames = np.zeros(capacity, np.int64)
        self.data = np.zeros((capacity, 3), np.uint8)
        self.sizes = np.zeros(capacity, np.int8)
        self.count = 0
        self.xruns = 0
        self.client.set_xrun_callback(self._xrun)
        self._set_process(self._process)
        self.client.activate()

    def _xrun(self, delay):
        self._notified()
        self.xruns += 1

    def _process(self, n):
        base = self.client.last_frame_time
        for offset, data in self.port.incoming_midi_events():
            i = self.count
            if i >= len(self.frames) or len(data) > 3:
                continue
            self.frames[i] = base + offset
            self.data[i, :len(data)] = np.frombuffer(data, np.uint8)
            self.sizes[i] = len(data)
            self.count = i + 1

    def events(self) -> list[tuple[int, bytes]]:
        n = self.count
        return [(int(self.frames[i]), bytes(self.data[i, :self.sizes[i]])) for i in range(n)]

