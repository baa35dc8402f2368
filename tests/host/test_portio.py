"""host/portio.py: the direct libjack calls against JACK-Client's own methods on a real server, and the
public methods standing in when JACK-Client's private names are missing.

(The direct path also runs in every JACK test: the daemon's process callback uses it.)
"""

from __future__ import annotations

import threading

import numpy as np

from ravebox.host.portio import AudioPorts, MidiInputs, MidiOutputs
from ravebox.host.rings import MidiRing
from tests.jackserver import needs_jackd


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


@needs_jackd
def test_direct_calls_see_the_buffers_and_events_jack_client_sees(jack_server):
    """The ctypes path (GIL kept) against JACK-Client's own methods, on a real server: the same buffer
    memory, a MIDI event written on one port read back on another, the cycle's frame times."""
    import jack

    from ravebox.host import portio

    assert portio.DIRECT
    client = jack.Client("portio-test", servername=jack_server.name, no_start_server=True)
    ins = [client.inports.register(f"in_{i}") for i in range(2)]
    out = client.outports.register("out")
    midi_in, midi_out = client.midi_inports.register("midi_in"), client.midi_outports.register("midi_out")
    arrays_in, arrays_out = [None, None], [None]
    audio = portio.AudioPorts([(arrays_in, 0, ins[0]), (arrays_in, 1, ins[1]), (arrays_out, 0, out)])
    midi_ins, midi_outs = portio.MidiInputs([(3, midi_in)]), portio.MidiOutputs([midi_out])
    frames = portio.CycleFrames(client)
    ring = MidiRing()
    seen: dict[str, object] = {"cycles": 0, "same_memory": True, "frame_times": True, "views": set()}
    done = threading.Event()

    @client.set_process_callback
    def process(n: int) -> None:
        if done.is_set():
            return
        audio.fetch(n)
        for mine, port in ((arrays_in[0], ins[0]), (arrays_in[1], ins[1]), (arrays_out[0], out)):
            theirs = port.get_array()
            seen["same_memory"] &= mine.ctypes.data == theirs.ctypes.data and mine.shape == theirs.shape
        seen["views"].add(id(arrays_out[0]))
        arrays_out[0][:] = 0.25
        seen["frame_times"] &= frames.last_frame_time() == client.last_frame_time
        seen["frame_times"] &= 0 <= frames.since_start() <= 4 * n
        midi_ins.read_into(ring, 1000, n)
        midi_outs.clear(n)
        seen["cycles"] += 1
        if seen["cycles"] == 5:
            seen["written"] = midi_outs.write(0, 7, b"\xb0\x07\x64")
        if seen["cycles"] >= 40:
            done.set()

    client.activate()
    try:
        client.connect(midi_out, midi_in)
        client.connect(out, ins[1])
        assert done.wait(30)
    finally:
        client.deactivate()
        client.close()
    assert seen["same_memory"] and seen["frame_times"] and seen["written"] is True
    assert len(seen["views"]) <= 2          # the output's view is made once (and again at most once)
    events = []
    while (event := ring.pop()) is not None:
        events.append(event)
    assert [(port, data) for _, port, data in events] == [(3, b"\xb0\x07\x64")]
    assert 1007 == events[0][0]            # its offset in the cycle kept (1000 stands for the cycle's frame)
