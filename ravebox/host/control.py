"""The control thread: MIDI ring -> parser -> clock follower and mapping -> ParamStore.

Why its own thread, every few milliseconds: a CC must reach the per-sample
gains (and the next engine block) within milliseconds, not one model block
(43 ms at ratio 2048) later, and the clock follower must see every tick with
its frame stamp soon after it arrived. Nothing here touches JACK.

Routing is the event router's (:class:`~ravebox.assembly.router.EventRouter`,
the same object render drives): this loop tells it whether an event's input
feeds the clock (the input named by ``clock_from``; default ``"any"``: every
input, and the follower picks the first that sends clock). Optional MIDI thru
copies controller messages (from every input but the clock input) to
``midi_out``. A message the mapping or follower chokes on is counted
(``errors``), never fatal.

Labels: ``MidiEvent.port`` is the device identity a mapping's ``port = ...``
filter matches. :attr:`labels` holds one per input (ring port index); the main
thread recomputes them when connections change (see
:func:`ravebox.host.autoconnect.source_labels`): ``"input <- device"`` when
exactly one source feeds the input, else the input's own short name. They are
computed there, not here and never in the process callback, because reading
connections and aliases is a JACK server round trip.

Direct-ALSA inputs (``[jack] alsa_inputs``, :mod:`ravebox.host.alsa_inputs`):
:attr:`alsa_sources` is a tuple of ``(ring, parser, label)``, one per open
ALSA port, each ring filled by that port's rtmidi callback thread. They are
drained after the JACK MIDI ring, labelled ``"<input> <- <device>"``, may be
copied thru, and never feed the clock follower (their stamps jitter by about
one period). Empty (no ALSA inputs configured) costs one empty loop per pass.

MIDI learn: while :attr:`learner` (the router's) holds a capture
(:class:`~ravebox.mapping.learn.LearnCapture`), every controller event is
offered to it before the mapping, and one it consumes is not mapped nor
copied thru (the move that teaches does not also play).

Load (a 10,000 CC/s flood must not starve the inference worker): each pass
takes what waits in the MIDI ring into a backlog, keeps only the last message
of every coalescable control change per (input, channel, controller) in it
(``coalesced`` counts the rest; which CCs qualify is the mapping's call, see
``MappingRuntime.coalescable_ccs``), and handles at most
:data:`MAX_EVENTS_PER_PASS` messages; the rest wait for the next pass. The
backlog never holds more than the ring does, so a sustained flood fills the
ring, where the process callback counts every message it cannot keep
(``MidiRing.dropped``). Nothing is lost uncounted.

Vanished sources: when the main thread relabels an input because its source
changed or went away, it asks :meth:`release_source` (run here, the store's one
writer) to let go of the momentary controls that source held; for a direct-ALSA
port that vanished it asks :meth:`retire_source` (its ring's last events, then the release).

Thread: :meth:`run` is the control thread. :attr:`labels`, :attr:`alsa_sources`,
:attr:`learner` and :attr:`feedback` are replaced by other threads; each is a
single reference assignment.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from ravebox.assembly.router import EventRouter, EventSink, Learner
from ravebox.clock.view import ClockView
from ravebox.host.loopthread import LoopThread
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.midi.events import MidiEvent
from ravebox.midi.parser import PortParser

log = logging.getLogger("ravebox.host.control")

#: Messages parsed and handled per control pass at most (about 2 ms apart).
MAX_EVENTS_PER_PASS = 256
_ALL_CCS: frozenset[int] = frozenset()


class ControlLoop(LoopThread):
    """Drains the MIDI ring every ``interval_ms`` and publishes the clock view."""

    def __init__(self, ring: MidiRing, out_ring: ByteRing, port_names: list[str], parser_factory: Callable,
                 router: EventRouter, now: Callable[[], int], publish_clock: Callable[[ClockView], None],
                 interval_ms: float = 2.0, clock_from: str = "any", thru: bool = False,
                 rt_priority: int = 0) -> None:
        self.ring = ring
        self.out_ring = out_ring
        self.inputs = tuple(port_names)           # our MIDI input short names, per ring port index
        self.labels = list(port_names)            # what MidiEvent.port says, per ring port index
        self.alsa_sources: tuple = ()             # (ring, parser, label) per open direct-ALSA port
        self.feedback = None                      # a FeedbackSender (values back to the controllers), set by the owner
        self._parsers = [parser_factory(name) for name in port_names]
        self.clock_index = self.inputs.index(clock_from) if clock_from in self.inputs else -1
        self.router = router
        router.on_error = self._error             # count and log; never stop the control thread
        self._now = now
        self._publish = publish_clock
        self.interval = interval_ms / 1000.0
        self.clock_any = clock_from == "any"
        self.thru = thru
        self._rt_priority = rt_priority
        self.realtime = False
        self.events = 0
        self.coalesced = 0                        # CC messages superseded within a pass, never parsed
        self.released = 0                         # momentary controls let go when their source vanished
        self._backlog: list[tuple[int, int, bytes]] = []
        self.errors = 0
        self.loops = 0
        self.last_error = ""
        self._calls: collections.deque = collections.deque()
        self._init_thread("ravebox-control")

    @property
    def mapping(self) -> EventSink | None:
        """The mapping runtime the router delivers to."""
        return self.router.mapping

    @property
    def learner(self) -> Learner | None:
        """The router's MIDI-learn capture (set by the main thread while learn waits)."""
        return self.router.learner

    @learner.setter
    def learner(self, capture: Learner | None) -> None:
        self.router.learner = capture

    def parser_stats(self) -> dict[str, dict]:
        return {p.port: p.stats.as_dict() for p in self._parsers}

    def status(self) -> dict[str, int | bool]:
        """Any thread: this loop's own counters (plain ints read once; no lock)."""
        feedback = self.feedback
        return {"realtime": self.realtime, "midi_events": self.events, "midi_coalesced": self.coalesced,
                "midi_released": self.released, "control_errors": self.errors,
                "midi_garbage": sum(int(s["garbage"]) for s in self.parser_stats().values()),
                **(feedback.status() if feedback is not None else {})}

    # -- control thread ------------------------------------------------------------------
    def run(self) -> None:
        """Control thread: drain, advance the clock, publish, sleep; until stopped."""
        from ravebox.host.rtprio import make_realtime

        self.realtime = make_realtime(self._rt_priority, "control thread")
        while not self._stop.is_set():
            self.step()
            time.sleep(self.interval)

    def call(self, fn: Callable[[], object], timeout: float = 1.0) -> object:
        """Main thread: run ``fn`` on the control thread (the store's one writer); its result or None."""
        done, box = threading.Event(), list[object]()
        self._calls.append((fn, done, box))
        if not self._thread.is_alive():
            self._run_calls()
        done.wait(timeout)
        return box[0] if box else None

    def _run_calls(self) -> None:
        while self._calls:
            fn, done, box = self._calls.popleft()
            try:
                box.append(fn())
            except Exception as exc:  # noqa: BLE001
                self._error("command", exc)
            done.set()

    def step(self) -> None:
        """One pass (also called directly by tests and by render-like drivers)."""
        self.drain()
        learner = self.learner
        if learner is not None:
            learner.poll(self._now())
        self._run_calls()
        self._send_feedback()
        try:
            view = self.router.advance(self._now())
            if view is not None:
                self._publish(view)
        except Exception as exc:  # noqa: BLE001
            self._error("clock follower", exc)
        self.loops += 1

    def _send_feedback(self) -> None:
        """Parameters that changed (a move, a preset, a set, a reload) go back to the controllers, rate-limited."""
        feedback = self.feedback
        if feedback is None:
            return
        try:
            sink = self.mapping
            feedback.step(sink.mapping if sink is not None else None, self._now())
        except Exception as exc:  # noqa: BLE001
            self._error("feedback", exc)

    def drain(self) -> int:
        count = 0
        backlog = self._backlog
        ring = self.ring
        room = ring.slots - len(backlog)
        while room > 0:
            item = ring.pop()
            if item is None:
                break
            backlog.append(item)
            room -= 1
        if len(backlog) > 1:
            self._coalesce(backlog)
        take = min(len(backlog), MAX_EVENTS_PER_PASS)
        for frame, port, data in backlog[:take]:
            for event in self._parsers[port].feed(frame, data):
                self._route(port, event)
                count += 1
        del backlog[:take]
        for ring, parser, label in self.alsa_sources:
            count += self._drain_alsa(ring, parser, label)
        self.events += count
        return count

    def _drain_alsa(self, ring: MidiRing, parser: PortParser, label: str) -> int:
        """Deliver what waits in one direct-ALSA source's ring (never feeds the clock)."""
        count = 0
        item = ring.pop()
        while item is not None:
            for event in parser.feed(item[0], item[2]):
                self._deliver(event, label, False, self.thru)
                count += 1
            item = ring.pop()
        return count

    def _coalesce(self, backlog: list[tuple[int, int, bytes]]) -> None:
        """Keep only the newest message per (input, status, controller) of coalescable CCs, in order."""
        mapping = self.mapping
        ccs = mapping.coalescable_ccs() if mapping is not None else _ALL_CCS
        if not ccs:
            return
        newest: dict[tuple[int, int, int], int] = {}
        for i, (_, port, data) in enumerate(backlog):
            if len(data) == 3 and data[0] & 0xF0 == 0xB0 and data[1] in ccs:
                newest[(port, data[0], data[1])] = i
        if not newest:
            return
        kept = [item for i, item in enumerate(backlog)
                if not (len(item[2]) == 3 and item[2][0] & 0xF0 == 0xB0 and item[2][1] in ccs)
                or newest[(item[1], item[2][0], item[2][1])] == i]
        self.coalesced += len(backlog) - len(kept)
        backlog[:] = kept

    def release_source(self, label: str) -> None:
        """Control thread (via :meth:`post`): release what the source labelled ``label`` held."""
        mapping = self.mapping
        if mapping is not None:
            self.released += mapping.release_port(label, self._now())

    def retire_source(self, ring: MidiRing, parser: PortParser, label: str, replugged: bool = False) -> None:
        """Control thread (via :meth:`post`): a direct-ALSA source was closed (its port vanished).

        What it pushed before closing is delivered first (a release sent just
        before the unplug still counts), then what it held is released, unless
        an open source still carries the same label (a second, identical
        controller): its held controls are indistinguishable by label. A
        ``replugged`` source is released regardless: the open one with its
        label is the same device, reopened, and holds nothing yet.
        """
        self.events += self._drain_alsa(ring, parser, label)
        if replugged or all(other != label for _, _, other in self.alsa_sources):
            self.release_source(label)

    def post(self, fn: Callable[[], object]) -> None:
        """Any thread: run ``fn`` on the control thread at its next pass, without waiting."""
        self._calls.append((fn, threading.Event(), []))

    def _route(self, port: int, event: MidiEvent) -> None:
        self._deliver(event, self.labels[port], port == self.clock_index or self.clock_any,
                      self.thru and port != self.clock_index)

    def _deliver(self, event: MidiEvent, label: str, feeds_clock: bool, thru: bool) -> None:
        """Label ``event`` and route it; copy a controller message to ``midi_out`` if ``thru``."""
        if label != event.port:
            event = MidiEvent(event.frame, label, event.message)
        if self.router.route(event, feeds_clock) and thru:
            self.out_ring.push(0, 0, event.message.bin())

    def _error(self, where: str, exc: Exception) -> None:
        self.errors += 1
        text = f"{where}: {type(exc).__name__}: {exc}"
        if text != self.last_error:  # one line per new kind of problem, not per event
            log.warning("control thread: %s", text)
        self.last_error = text
