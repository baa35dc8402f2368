"""Property tests: arbitrary bytes through parser and mapping never raise; garbage is counted."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from ravebox.mapping import MappingRuntime, bundled_mapping
from ravebox.midi.parser import MidiParser
from ravebox.params.store import ParamStore
from ravebox.params.table import PARAMS, ParamKey

MAPPINGS = {name: bundled_mapping(name) for name in
            ("default", "nanokontrol2", "midimix", "launchcontrol-xl", "generic-16")}
PORTS = ["nanoKONTROL2 MIDI 1", "MIDI Mix MIDI 1", "Launch Control XL", "keys"]

chunks = st.lists(st.tuples(st.sampled_from(PORTS), st.binary(max_size=24)), max_size=30)


def in_range(store: ParamStore) -> bool:
    for name, spec in PARAMS.items():
        for key in store.expand(ParamKey(name)):
            if not spec.minimum - 1e-9 <= store.target(key) <= spec.maximum + 1e-9:
                return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MAPPINGS)), chunks, st.integers(0, 3))
def test_arbitrary_bytes_through_parser_and_mapping(name, data, swap_at):
    store = ParamStore({"main": 8, "aux": 16}, 48000)
    runtime = MappingRuntime(MAPPINGS[name], store)
    parser = MidiParser()
    for i, (port, chunk) in enumerate(data):
        if i == swap_at:
            runtime.swap(MAPPINGS["default"])
        for event in parser.feed(port, i * 64, chunk):
            runtime.handle(event)
    assert runtime.stats.errors == 0, runtime.stats.last_error
    assert sum(p.stats.messages for p in parser.ports.values()) == runtime.stats.events
    assert in_range(store)


channel_messages = st.lists(st.tuples(
    st.sampled_from([0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0]), st.integers(0, 15),
    st.integers(0, 127), st.integers(0, 127)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(channel_messages, st.sampled_from(sorted(MAPPINGS)))
def test_every_valid_message_is_either_matched_or_counted_unmatched(messages, name):
    store = ParamStore({"main": 8}, 48000)
    runtime = MappingRuntime(MAPPINGS[name], store)
    parser = MidiParser()
    data = []
    for kind, ch, a, b in messages:
        data += [kind | ch, a] + ([] if kind in (0xC0, 0xD0) else [b])
    events = parser.feed("keys", 0, bytes(data))
    assert len(events) == len(messages) and parser.garbage() == 0
    for event in events:
        runtime.handle(event)
    assert runtime.stats.errors == 0, runtime.stats.last_error
    assert runtime.stats.matched + runtime.stats.unmatched >= len(messages)
    assert in_range(store)
