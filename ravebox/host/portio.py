"""The process callback's per-cycle libjack calls, made without letting go of the GIL.

Why: JACK-Client calls libjack through cffi, and cffi releases the GIL around every
C call. In the process callback each release is a moment another thread of the
daemon (the inference worker between two torch calls, the control thread, the main
loop) can take the GIL, and the callback then waits up to the switch interval, or
until that thread next lets go, to get it back. The calls made every cycle (port
buffers, MIDI event counts and reads, clearing and writing MIDI, the cycle's frame
times) only read or write memory JACK already mapped, so they go through a
``ctypes.PyDLL`` view of the same libjack, which keeps the GIL for the call.
Measured on the full-size box this did not close the gap between the callback's run
and CPU time (p99 1.35 vs 0.75 ms before, 1.45 vs 0.75 after, at different loads):
what remains of it is not these calls (docs/dedicated-box.md).

The audio arrays are float32 numpy views of the port buffers, made once per buffer
address and period and kept (JACK hands the same few addresses back every cycle: a
port's own buffer, the buffer of the one port connected to an input, its mix, or the
shared silent buffer), so a steady cycle allocates no array either.

``jack._libname`` and the ports' and client's ``_ptr`` are JACK-Client's private names:
pyproject bounds it to the 0.5 series (0.5.7 tested), and a JACK-Client without them
(or a libjack that will not load this way) gets the same work done through its public
methods (``DIRECT`` says which).

Thread: the JACK process thread only (the port buffers are valid for the cycle).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Sequence
from typing import Any

import jack
import numpy as np

from ravebox.host import libjack
from ravebox.host.libjack import c_address
from ravebox.host.rings import MidiRing

VIEW_CACHE_MAX = 64   # buffer addresses remembered per port set before the cache starts over


class _MidiEvent(ctypes.Structure):
    _fields_ = [("time", ctypes.c_uint32), ("size", ctypes.c_size_t), ("buffer", ctypes.c_void_p)]


def _load() -> Any:
    """libjack's per-cycle functions through ctypes.PyDLL (the GIL stays held), or None."""
    if getattr(jack, "_ffi", None) is None:
        return None
    vp, u32 = ctypes.c_void_p, ctypes.c_uint32
    return libjack.load({
        "jack_port_get_buffer": (vp, [vp, u32]),
        "jack_midi_get_event_count": (u32, [vp]),
        "jack_midi_event_get": (ctypes.c_int, [ctypes.POINTER(_MidiEvent), vp, u32]),
        "jack_midi_clear_buffer": (None, [vp]),
        "jack_midi_event_write": (ctypes.c_int, [vp, u32, ctypes.c_char_p, ctypes.c_size_t]),
        "jack_frames_since_cycle_start": (u32, [vp]),
        "jack_last_frame_time": (u32, [vp])}, keep_gil=True)


_lib: Any = _load()
DIRECT = _lib is not None   # else the public methods (see the module docstring)


def _direct(objects: Sequence[object]) -> bool:
    return DIRECT and all(hasattr(obj, "_ptr") for obj in objects)


class CycleFrames:
    """The cycle's ``frames_since_cycle_start`` and ``last_frame_time`` for one client."""

    def __init__(self, client: jack.Client) -> None:
        self._client = client
        self._ptr = c_address(client) if _direct([client]) else None

    def since_start(self) -> int:
        return _lib.jack_frames_since_cycle_start(self._ptr) if self._ptr else self._client.frames_since_cycle_start

    def last_frame_time(self) -> int:
        return _lib.jack_last_frame_time(self._ptr) if self._ptr else self._client.last_frame_time


class AudioPorts:
    """Fills ``arrays[c]`` with the float32 view of its port's buffer, for every (arrays, c, port) given."""

    def __init__(self, slots: Iterable[tuple[list, int, jack.Port]]) -> None:
        slots = tuple(slots)
        self._direct = _direct([port for _, _, port in slots])
        self._slots: tuple[tuple[list, int, Any], ...] = tuple(   # the port's address, or the port
            (arrays, c, c_address(port) if self._direct else port) for arrays, c, port in slots)
        self._views: dict[int, np.ndarray] = {}
        self._views_n = 0

    def fetch(self, n: int) -> None:
        if not self._direct:
            for arrays, c, port in self._slots:
                arrays[c] = port.get_array()
            return
        views = self._views
        if n != self._views_n or len(views) > VIEW_CACHE_MAX:
            views.clear()
            self._views_n = n
        get = _lib.jack_port_get_buffer
        for arrays, c, ptr in self._slots:
            address = get(ptr, n)
            view = views.get(address)
            if view is None:   # the first cycles, a new connection or period
                view = views[address] = np.ctypeslib.as_array((ctypes.c_float * n).from_address(address))
            arrays[c] = view


class MidiInputs:
    """Pushes each input port's events of this cycle into a :class:`MidiRing` with their absolute frame."""

    def __init__(self, ports: Sequence[tuple[int, jack.MidiPort]]) -> None:
        self._direct = _direct([port for _, port in ports])
        self._ports: tuple[tuple[int, Any], ...] = tuple(   # the port's address, or the port
            (index, c_address(port) if self._direct else port) for index, port in ports)
        self._event = _MidiEvent()
        self._event_ref = ctypes.byref(self._event)

    def read_into(self, ring: MidiRing, frame: int, n: int) -> None:
        if not self._direct:
            for index, port in self._ports:
                for offset, data in port.incoming_midi_events():
                    ring.push(frame + offset, index, data)
            return
        get, count_of = _lib.jack_port_get_buffer, _lib.jack_midi_get_event_count
        for index, ptr in self._ports:
            buf = get(ptr, n)
            count = count_of(buf)
            if count:
                self._read(ring, frame, index, buf, count)

    def _read(self, ring: MidiRing, frame: int, index: int, buf: int, count: int) -> None:
        event, ref = self._event, self._event_ref
        for i in range(count):
            if _lib.jack_midi_event_get(ref, buf, i):
                break
            ring.push(frame + event.time, index, ctypes.string_at(event.buffer, event.size))


class MidiOutputs:
    """Each output port's event buffer for this cycle: cleared (JACK asks for it every cycle, before any
    write), then written to by index."""

    def __init__(self, ports: Iterable[jack.MidiPort]) -> None:
        ports = tuple(ports)
        self._direct = _direct(ports)
        self._ports = ports
        self._ptrs = tuple(c_address(port) for port in ports) if self._direct else ()
        self._buffers: list[int] = [0] * len(ports)

    def clear(self, n: int) -> None:
        """Process thread, every cycle before :meth:`write`."""
        if not self._direct:
            for port in self._ports:
                port.clear_buffer()
            return
        get, clear, buffers = _lib.jack_port_get_buffer, _lib.jack_midi_clear_buffer, self._buffers
        for i, ptr in enumerate(self._ptrs):
            buffers[i] = buf = get(ptr, n)
            clear(buf)

    def write(self, index: int, offset: int, data: bytes | bytearray) -> bool:
        """Process thread: one event on port ``index`` at frame ``offset`` of this cycle (False: no room)."""
        if not self._direct:
            try:
                self._ports[index].write_midi_event(offset, data)
            except jack.JackError:
                return False
            return True
        return not _lib.jack_midi_event_write(self._buffers[index], offset, bytes(data), len(data))
