"""Declick: no step in the waveform where the played source switches between wet and its fallback.

Thread: the JACK process callback (through :class:`~ravebox.engine.output.OutputStage`);
allocation-free (a preallocated curve, scratch and state), pure and deterministic: the same
samples and switches in give the same samples out, so a render stays byte-identical.

Why not a crossfade: when a block is late, the wet signal that would continue is not there,
and when it comes back, the fallback's future is known but the wet's past is gone; a classic
crossfade needs both sides over its length. What is known at a switch is the last sample
played and the new source's first one. So the difference between them (per channel) is
added to the new source and decays to 0 over :data:`DECLICK_MS` along a half cosine: the
junction has no step at all, the offset leaves with a slope of at most
``pi / 2 * offset / N`` per sample (``N`` samples of decay) and none at either end, and the
new source's own movement passes unchanged. A switch during a decay starts a new one from
what was actually played, residue included.

Cost: nothing while no decay runs; one multiply-add over ``N`` samples (240 at 48 kHz) per
channel after each switch.
"""

from __future__ import annotations

import numpy as np

DECLICK_MS = 5.0   # long enough that a full-scale offset moves < 0.7 % of full scale per sample at 48 kHz


class Declicker:
    """Offset-decay declick of one stage's wet signal (``channels`` x samples, float64)."""

    def __init__(self, channels: int, sample_rate: int, ms: float = DECLICK_MS, max_block: int = 8192) -> None:
        length = max(1, int(round(ms * sample_rate / 1000.0)))
        self.curve = 0.5 * (1.0 + np.cos(np.pi * np.arange(length) / length))   # 1 at the switch, -> 0
        self._scratch = np.empty((channels, length))
        self._offset = np.zeros(channels)
        self._last = np.zeros(channels)        # the last sample played (what the next switch is judged from)
        self._pos = length                     # where the running decay is in ``curve``; length: none
        self._late = False                     # the source of the last sample: the fallback (True) or wet
        self._changes = np.zeros(max(max_block - 1, 1), dtype=bool)
        self.switches = 0

    def process(self, w: np.ndarray, late: bool | np.ndarray) -> None:
        """Declick ``w`` (channels, n) in place; ``late``: the whole block is the fallback (a bool),
        or a bool per sample (True where ``w`` holds the fallback rather than the model's wet)."""
        n = w.shape[1]
        if isinstance(late, bool):
            self.segment(w, 0, n, late)
            return
        if not late.any():
            self.segment(w, 0, n, False)
            return
        if late.all():
            self.segment(w, 0, n, True)
            return
        changes = self._changes[:n - 1]
        np.not_equal(late[1:], late[:-1], out=changes)
        a = 0
        while a < n:
            rest = changes[a:]
            j = int(rest.argmax()) if rest.size else 0
            b = a + j + 1 if rest.size and rest[j] else n
            self.segment(w, a, b, bool(late[a]))
            a = b

    def segment(self, w: np.ndarray, a: int, b: int, late: bool) -> None:
        """Samples ``[a, b)`` of ``w`` come from one source (``late``: the fallback); declick them."""
        if b <= a:
            return
        if late != self._late:
            np.subtract(self._last, w[:, a], out=self._offset)
            self._pos = 0
            self._late = late
            self.switches += 1
        length = self.curve.shape[0]
        if self._pos < length:
            m = min(b - a, length - self._pos)
            add = self._scratch[:, :m]
            np.multiply(self._offset[:, None], self.curve[self._pos:self._pos + m], out=add)
            np.add(w[:, a:a + m], add, out=w[:, a:a + m])
            self._pos += m
        np.copyto(self._last, w[:, b - 1])
