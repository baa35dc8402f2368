"""host/portio.py without JACK-Client's private handles: the public port methods do the same work.

(The direct path runs in every JACK test: the daemon's process callback uses it.)
"""

from __future__ import annotations

import numpy as np

from ravebox.host.portio import AudioPorts, MidiInputs, MidiOutputs
from ravebox.host.rings import MidiRing


class PublicPort:
    """A port with only JACK-Client's public methods (no ``_ptr``)."""

    def __init__(self, events=()) -> None:
        self.array = np.arange(4, dtype=np.float32)
        self.events = tuple(events)
        self.cleared = 0

    def get_array(self) -> np.ndarray:
        return self.array

    def incoming_midi_events(self):
        return iter(self.events)

    def clear_buffer(self) -> None:
        self.cleared += 1


def test_ports_without_private_handles_go_through_the_public_methods():
    ins, outs = [None, None], [None]
    a, b, c = PublicPort(), PublicPort(), PublicPort()
    AudioPorts([(ins, 0, a), (ins, 1, b), (outs, 0, c)]).fetch(4)
    assert ins[0] is a.array and ins[1] is b.array and outs[0] is c.array
    ring = MidiRing()
    keys, clock = PublicPort([(3, b"\x90\x40\x7f"), (7, b"\x80\x40\x00")]), PublicPort([(0, b"\xf8")])
    MidiInputs([(0, keys), (1, clock)]).read_into(ring, 1000, 4)
    assert [ring.pop() for _ in range(3)] == [(1003, 0, b"\x90\x40\x7f"), (1007, 0, b"\x80\x40\x00"), (1000, 1, b"\xf8")]
    assert ring.pop() is None
    outs_midi = [PublicPort(), PublicPort()]
    MidiOutputs(outs_midi).clear(4)
    assert [p.cleared for p in outs_midi] == [1, 1]
