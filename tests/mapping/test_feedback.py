"""Feedback offline: the inverse shaping round-trips through the runtime, the rate limit holds under a flood
and the final value is always the last one sent."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from ravebox.config.diagnostics import Diagnostics
from ravebox.errors import ConfigError
from ravebox.mapping.feedback import FeedbackSender, feedback_bytes, inverse_curve
from ravebox.mapping.loader import load_mapping, parse_mapping
from ravebox.mapping.runtime import MappingRuntime
from ravebox.mapping.shaping import curve
from ravebox.midi.events import MidiEvent
from ravebox.midi.parser import PortParser
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

LABEL = "knobs <- nanoKONTROL2 MIDI 1"
MAPPING = """
[defaults]
port = "nanoKONTROL2"
feedback = true
[[map]]
cc = 16
target = "loop.dissolve"
curve = "exp"
[[map]]
cc14 = 1
channel = 2
target = "out.gain_db"
range = [-40, 6]
[[map]]
nrpn = [3, 9]
target = "prior.temperature"
[[map]]
note = 40
target = "latent.freeze"
[[map]]
cc = 32
button = "toggle"
target = "graph.mute"
[[map]]
pitchbend = true
target = "latent.bias"
dim = 2
curve = "gamma"
gamma = 3
range = [-2, 2]
[[map]]
cc = 7
target = "mix.wet"
feedback = false
"""


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "fb.toml"
    path.write_text(MAPPING)
    return load_mapping(path)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []

    def push(self, out: int, data: bytes) -> None:
        self.sent.append((out, data))


def replay(mapping, store, sent: list[tuple[int, bytes]], frame: int = 0) -> None:
    """Feed the feedback bytes back in as if the control had moved there."""
    runtime = MappingRuntime(mapping, store)
    parser = PortParser("knobs")
    for _, data in sent:
        for event in parser.feed(frame, data):
            runtime.handle(MidiEvent(frame, LABEL, event.message))


@pytest.mark.parametrize("name", ["linear", "exp", "log", "gamma"])
def test_inverse_curve_undoes_the_curve(name):
    xs = np.linspace(0, 1, 101)
    assert np.allclose([inverse_curve(name, curve(name, x, 3.0, 2.5), 3.0, 2.5) for x in xs], xs, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_feedback_moves_a_fresh_runtime_to_the_same_values(mapping, seed):
    rng = np.random.default_rng(seed)
    store = ParamStore({"main": 8}, 48000)
    values = {ParamKey("loop.dissolve", "main"): rng.uniform(0, 1), ParamKey("out.gain_db", "main"): rng.uniform(-40, 6),
              ParamKey("prior.temperature", "main"): rng.uniform(0, 2), ParamKey("latent.freeze", "main"): 1.0,
              ParamKey("graph.mute", "main"): 1.0, ParamKey("latent.bias", "main", 2): rng.uniform(-2, 2)}
    for key, value in values.items():
        store.set(key, value, 0, 0.0)
    out = Outbox()
    FeedbackSender(store, 480, out.push, lambda: [LABEL]).step(mapping, 0)
    kinds = {data[0] & 0xF0 for _, data in out.sent}
    assert kinds == {0xB0, 0x90, 0xE0}
    assert not any(data[:2] == bytes((0xB0, 7)) for _, data in out.sent)        # feedback = false
    echo = ParamStore({"main": 8}, 48000)
    echo.set(ParamKey("latent.freeze", "main"), 0.0, 0, 0.0)
    replay(mapping, echo, out.sent)
    for key, value in values.items():
        got = echo.target(key)
        span = {"out.gain_db": 46 / 16383, "prior.temperature": 2 / 16383, "loop.dissolve": 0.05,
                "latent.bias": 4 / 16383 * 50}.get(key.name, 0)
        assert got == pytest.approx(value, abs=span + 1e-6), key


def test_button_feedback_is_lit_or_dark(mapping):
    rule = next(r for r in mapping.rules if r.source.kind == "note")
    assert feedback_bytes(rule, 1.0) == (bytes((0x90, 40, 127)),)
    assert feedback_bytes(rule, 0.0) == (bytes((0x90, 40, 0)),)


def test_a_flood_sends_at_most_one_message_per_control_per_interval_and_the_final_value_last(mapping):
    store = ParamStore({"main": 8}, 48000)
    out = Outbox()
    sender = FeedbackSender(store, 480, out.push, lambda: [LABEL])
    key = ParamKey("loop.dissolve", "main")
    rng = np.random.default_rng(1)
    frame = 0
    for _ in range(1000):                                  # 1000 changes a second, a control pass every 2 ms
        frame += 48
        store.set(key, float(rng.uniform(0, 1)), frame, 0.0)
        if frame % 96 == 0:
            sender.step(mapping, frame)
    final = 0.123
    store.set(key, final, frame, 0.0)
    for _ in range(10):
        frame += 96
        sender.step(mapping, frame)
    cc16 = [(i, d) for i, (_, d) in enumerate(out.sent) if d[:2] == bytes((0xB0, 16))]
    assert len(cc16) <= 1 + frame // 480 + 1
    rule = next(r for r in mapping.rules if r.source.number == 16)
    assert cc16[-1][1] == feedback_bytes(rule, final)[0]
    assert sender.limited > 0


def test_resend_and_reload_send_every_value_again(mapping):
    store = ParamStore({"main": 8}, 48000)
    out = Outbox()
    labels = [LABEL, "keys <- other device"]
    sender = FeedbackSender(store, 480, out.push, lambda: labels)
    sender.step(mapping, 0)
    first = list(out.sent)
    assert first and {o for o, _ in first} == {0}          # only the nanoKONTROL2's output
    sender.step(mapping, 1000)
    assert out.sent == first                              # nothing changed: nothing sent
    sender.resend()
    sender.step(mapping, 1001)
    assert out.sent[len(first):] == first
    labels[0] = "knobs"                                   # unplugged: its label loses the device
    sender.step(mapping, 1002)
    labels[0] = LABEL                                     # plugged back in
    sender.step(mapping, 1003)
    assert out.sent[-len(first):] == first


def test_feedback_on_a_program_change_is_refused(tmp_path):
    text = '[[map]]\nprogram = true\ntarget = "preset.recall"\nfeedback = true\n'
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="feedback applies to controls that show a parameter"):
        load_mapping(path)
    diags = Diagnostics("x.toml")
    parse_mapping({"defaults": {"feedback": "yes"}}, diags, path)
    assert "defaults.feedback: must be true or false" in str(diags.items[0])


def test_a_message_bytes_parse_back_with_mido():
    for data in (bytes((0xB0, 1, 5)), bytes((0xE0, 0, 64)), bytes((0x90, 40, 127))):
        assert mido.Message.from_bytes(list(data)).bytes() == list(data)


@pytest.mark.parametrize("name", ["nanokontrol2", "midimix", "launchcontrol-xl"])
def test_bundled_controllers_with_leds_light_the_selected_pattern(name):
    from ravebox.mapping.bundled import bundled_mapping

    mapping = bundled_mapping(name)
    store = ParamStore({"main": 8}, 48000)
    store.set(ParamKey("gate.pattern", "main"), 2.0, 0, 0.0)
    out = Outbox()
    label = {"nanokontrol2": "k <- nanoKONTROL2", "midimix": "k <- MIDI Mix", "launchcontrol-xl": "k <- Launch Control XL"}
    FeedbackSender(store, 480, out.push, lambda: [label[name]]).step(mapping, 0)
    rows = [r for r in mapping.rules if r.feedback and r.target.name == "gate.pattern"]
    lit = [d for _, d in out.sent if d[2] == 127]
    assert len(rows) == 8
    assert bytes(feedback_bytes(rows[2], 2.0)[0]) in lit
    assert all(feedback_bytes(r, 2.0)[0][2] == 0 for r in rows if r.value != 2)


def test_after_an_xrun_the_controls_sent_just_before_go_out_again_with_their_current_values(mapping):
    """A message JACK dropped with its cycle is re-sent (the value then current), rate-limited; a control
    that went out long before the xrun, or never moved, is not."""
    store = ParamStore({"main": 8}, 48000)
    out = Outbox()
    xruns = [0]
    sender = FeedbackSender(store, 480, out.push, lambda: [LABEL], xruns=lambda: xruns[0], resend_window=48000)
    dissolve, gain = ParamKey("loop.dissolve", "main"), ParamKey("out.gain_db", "main")
    rules = {r.source.number: r for r in mapping.rules}
    sender.step(mapping, 0)                                 # every value once
    store.set(gain, -10.0, 1000, 0.0)
    sender.step(mapping, 1000)                              # gain moved at frame 1000
    store.set(dissolve, 0.25, 100_000, 0.0)
    sender.step(mapping, 100_000)                           # dissolve moved at 100000: 99000 frames later
    mark = len(out.sent)
    store.set(dissolve, 0.5, 100_100, 0.0)
    sender.step(mapping, 100_100)                           # inside the rate limit: not sent yet
    assert len(out.sent) == mark and sender.limited == 1
    xruns[0] += 1                                           # JACK dropped a cycle
    sender.step(mapping, 100_200)                           # still inside dissolve's interval: waits
    assert len(out.sent) == mark
    sender.step(mapping, 100_480)
    again = out.sent[mark:]
    assert again == [(0, feedback_bytes(rules[16], 0.5)[0])]   # dissolve, at its current value; gain not
    assert sender.resent == 1
    sender.step(mapping, 101_000)
    assert out.sent[mark:] == again                         # nothing more without another xrun
    xruns[0] += 1
    sender.step(mapping, 101_001)                           # sent 521 frames ago: again, the same value
    assert out.sent[mark + 1:] == again and sender.resent == 2


def test_a_message_the_output_ring_dropped_goes_out_again(mapping):
    store = ParamStore({"main": 8}, 48000)
    sent: list[bytes] = []
    room = [1]

    def push(out: int, data: bytes) -> bool:                # room for one message, then full
        if room[0] <= 0:
            return False
        room[0] -= 1
        sent.append(data)
        return True

    sender = FeedbackSender(store, 480, push, lambda: [LABEL])
    sender.step(mapping, 0)
    assert len(sent) == 1 and sender.dropped > 0
    room[0] = 1000                                          # the ring drained
    sender.step(mapping, 480)
    everything = Outbox()
    FeedbackSender(store, 480, everything.push, lambda: [LABEL]).step(mapping, 0)
    assert sorted(sent) == sorted(d for _, d in everything.sent)   # the first group whole, the rest next pass
    assert sender.status()["feedback_dropped"] == sender.dropped
