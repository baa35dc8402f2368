"""Port latency reporting through libjack's latency API (ctypes; JACK-Client lacks it).

Why: other clients (a DAW recording ravebox's output) compensate only for the
latency a client declares. ravebox adds ``engine block + headroom periods +
model latency`` frames between a graph's input and output ports, and declares
exactly that in a latency callback, as the JACK latency API asks
(``jack_port_set_latency_range`` is only valid inside that callback).

Threads: :meth:`LatencyReporter.install` runs on the main thread before
``activate()``; the callback runs on a JACK notification thread (never the
process thread) and only reads and writes port latency ranges.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import jack

from ravebox.host import libjack
from ravebox.host.libjack import c_address

CAPTURE, PLAYBACK = 0, 1  # jack_latency_callback_mode_t


class LatencyRange(ctypes.Structure):
    _fields_ = [("min", ctypes.c_uint32), ("max", ctypes.c_uint32)]


_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)


def _libjack() -> Any:
    vp, range_ptr = ctypes.c_void_p, ctypes.POINTER(LatencyRange)
    lib = libjack.load({"jack_port_get_latency_range": (None, [vp, ctypes.c_int, range_ptr]),
                        "jack_port_set_latency_range": (None, [vp, ctypes.c_int, range_ptr]),
                        "jack_set_latency_callback": (ctypes.c_int, [vp, _CALLBACK, vp]),
                        "jack_recompute_total_latencies": (ctypes.c_int, [vp])}, keep_gil=False)
    if lib is None:
        raise OSError(f"libjack's latency API cannot be loaded from {libjack.library_name()}")
    return lib


_LIB = _libjack()


def get_range(port: jack.Port, mode: int) -> tuple[int, int]:
    """``(min, max)`` latency of any port (ours or another client's) in frames."""
    rng = LatencyRange()
    _LIB.jack_port_get_latency_range(c_address(port), mode, ctypes.byref(rng))
    return rng.min, rng.max


def _set_range(port: jack.Port, mode: int, low: int, high: int) -> None:
    rng = LatencyRange(max(0, low), max(0, high))
    _LIB.jack_port_set_latency_range(c_address(port), mode, ctypes.byref(rng))


class LatencyReporter:
    """Declares ``latency()`` frames from each graph's inputs to its outputs.

    ``pairs`` lists ``(input ports, output ports)`` per graph; a graph with no
    inputs (prior only) reports its outputs' capture latency as ``latency()``.
    """

    def __init__(self, client: jack.Client, pairs: Sequence[tuple[Sequence[jack.Port], Sequence[jack.Port]]],
                 latency: Callable[[], int]) -> None:
        self._client = client
        self._pairs = [(list(i), list(o)) for i, o in pairs]
        self._latency = latency
        self._callback = _CALLBACK(self._on_latency)  # keep alive as long as the client

    def install(self) -> None:
        """Main thread, before activate(): register the latency callback."""
        err = _LIB.jack_set_latency_callback(c_address(self._client), self._callback, None)
        if err:
            raise jack.JackError(f"Error setting latency callback ({err})")

    def recompute(self) -> None:
        """Main thread: ask JACK to re-run every latency callback (after our latency changed)."""
        _LIB.jack_recompute_total_latencies(c_address(self._client))

    def _on_latency(self, mode: int, _arg: object) -> None:
        """JACK notification thread: propagate ranges through each graph, plus our latency."""
        try:
            added = int(self._latency())
            for inputs, outputs in self._pairs:
                if mode == CAPTURE:
                    low, high = _span([get_range(p, CAPTURE) for p in inputs])
                    for port in outputs:
                        _set_range(port, CAPTURE, low + added, high + added)
                else:
                    low, high = _span([get_range(p, PLAYBACK) for p in outputs])
                    for port in inputs:
                        _set_range(port, PLAYBACK, low + added, high + added)
        except Exception:  # noqa: BLE001 - never let an exception unwind into libjack
            pass


def _span(ranges: list[tuple[int, int]]) -> tuple[int, int]:
    if not ranges:
        return 0, 0
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
