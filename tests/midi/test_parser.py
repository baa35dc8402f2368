"""Raw bytes in, mido messages and garbage counters out (table-driven + properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ravebox.midi.parser import MidiParser, PortParser, parse_bytes


def summary(data: list[int]) -> tuple[list[str], dict[str, int]]:
    parser = PortParser("p")
    events = parser.feed(0, data)
    return [str(e.message) for e in events], parser.stats.as_dict()


CASES = [
    # name, bytes, messages, nonzero counters
    ("cc", [0xB0, 7, 100], ["control_change channel=0 control=7 value=100 time=0"], {}),
    ("running status", [0x90, 60, 100, 62, 0],
     ["note_on channel=0 note=60 velocity=100 time=0", "note_on channel=0 note=62 velocity=0 time=0"], {}),
    ("realtime inside a message", [0xB1, 0xF8, 1, 0xFA, 64],
     ["clock time=0", "start time=0", "control_change channel=1 control=1 value=64 time=0"], {}),
    ("realtime keeps running status", [0xB0, 1, 2, 0xF8, 1, 3],
     ["control_change channel=0 control=1 value=2 time=0", "clock time=0",
      "control_change channel=0 control=1 value=3 time=0"], {}),
    ("truncated by a new status", [0xB0, 7, 0x90, 60, 1],
     ["note_on channel=0 note=60 velocity=1 time=0"], {"truncated": 1}),
    ("stray data bytes", [5, 6, 0xC3, 9],
     ["program_change channel=3 program=9 time=0"], {"stray_data": 2}),
    ("system common cancels running status", [0xB0, 1, 2, 0xF6, 1, 3],
     ["control_change channel=0 control=1 value=2 time=0", "tune_request time=0"], {"stray_data": 2}),
    ("undefined status bytes", [0xF4, 1, 0xF9, 0xFD, 0xF5],
     [], {"undefined": 4, "stray_data": 1}),
    ("sysex with realtime inside", [0xF0, 0x7E, 0xF8, 1, 0xF7],
     ["clock time=0", "sysex data=(126,1) time=0"], {}),
    ("sysex cut by a status", [0xF0, 1, 2, 0xB0, 1, 1],
     ["control_change channel=0 control=1 value=1 time=0"], {"truncated": 1}),
    ("lone sysex end", [0xF7], [], {"stray_data": 1}),
    ("pitch bend", [0xE0, 0, 0x40], ["pitchwheel channel=0 pitch=0 time=0"], {}),
    ("channel pressure, running", [0xD2, 5, 6],
     ["aftertouch channel=2 value=5 time=0", "aftertouch channel=2 value=6 time=0"], {}),
]


@pytest.mark.parametrize("name,data,messages,counters", CASES, ids=[c[0] for c in CASES])
def test_framing(name, data, messages, counters):
    got, stats = summary(data)
    assert got == messages
    for key, value in stats.items():
        if key in ("messages", "garbage"):
            continue
        assert value == counters.get(key, 0), key
    assert stats["garbage"] == sum(counters.values())


def test_message_split_across_feeds_keeps_state_and_frame_of_completion():
    parser = PortParser("p")
    assert parser.feed(10, [0xB0, 7]) == []
    (event,) = parser.feed(20, [99])
    assert (event.frame, event.port, event.message.value) == (20, "p", 99)


def test_ports_have_separate_running_status():
    parser = MidiParser()
    parser.feed("a", 0, [0xB0, 1, 1])
    assert parser.feed("b", 0, [2, 3]) == []
    (event,) = parser.feed("a", 0, [2, 3])
    assert (event.port, event.message.control, event.message.value) == ("a", 2, 3)
    assert parser.stats()["b"].stray_data == 2
    assert parser.garbage() == 2


def test_oversized_sysex_is_dropped_and_counted():
    parser = PortParser("p", max_sysex=4)
    assert parser.feed(0, [0xF0, 1, 2, 3, 4, 5, 0xF7]) == []
    assert parser.stats.sysex_overflow == 1


def test_values_outside_a_byte_are_counted():
    parser = PortParser("p")
    assert parser.feed(0, [0xB0, 300, -1, 1, 2])[0].message.value == 2
    assert parser.stats.bad_input == 2


def test_parse_bytes_helper():
    assert [e.message.type for e in parse_bytes(bytes([0xFC, 0xFB]))] == ["stop", "continue"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 255), max_size=40), max_size=10))
def test_arbitrary_streams_never_raise_and_everything_is_accounted(chunks):
    parser = PortParser("p")
    events = []
    for frame, chunk in enumerate(chunks):
        events += parser.feed(frame, bytes(chunk))
    assert parser.stats.decode_errors == 0
    assert parser.stats.messages == len(events)
    assert all(0 <= e.frame < max(len(chunks), 1) for e in events)
    data_bytes = sum(1 for chunk in chunks for b in chunk if b < 0x80)
    assert parser.stats.stray_data <= data_bytes + sum(chunk.count(0xF7) for chunk in chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0x80, 0x90, 0xA0, 0xB0, 0xE0]), st.integers(0, 15),
                          st.integers(0, 127), st.integers(0, 127)), max_size=20),
       st.lists(st.integers(0xF8, 0xFF).filter(lambda b: b not in (0xF9, 0xFD)), max_size=20),
       st.randoms(use_true_random=False))
def test_valid_stream_with_running_status_and_realtime_decodes_exactly(msgs, realtime, rnd):
    data: list[int] = []
    last = None
    for kind, ch, a, b in msgs:
        status = kind | ch
        data += ([] if status == last else [status]) + [a, b]
        last = status
    for byte in realtime:  # sprinkle realtime bytes anywhere
        data.insert(rnd.randint(0, len(data)), byte)
    parser = PortParser("p")
    events = parser.feed(0, data)
    channel = [e.message.bytes() for e in events if e.message.type not in
               ("clock", "start", "continue", "stop", "active_sensing", "reset")]
    assert channel == [[k | c, a, b] for k, c, a, b in msgs]
    assert len(events) - len(channel) == len(realtime)
    assert parser.stats.garbage == 0
