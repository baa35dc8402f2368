"""Property tests: arbitrary bytes through parser and mapping never raise; garbage is counted."""

from __future__ import annotations

import mido
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ravebox.mapping import MappingRuntime, bundled_mapping
from ravebox.mapping.shaping import curve, relative_delta
from ravebox.midi.events import MidiEvent
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


# -- shaping properties ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["linear", "log", "exp", "gamma"]), st.floats(0.05, 20), st.floats(0.05, 10),
       st.lists(st.floats(0, 1), min_size=2, max_size=10))
def test_curves_fix_their_ends_and_never_fall(name, steepness, gamma, xs):
    assert curve(name, 0.0, steepness, gamma) == pytest.approx(0.0, abs=1e-12)
    assert curve(name, 1.0, steepness, gamma) == pytest.approx(1.0)
    ys = [curve(name, x, steepness, gamma) for x in sorted(xs)]
    assert all(b >= a - 1e-12 for a, b in zip(ys, ys[1:]))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["twos_complement", "binary_offset", "sign_magnitude"]), st.integers(0, 127))
def test_encoder_deltas_are_small_and_signed(encoder, value):
    assert -64 <= relative_delta(encoder, value) <= 63


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 3, 125, 126, 127]), max_size=40), st.sampled_from([0, 10, 500]),
       st.integers(0, 5))
def test_smoothing_never_changes_encoder_travel(values, smoothing, spacing):
    """Whatever the glide and however close the messages, the encoder travels sum(deltas) * step."""
    store = ParamStore({"main": 1}, 1000)
    text = f'[[map]]\ncc = 16\nencoder = 1\nstep = 0.001\nsmoothing_ms = {smoothing}\ntarget = "latent.bias"\n'
    runtime = MappingRuntime(parse_text(text), store)
    for i, value in enumerate(values):
        runtime.handle(MidiEvent(i * spacing, "p", mido.Message("control_change", control=16, value=value)))
    expected = sum(v - 128 if v >= 64 else v for v in values) * 0.001
    assert store.target(ParamKey("latent.bias", "main", 0)) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1), st.lists(st.integers(0, 127), min_size=1, max_size=20), st.sampled_from(["pickup", "catchup"]))
def test_soft_takeover_always_owns_the_value_at_the_end_of_travel(start, path, mode):
    """After any wandering, a fader pushed to the top and pulled to the bottom owns its parameter."""
    store = ParamStore({"main": 1}, 1000)
    text = f'[[map]]\ncc = 1\ntarget = "mix.wet"\nsmoothing_ms = 0\ntakeover = "{mode}"\n'
    runtime = MappingRuntime(parse_text(text), store)
    store.set(ParamKey("mix.wet", "main"), start, 0, 0)
    for i, value in enumerate(path + [127, 0, 64]):
        runtime.handle(MidiEvent(i, "p", mido.Message("control_change", control=1, value=value)))
    assert store.target(ParamKey("mix.wet", "main")) == pytest.approx(64 / 127)


def parse_text(text: str):
    from pathlib import Path

    from ravebox.config.diagnostics import Diagnostics
    from ravebox.mapping import parse_mapping

    import tomllib

    diags = Diagnostics("inline.toml", text)
    mapping = parse_mapping(tomllib.loads(text), diags, Path("inline.toml"))
    diags.raise_if_any()
    return mapping
