"""The event router: MIDI event -> clock follower or mapping; ``clock.*`` parameters -> follower.

Why one router for live and offline: the control thread (live,
:class:`~ravebox.host.control.ControlLoop`) and the render loop (offline,
:mod:`ravebox.render.render`) used to route events each in their own way, and
drifted. Both now drive this object, so a rendered performance is routed as
the box routes it.

Routing: clock, start, stop, continue and song position go to the clock
follower when the driver says the event's input feeds the clock (live: the
``[jack] clock_from`` input, by default every input; render: every event; the
follower itself follows the first input that sends clock and refuses the
others, see :class:`ravebox.clock.follower.SourcePicker`); other system realtime
messages are dropped; every other message is offered to the MIDI-learn
capture while one waits (:attr:`EventRouter.learner`; a consumed event is
neither mapped nor copied thru), then goes to the mapping. Once per pass
(:meth:`EventRouter.advance`) the ``clock.bpm`` and ``clock.offset_ms``
parameters are handed to the follower when a mapping moved them (their first
value is taken as the baseline, not applied) and the follower is advanced.

To add a destination (a MIDI-learn listener, a recorder): give it a small
Protocol here, a constructor argument, and one line in :meth:`EventRouter.route`.

Thread: the control thread live, the render thread offline; one driver at a
time, never the JACK process thread. Pure: no I/O, no clocks, no threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ravebox.clock.view import ClockView
from ravebox.mapping.model import Mapping
from ravebox.midi.events import CLOCK_TYPES, REALTIME_TYPES, MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

CLOCK_BPM, CLOCK_OFFSET = ParamKey("clock.bpm"), ParamKey("clock.offset_ms")

#: ``on_error(where, exc)``: what a driver does with an exception a destination raised.
ErrorHook = Callable[[str, Exception], None]


class ClockSource(Protocol):
    """The clock follower as the router (and the host) use it."""

    def feed(self, event: MidiEvent) -> None: ...
    def advance(self, frame: int) -> ClockView: ...
    def view(self) -> ClockView: ...
    def set_offset_ms(self, offset_ms: float) -> None: ...
    def set_internal_bpm(self, bpm: float, frame: int | None = None) -> None: ...


class EventSink(Protocol):
    """Where controller events go (the mapping runtime); the control loop reads the rest through the router."""

    def handle(self, event: MidiEvent) -> None: ...

    @property
    def mapping(self) -> Mapping:
        """The mapping in force (feedback sends what its rules show)."""
        ...

    def coalescable_ccs(self) -> frozenset[int]:
        """CC numbers whose intermediate values within one drain may be dropped under a flood."""
        ...

    def release_port(self, port: str, frame: int) -> int:
        """The source labelled ``port`` went away: release what it held; how many controls."""
        ...


class Learner(Protocol):
    """A MIDI-learn capture (:class:`~ravebox.mapping.learn.LearnCapture`) as the router feeds it."""

    def offer(self, event: MidiEvent) -> bool: ...
    def poll(self, frame: int) -> None: ...


def _raise(where: str, exc: Exception) -> None:
    raise exc


class EventRouter:
    """Routes events to ``follower`` / ``mapping`` and syncs the clock parameters from ``store``.

    ``on_error`` receives an exception a destination raised (the control loop
    counts and logs it); by default it propagates (render stops on it).
    """

    def __init__(self, follower: ClockSource | None, mapping: EventSink | None, store: ParamStore | None = None,
                 on_error: ErrorHook | None = None) -> None:
        self.follower = follower
        self.mapping = mapping
        self.store = store
        self.learner: Learner | None = None   # set by another thread while MIDI learn waits
        self.on_error: ErrorHook = on_error or _raise
        self._clock_params: tuple[float, float] | None = None

    def route(self, event: MidiEvent, feeds_clock: bool = True) -> bool:
        """Deliver one event; True when it is a controller message (MIDI thru may copy it)."""
        kind = event.message.type
        if kind in CLOCK_TYPES:
            if self.follower is not None and feeds_clock:
                try:
                    self.follower.feed(event)
                except Exception as exc:  # noqa: BLE001 - the driver decides (count or raise)
                    self.on_error("clock follower", exc)
            return False
        if kind in REALTIME_TYPES:
            return False
        learner = self.learner
        if learner is not None and learner.offer(event):
            return False
        if self.mapping is not None:
            try:
                self.mapping.handle(event)
            except Exception as exc:  # noqa: BLE001
                self.on_error("mapping", exc)
        return True

    def advance(self, frame: int) -> ClockView | None:
        """Sync ``clock.*`` parameters, bring the follower to ``frame``; its new view (None without one)."""
        if self.follower is None:
            return None
        self.sync_clock_params()
        return self.follower.advance(frame)

    def sync_clock_params(self) -> None:
        """Hand ``clock.bpm`` / ``clock.offset_ms`` to the follower when they changed since the last pass."""
        store, follower = self.store, self.follower
        if store is None or follower is None:
            return
        now = (store.target(CLOCK_BPM), store.target(CLOCK_OFFSET))
        before, self._clock_params = self._clock_params, now
        if before is None:
            return
        if now[0] != before[0]:
            follower.set_internal_bpm(now[0])
        if now[1] != before[1]:
            follower.set_offset_ms(now[1])
