"""The event router: one table of events in, destinations out (live and render drive the same object)."""

from __future__ import annotations

import mido
import pytest

from ravebox.assembly.router import EventRouter
from ravebox.clock.follower import ClockFollower
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey


class Sink:
    """Records what the router hands to the mapping (implements EventSink)."""

    mapping = None

    def __init__(self) -> None:
        self.events: list[MidiEvent] = []

    def handle(self, event: MidiEvent) -> None:
        self.events.append(event)

    def coalescable_ccs(self) -> frozenset[int]:
        return frozenset()

    def release_port(self, port: str, frame: int) -> int:
        return 0


class Clock:
    """Records what the router hands to the follower (implements ClockSource by delegation)."""

    def __init__(self) -> None:
        self.inner = ClockFollower(48000)
        self.fed: list[str] = []
        self.calls: list[tuple[str, float]] = []

    def feed(self, event):
        self.fed.append(event.message.type)
        self.inner.feed(event)

    def advance(self, frame):
        return self.inner.advance(frame)

    def view(self):
        return self.inner.view()

    def set_offset_ms(self, offset_ms):
        self.calls.append(("offset", offset_ms))

    def set_internal_bpm(self, bpm, frame=None):
        self.calls.append(("bpm", bpm))


def ev(frame: int, **kw) -> MidiEvent:
    kind = kw.pop("type")
    return MidiEvent(frame, "in", mido.Message(kind, **kw))


@pytest.mark.parametrize("message, feeds_clock, to_clock, to_mapping, controller", [
    (dict(type="clock"), True, ["clock"], 0, False),
    (dict(type="clock"), False, [], 0, False),
    (dict(type="start"), True, ["start"], 0, False),
    (dict(type="songpos", pos=8), True, ["songpos"], 0, False),
    (dict(type="active_sensing"), True, [], 0, False),
    (dict(type="reset"), True, [], 0, False),
    (dict(type="control_change", control=7, value=3), True, [], 1, True),
    (dict(type="note_on", note=60, velocity=1), False, [], 1, True),
])
def test_route_table(message, feeds_clock, to_clock, to_mapping, controller):
    clock, sink = Clock(), Sink()
    router = EventRouter(clock, sink)
    assert router.route(ev(10, **message), feeds_clock) is controller
    assert clock.fed == to_clock and len(sink.events) == to_mapping


def test_clock_params_first_value_is_the_baseline_then_changes_reach_the_follower():
    store, clock = ParamStore({"main": 8}, 48000), Clock()
    router = EventRouter(clock, Sink(), store)
    router.advance(0)
    assert clock.calls == []
    store.set(ParamKey("clock.bpm"), 100.0, 10)
    store.set(ParamKey("clock.offset_ms"), 5.0, 10)
    router.advance(100)
    router.advance(200)
    assert clock.calls == [("bpm", 100.0), ("offset", 5.0)]


def test_a_failing_destination_goes_to_on_error_or_raises():
    class Bad(Sink):
        def handle(self, event):
            raise ValueError("boom")

    seen = []
    EventRouter(None, Bad(), on_error=lambda where, exc: seen.append((where, str(exc)))).route(
        ev(0, type="control_change", control=1, value=1))
    assert seen == [("mapping", "boom")]
    with pytest.raises(ValueError):
        EventRouter(None, Bad()).route(ev(0, type="control_change", control=1, value=1))


def test_without_a_follower_advance_is_none():
    assert EventRouter(None, None).advance(0) is None
