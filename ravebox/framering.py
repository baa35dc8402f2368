"""A ring of float32 audio frames addressed by absolute frame: the host's audio rings and the recording tap.

Why absolute frames: see :mod:`ravebox.host.rings` (every side indexes by the same 64-bit
frame counter, so no read or write pointer has to be agreed). Why a leaf of its own: the
host's rings and the recording tap (``recording/``, which may not import ``host/``) copy
frames in and out of a wrapping ring the same way; written once here. No locks, no
allocation after construction.

Threads: one writer thread and any number of readers (the owner says which).
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
