"""The period between the two halves of a JACK cycle (see :mod:`ravebox.host.processthread`).

Before the cycle's signal the process thread only copies: the output computed in
the previous cycle into the output ports, this cycle's input out of the input
ports (their buffers are valid only until the signal). After the signal the audio
path reads the kept input and writes the output the next cycle plays.

Thread: the JACK process thread only; every buffer is allocated here, up front.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_PERIOD = 8192   # JACK's largest usual period; a larger one plays silence (a new session follows it)


class StagedPeriod:
    """Per graph: the input kept from this cycle and the output the next cycle plays."""

    def __init__(self, inputs: Sequence[int], outputs: Sequence[int], max_period: int = MAX_PERIOD) -> None:
        self._in = [np.zeros((c, max_period), np.float32) for c in inputs]
        self._out = [np.zeros((c, max_period), np.float32) for c in outputs]
        self._max = max_period
        self._views: dict[int, tuple[list[list[np.ndarray]], list[list[np.ndarray]]]] = {}
        self.drained = False   # the last computed output was played (the session's ending cycles)

    def swap(self, n: int, in_ports: Sequence[Sequence[np.ndarray]], out_ports: Sequence[Sequence[np.ndarray]]) -> None:
        """Before the signal: the staged output into ``out_ports``, ``in_ports`` into the staging."""
        fits = n <= self._max
        for buf, ports in zip(self._out, out_ports):
            for c, arr in enumerate(ports):
                if fits:
                    arr[:] = buf[c, :n]
                else:
                    arr.fill(0.0)
        if fits:
            for buf, ports in zip(self._in, in_ports):
                for c, arr in enumerate(ports):
                    buf[c, :n] = arr

    def views(self, n: int) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
        """After the signal: per graph, the kept input rows and the output rows, ``n`` frames each
        (made once per period size)."""
        views = self._views.get(n)
        if views is None:
            n = min(n, self._max)
            views = self._views[n] = ([[row[:n] for row in buf] for buf in self._in],
                                      [[row[:n] for row in buf] for buf in self._out])
        return views

    def silence(self) -> None:
        """After the signal, when the audio path failed: the next cycle plays silence."""
        for buf in self._out:
            buf.fill(0.0)
