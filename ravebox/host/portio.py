"""The process callback's per-cycle port calls, made straight through JACK-Client's cffi handles.

Why: each of JACK-Client's port methods first asks libjack for the buffer size
(``Client.blocksize`` is a library call) and wraps the rest in Python frames;
MIDI input comes through a generator made anew every cycle. The callback knows
its period (JACK's ``n``) and, most cycles, has no MIDI to read, so calling
``jack_port_get_buffer`` and the MIDI functions directly halves the library
calls per cycle and drops the frames around them: the audio arrays are the same
``np.frombuffer`` views JACK-Client's ``get_array`` makes, the MIDI bytes the
same ``ffi.buffer`` over the event. ``jack._lib`` and ``jack._ffi`` are the
library and FFI JACK-Client loaded (``host/latency.py`` uses ``jack._ffi`` too);
writing MIDI stays with JACK-Client's ``write_midi_event`` (a few times a second).
These names are JACK-Client's private ones: pyproject bounds it to the 0.5 series
(0.5.7 tested), and a JACK-Client without them (or a port without ``_ptr``) gets
the same work done through its public port methods (``DIRECT`` says which).

Thread: the JACK process thread only (the port buffers are valid for the cycle).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jack
import numpy as np

from ravebox.host.rings import MidiRing

_lib: Any = getattr(jack, "_lib", None)
_ffi: Any = getattr(jack, "_ffi", None)
DIRECT = _lib is not None and _ffi is not None   # else the public port methods (see the module docstring)


def _direct(ports: Sequence[object]) -> bool:
    return DIRECT and all(hasattr(port, "_ptr") for port in ports)


class AudioPorts:
    """Fills ``arrays[c]`` with the float32 view of its port's buffer, for every (arrays, c, port) given."""

    def __init__(self, slots: Iterable[tuple[list, int, jack.Port]]) -> None:
        slots = tuple(slots)
        self._direct = _direct([port for _, _, port in slots])
        self._slots = tuple((arrays, c, port._ptr if self._direct else port) for arrays, c, port in slots)

    def fetch(self, n: int) -> None:
        if not self._direct:
            for arrays, c, port in self._slots:
                arrays[c] = port.get_array()
            return
        get, buffer, frombuffer, size = _lib.jack_port_get_buffer, _ffi.buffer, np.frombuffer, 4 * n
        for arrays, c, ptr in self._slots:
            arrays[c] = frombuffer(buffer(get(ptr, n), size), np.float32)


class MidiInputs:
    """Pushes each input port's events of this cycle into a :class:`MidiRing` with their absolute frame."""

    def __init__(self, ports: Sequence[tuple[int, jack.MidiPort]]) -> None:
        self._direct = _direct([port for _, port in ports])
        self._ports = tuple((index, port._ptr if self._direct else port) for index, port in ports)
        self._event: Any = _ffi.new("jack_midi_event_t*") if self._direct else None

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

    def _read(self, ring: MidiRing, frame: int, index: int, buf: object, count: int) -> None:
        event = self._event
        for i in range(count):
            if _lib.jack_midi_event_get(event, buf, i):
                break
            ring.push(frame + event.time, index, _ffi.buffer(event.buffer, event.size))


class MidiOutputs:
    """Clears each output port's event buffer (JACK asks for it every cycle, before any write)."""

    def __init__(self, ports: Iterable[jack.MidiPort]) -> None:
        ports = tuple(ports)
        self._direct = _direct(ports)
        self._ptrs = tuple(port._ptr if self._direct else port for port in ports)

    def clear(self, n: int) -> None:
        if not self._direct:
            for port in self._ptrs:
                port.clear_buffer()
            return
        get, clear = _lib.jack_port_get_buffer, _lib.jack_midi_clear_buffer
        for ptr in self._ptrs:
            clear(get(ptr, n))
