"""The control thread: MIDI ring -> parser -> clock follower and mapping -> ParamStore.

Why its own thread, every few milliseconds: a CC must reach the per-sample
gains (and the next engine block) within milliseconds, not one model block
(43 ms at ratio 2048) later, and the clock follower must see every tick with
its frame stamp soon after it arrived. Nothing here touches JACK.

Routing: clock, start, stop, continue and song position messages go to the
clock follower when they arrive on ``clock_in`` (or on any port with
``clock_from = "any"``); every other message goes to the mapping. Optional
MIDI thru copies controller messages to ``midi_out``. A message the mapping or
follower chokes on is counted (``errors``), never fatal.

Thread: :meth:`run` is the control thread. :attr:`labels` (the source name
each MIDI port reports) and the mapping runtime reference are replaced by the
main thread; both are single reference assignments.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ravebox.host.rings import ByteRing, MidiRing

log = logging.getLogger("ravebox.host.control")

CLOCK_TYPES = frozenset({"clock", "start", "stop", "continue", "songpos"})
REALTIME_TYPES = frozenset({"clock", "start", "stop", "continue", "active_sensing", "reset"})


class ControlLoop:
    """Drains the MIDI ring every ``interval_ms`` and publishes the clock view."""

    def __init__(self, ring: MidiRing, out_ring: ByteRing, port_names: list[str], parser_factory: Callable,
                 follower, mapping, now: Callable[[], int], publish_clock: Callable[[object], None],
                 interval_ms: float = 2.0, clock_from: str = "clock_in", thru: bool = False) -> None:
        self.ring = ring
        self.out_ring = out_ring
        self.labels = list(port_names)            # what MidiEvent.port says, per ring port index
        self._parsers = [parser_factory(name) for name in port_names]
        self.follower = follower
        self.mapping = mapping
        self._now = now
        self._publish = publish_clock
        self.interval = interval_ms / 1000.0
        self.clock_any = clock_from == "any"
        self.thru = thru
        self.events = 0
        self.errors = 0
        self.loops = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="ravebox-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Main thread: end the loop and join it (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    close = stop

    def parser_stats(self) -> dict[str, dict]:
        return {p.port: p.stats.as_dict() for p in self._parsers}

    # -- control thread ------------------------------------------------------------------
    def run(self) -> None:
        """Control thread: drain, advance the clock, publish, sleep; until stopped."""
        while not self._stop.is_set():
            self.step()
            time.sleep(self.interval)

    def step(self) -> None:
        """One pass (also called directly by tests and by render-like drivers)."""
        self.drain()
        try:
            if self.follower is not None:
                self.follower.advance(self._now())
                self._publish(self.follower.view())
        except Exception as exc:  # noqa: BLE001
            self._error("clock follower", exc)
        self.loops += 1

    def drain(self) -> int:
        count = 0
        item = self.ring.pop()
        while item is not None:
            frame, port, data = item
            for event in self._parsers[port].feed(frame, data):
                self._route(port, event)
                count += 1
            item = self.ring.pop()
        self.events += count
        return count

    def _route(self, port: int, event) -> None:
        from ravebox.midi.events import MidiEvent

        label = self.labels[port]
        if label != event.port:
            event = MidiEvent(event.frame, label, event.message)
        kind = event.message.type
        if kind in CLOCK_TYPES:
            if self.follower is not None and (port == 1 or self.clock_any):
                try:
                    self.follower.feed(event)
                except Exception as exc:  # noqa: BLE001
                    self._error("clock follower", exc)
            return
        if kind in REALTIME_TYPES:
            return
        if self.mapping is not None:
            try:
                self.mapping.handle(event)
            except Exception as exc:  # noqa: BLE001
                self._error("mapping", exc)
        if self.thru and port == 0:
            self.out_ring.push(0, 0, event.message.bin())

    def _error(self, where: str, exc: Exception) -> None:
        self.errors += 1
        text = f"{where}: {type(exc).__name__}: {exc}"
        if text != self.last_error:  # one line per new kind of problem, not per event
            log.warning("control thread: %s", text)
        self.last_error = text
