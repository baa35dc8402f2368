"""The recording tap: the JACK process callback copies what it played into a preallocated ring.

Why a ring and not a queue: the process callback must not allocate, lock or
wait. It copies each period's output channels (and, with ``dry``, the input
channels) into a frame-indexed float32 ring and publishes how far it wrote (one
int, atomic under the GIL); the writer thread reads behind that mark and
publishes how far it read. If the writer falls more than the ring's length
behind (a stalled disk), the callback skips the period and counts it in
``overruns`` instead of overwriting unread audio or waiting.

Threads: :meth:`RecordTap.push` runs on the JACK process thread;
:meth:`RecordTap.read` and :meth:`RecordTap.available` on the writer thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ravebox.framering import AudioRing


class RecordTap:
    """``wet`` output channels then ``dry`` input channels, ``capacity`` frames, one writer, one reader."""

    def __init__(self, wet: int, dry: int, capacity: int) -> None:
        self.wet = int(wet)
        self.dry = int(dry)
        self.capacity = int(capacity)
        self.ring = AudioRing(self.wet + self.dry, self.capacity)   # its ``written`` is unused: ``head`` is the mark
        self.head = 0          # frames written (process thread)
        self.tail = 0          # frames read (writer thread)
        self.overruns = 0      # periods skipped because the writer was a whole ring behind

    # -- process thread -------------------------------------------------------------
    def push(self, n: int, outs: Sequence[np.ndarray], ins: Sequence[Sequence[np.ndarray]]) -> None:
        """Process thread: copy ``outs[g][c, :n]`` (every graph's output) and, with dry, ``ins[g][c]``."""
        head = self.head
        if head + n - self.tail > self.capacity:
            self.overruns += 1
            return
        row = 0
        ring = self.ring
        for block in outs:
            for c in range(block.shape[0]):
                ring.write_channel(head, row, block[c, :n])
                row += 1
        if self.dry:
            for ports in ins:
                for arr in ports:
                    ring.write_channel(head, row, arr)
                    row += 1
        self.head = head + n

    # -- writer thread ----------------------------------------------------------------
    def available(self) -> int:
        return self.head - self.tail

    def read(self, out: np.ndarray) -> int:
        """Writer: copy up to ``out.shape[1]`` unread frames into ``out``; returns how many."""
        n = min(self.head - self.tail, out.shape[1])
        self.ring.read(self.tail, out[:, :n])
        self.tail += n
        return n
