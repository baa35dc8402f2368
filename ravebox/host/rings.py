"""Preallocated single-producer/single-consumer rings indexed by absolute frame.

Why absolute frames: the JACK process callback writes input and reads output at
the frames JACK gives it, the inference worker reads and writes whole engine
blocks at their own frames, and MIDI events carry the frame they happened at.
Indexing every ring by the same 64-bit frame counter means no thread ever has
to agree with another on a read or write pointer: each side publishes how far
it has written (one int attribute, atomic under the GIL) and the other side
only reads frames below that mark. No locks, no allocation after construction.

Threads: for :class:`AudioRing`, one writer thread and any number of readers;
for :class:`MidiRing` and :class:`ByteRing`, one writer and one reader.
"""

from __future__ import annotations

import numpy as np


class AudioRing:
    """``channels`` x ``capacity`` float32 samples addressed by absolute frame.

    ``written`` is the frame below which every sample has been written (the
    writer moves it forward after the data is in place). A reader must stay
    within ``capacity`` frames behind ``written``; the owner sizes capacity so.
    """

    def __init__(self, channels: int, capacity: int) -> None:
        self.channels = int(channels)
        self.capacity = int(capacity)
        self.data = np.zeros((self.channels, self.capacity), dtype=np.float32)
        self.written = 0

    def write(self, frame: int, block: np.ndarray) -> None:
        """Copy ``block`` (channels, n) to frames ``[frame, frame + n)`` and publish them."""
        n = block.shape[1]
        self._copy_in(frame, block, n)
        self.written = frame + n

    def write_channel(self, frame: int, channel: int, samples: np.ndarray) -> None:
        """Copy one channel without publishing (call :meth:`publish` after the last one)."""
        n = samples.shape[0]
        start = frame % self.capacity
        first = min(n, self.capacity - start)
        self.data[channel, start:start + first] = samples[:first]
        if first < n:
            self.data[channel, :n - first] = samples[first:]

    def fill(self, frame: int, n: int, value: float = 0.0) -> None:
        """Set frames ``[frame, frame + n)`` of every channel to ``value`` (no publish)."""
        n = min(n, self.capacity)
        start = frame % self.capacity
        first = min(n, self.capacity - start)
        self.data[:, start:start + first] = value
        if first < n:
            self.data[:, :n - first] = value

    def publish(self, until: int) -> None:
        self.written = until

    def read(self, frame: int, out: np.ndarray) -> None:
        """Copy frames ``[frame, frame + n)`` into ``out`` (channels, n)."""
        n = out.shape[1]
        start = frame % self.capacity
        first = min(n, self.capacity - start)
        out[:, :first] = self.data[:, start:start + first]
        if first < n:
            out[:, first:] = self.data[:, :n - first]

    def read_channel(self, frame: int, channel: int, out: np.ndarray) -> None:
        """Copy one channel's frames ``[frame, frame + len(out))`` into ``out``."""
        n = out.shape[0]
        start = frame % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self.data[channel, start:start + first]
        if first < n:
            out[first:] = self.data[channel, :n - first]

    def _copy_in(self, frame: int, block: np.ndarray, n: int) -> None:
        start = frame % self.capacity
        first = min(n, self.capacity - start)
        self.data[:, start:start + first] = block[:, :first]
        if first < n:
            self.data[:, :n - first] = block[:, first:]


class MidiRing:
    """Fixed slots of ``(frame, port index, bytes)`` for short MIDI messages.

    The JACK process callback pushes every incoming event; the control thread
    pops them. A full ring drops the new event and counts it (``dropped``),
    never blocks; a message longer than ``max_bytes`` (SysEx) is dropped and
    counted in ``oversized``. ``head`` is written only by the producer, ``tail``
    only by the consumer.
    """

    def __init__(self, slots: int = 4096, max_bytes: int = 16) -> None:
        self.slots = int(slots)
        self.max_bytes = int(max_bytes)
        self.frames = np.zeros(self.slots, dtype=np.int64)
        self.ports = np.zeros(self.slots, dtype=np.int16)
        self.lengths = np.zeros(self.slots, dtype=np.int16)
        self._bytes = bytearray(self.slots * self.max_bytes)
        self._view = memoryview(self._bytes)
        self.head = 0  # next slot to write (producer)
        self.tail = 0  # next slot to read (consumer)
        self.dropped = 0
        self.oversized = 0

    def push(self, frame: int, port: int, data: bytes | bytearray | memoryview) -> bool:
        """Producer: copy ``data`` (any buffer) into the next slot; False if dropped."""
        size = len(data)
        if size > self.max_bytes or size == 0:
            self.oversized += 1
            return False
        head = self.head
        if head - self.tail >= self.slots:
            self.dropped += 1
            return False
        slot = head % self.slots
        offset = slot * self.max_bytes
        self._view[offset:offset + size] = data
        self.frames[slot] = frame
        self.ports[slot] = port
        self.lengths[slot] = size
        self.head = head + 1
        return True

    def pop(self) -> tuple[int, int, bytes] | None:
        """Consumer: the oldest ``(frame, port index, bytes)``, or None when empty."""
        tail = self.tail
        if tail >= self.head:
            return None
        slot = tail % self.slots
        offset = slot * self.max_bytes
        item = (int(self.frames[slot]), int(self.ports[slot]),
                bytes(self._view[offset:offset + int(self.lengths[slot])]))
        self.tail = tail + 1
        return item

    def __len__(self) -> int:
        return self.head - self.tail


class ByteRing(MidiRing):
    """Outgoing MIDI (feedback, thru): the control thread pushes, the process callback writes.

    Same slots as :class:`MidiRing`; the consumer peeks at a slot's memory
    instead of copying it to ``bytes``, so the process callback does not allocate.
    """

    def peek_view(self) -> memoryview | None:
        """Consumer: a view of the oldest message (valid until :meth:`advance`)."""
        tail = self.tail
        if tail >= self.head:
            return None
        slot = tail % self.slots
        offset = slot * self.max_bytes
        return self._view[offset:offset + int(self.lengths[slot])]

    def peek_port(self) -> int:
        """Consumer: the port index of the oldest message (call after :meth:`peek_view` found one)."""
        return int(self.ports[self.tail % self.slots])

    def advance(self) -> None:
        self.tail += 1
