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
:class:`AudioRing` lives in :mod:`ravebox.framering` (a leaf): the recording tap, which
may not import ``host/``, keeps its frames in the same ring.
"""

from __future__ import annotations

import numpy as np

from ravebox.framering import AudioRing

__all__ = ["AudioRing", "ByteRing", "MidiRing"]


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
