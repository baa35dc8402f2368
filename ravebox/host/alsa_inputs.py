"""Direct-ALSA fallback MIDI inputs (``[jack] alsa_inputs``), for boxes without a JACK MIDI bridge.

Why: with jackd's ``-X seq`` bridge or a2jmidid, controllers arrive as JACK
MIDI ports with sample-accurate stamps, and that stays the preferred path.
Without a bridge, this opens the matching ALSA sequencer ports directly with
python-rtmidi, **ALSA API only** (:func:`ravebox.midi.alsa.open_alsa_midi_in`;
an rtmidi JACK client in this process deadlocks beside JACK-Client).

How it flows:

- The **main thread** owns :class:`AlsaInputs`: :meth:`AlsaInputs.poll` (from
  ``Host.poll``) re-scans the ALSA port list about every 2 s, opens ports that
  match an entry and are not open yet, closes those that vanished (a replug
  gives a new ALSA client number, so the port is reopened under its new raw
  name), and logs one line per open, close and failure. It publishes the open
  sources to the control loop as one tuple (a single reference assignment).
- Each open port has its own **rtmidi callback thread** (rtmidi's ALSA input
  thread). :meth:`_Source.on_message` stamps the message with the JACK frame
  clock (:class:`FrameStamp`) and pushes ``(frame, bytes)`` into the source's
  OWN preallocated :class:`~ravebox.host.rings.MidiRing`: one producer per
  ring, as the ring requires (the JACK MIDI ring's producer is the process
  callback, so nothing here ever writes to it). It never logs, never raises,
  and takes only :class:`FrameStamp`'s short lock.
- The **control thread** drains every source's ring and labels the events
  ``"<input> <- <device>"`` (:attr:`ravebox.host.control.ControlLoop.alsa_sources`).
- A source closed because its port vanished (an unplug) is handed to
  ``retire`` after the new tuple is published: the control thread then
  delivers what is left in its ring and releases the momentary controls that
  source held (sustain/freeze, notes, a bent wheel), as for a JACK MIDI source
  that goes away (:meth:`ravebox.host.control.ControlLoop.retire_source`).

Timing: JACK MIDI events are stamped with their sample offset inside the cycle
they arrived in; an ALSA event is stamped with JACK's estimate of the current
frame when rtmidi's thread sees it, so it jitters by up to about one period
(plus ALSA's own scheduling) against JACK MIDI. Fine for knobs and notes; MIDI
clock is not taken from direct-ALSA inputs (timing messages are ignored and
Start/Stop/Continue do not reach the clock follower).

Replugs: a device that comes back with new ALSA client numbers has a new raw
name, so the old source is closed and the new port opened. One replugged
faster than a re-scan under the same name and numbers is told by the
kernel's subscription list (``/proc/asound/seq/clients``): the unplug
dropped our port's subscription to it (rtmidi reports no unsubscription),
so it is closed, its held controls released, and reopened in the same scan.
Where that file cannot be read, such a replug goes unnoticed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence

from ravebox.config.jack import AlsaInputSpec
from ravebox.host.autoconnect import input_label
from ravebox.host.rings import MidiRing
from ravebox.host.timeline import MASK32, Timeline
from ravebox.midi.alsa import (SEQ_DEVICE, AlsaListing, AlsaPort, address, delete_midi_in, list_alsa_inputs,
                               open_alsa_midi_in, read_subscriptions, sequencer_problem)

log = logging.getLogger("ravebox.host.alsa")

#: the ALSA client name of every ``MidiIn`` opened here (what ``/proc/asound/seq/clients`` lists)
CLIENT_NAME = "ravebox"

RESCAN_S = 2.0
RING_SLOTS = 512
SETTLE_S = 0.02        # GIL-free pause before closing a port (see _Source.close)


class FrameStamp:
    """The current frame on ravebox's timeline, from JACK's frame clock, for rtmidi callback threads.

    ``jack_frame_time`` is JACK's estimate of the frame being played now; its
    distance from the current cycle's ``last_frame_time`` is added to the
    timeline's frame of that cycle, so stamps share the JACK MIDI ring's
    64-bit frame domain (which survives wraps and reconnects). Reading the two
    JACK counters and the timeline is not atomic against a new cycle starting,
    which adds at most one period of error (within the documented jitter).

    The lock makes detaching safe: the main thread detaches under it before the
    JACK client is closed, so no callback thread is inside ``frame_time`` of a
    freed client. Without a client (reconnecting) the timeline's wall-clock
    estimate is used.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._lock = threading.Lock()
        self._client = None

    def attach(self, client) -> None:
        """Main thread: stamp from this (activated) JACK client from now on."""
        with self._lock:
            self._client = client

    def detach(self) -> None:
        """Main thread: stop using the client (call before closing it)."""
        with self._lock:
            self._client = None

    def __call__(self) -> int:
        """rtmidi callback thread (any thread): the absolute frame now."""
        timeline = self.timeline
        offset = None
        with self._lock:
            client = self._client
            if client is not None:
                try:
                    offset = (client.frame_time - client.last_frame_time) & MASK32
                except Exception:  # noqa: BLE001 - a dying server; fall back below
                    offset = None
        base = timeline.frame
        if offset is None or base is None or offset > timeline.sample_rate:
            return timeline.now()
        return base + offset


class _Source:
    """One open ALSA port: its rtmidi ``MidiIn``, its ring and its label. Created and closed by the main thread."""

    def __init__(self, spec: AlsaInputSpec, port: AlsaPort, midi_in, stamp: Callable[[], int], parser,
                 slots: int) -> None:
        self.spec = spec
        self.raw = port.raw
        self.label = input_label(spec.input, port.name)
        # (our port's name, the device's address): listed in /proc/asound/seq/clients while subscribed
        self.subscription = (_client_port_name(spec.input), address(port.raw) or "")
        self.ring = MidiRing(slots=slots)
        self.parser = parser
        self.midi_in = midi_in
        self.stamp = stamp
        self.errors = 0        # callback failures (counted on the callback thread, never logged there)
        self.muted = False     # set by the main thread just before closing

    def unsubscribed(self, subscribed: set[tuple[str, str]] | None) -> bool:
        """Main thread: the kernel lists our port but no longer its subscription to the device (a replug
        dropped it). False when it cannot tell (no listing, our port not in it: a stand-in sequencer)."""
        if subscribed is None or (self.subscription[0], "") not in subscribed:
            return False
        return self.subscription not in subscribed

    def on_message(self, event, data=None) -> None:
        """rtmidi callback thread: stamp and push into this source's own ring. Never raises, never logs."""
        if self.muted:
            return
        try:
            self.ring.push(self.stamp(), 0, bytes(event[0]))
        except Exception:  # noqa: BLE001
            self.errors += 1

    def close(self) -> None:
        """Main thread: mute, let an in-flight callback finish, then close and free the ALSA port.

        Why the pause: python-rtmidi 1.5's ``close_port`` joins rtmidi's input
        thread while holding the GIL; a callback already waiting for the GIL at
        that moment would never get it. Sleeping releases the GIL, so such a
        callback runs (muted: it returns at once) before the join.
        """
        self.muted = True
        time.sleep(SETTLE_S)
        close_midi_in(self.midi_in)


def close_midi_in(midi_in) -> None:
    """Main thread: remove the callback first, then close and free the port (never raises).

    The callback goes first so rtmidi's thread stops calling into Python
    before ``close_port`` stops and joins it.
    """
    for step in (midi_in.cancel_callback, midi_in.close_port):
        try:
            step()
        except Exception:  # noqa: BLE001 - the device may be gone already
            pass
    delete_midi_in(midi_in)


class AlsaInputs:
    """Opens, re-scans and closes the direct-ALSA inputs of ``[jack] alsa_inputs``. Main thread only.

    ``publish(sources)`` hands the control loop a tuple of ``(ring, parser,
    label)`` after every change; ``retire(source)`` then gets the ``(ring,
    parser, label, replugged)`` of each source closed because its port vanished
    or was replugged (not at shutdown), so what it held can be released.
    ``midi_in_factory`` makes an ALSA ``MidiIn`` (default :func:`open_alsa_midi_in`;
    tests inject a fake, as no ALSA sequencer exists there); with the default,
    ``/dev/snd/seq`` is checked first and ``subscribed`` (which of our ports the
    kernel still lists as subscribed to their device) reads ``/proc/asound/seq/clients``.
    """

    def __init__(self, specs: Sequence[AlsaInputSpec], stamp: Callable[[], int],
                 publish: Callable[[tuple], None], parser_factory: Callable[[str], object], *,
                 midi_in_factory: Callable[[], object] | None = None, rescan_s: float = RESCAN_S,
                 ring_slots: int = RING_SLOTS, clock: Callable[[], float] = time.monotonic,
                 retire: Callable[[tuple], None] | None = None,
                 subscribed: Callable[[], set[tuple[str, str]] | None] | None = None) -> None:
        self.specs = tuple(specs)
        self._stamp = stamp
        self._publish = publish
        self._retire = retire
        self._parser_factory = parser_factory
        self._factory = midi_in_factory or open_alsa_midi_in
        self._seq_path = SEQ_DEVICE if midi_in_factory is None else None
        # which of our ports are still subscribed to their device (a replug drops it), None: cannot tell
        self._subscribed = subscribed or ((lambda: read_subscriptions(CLIENT_NAME)) if midi_in_factory is None
                                          else (lambda: None))
        self.rescan_s = rescan_s
        self._slots = ring_slots
        self._clock = clock
        self._scanner = None
        self._next_scan = 0.0
        self._failed: set[tuple[str, str]] = set()
        self.sources: dict[tuple[str, str], _Source] = {}
        self.reason: str | None = None      # why ALSA cannot be listed now (None: it can)
        self.opens = 0
        self.closes = 0

    # -- main thread -------------------------------------------------------------------
    def poll(self) -> None:
        """Main thread, every main-loop tick: re-scan when ``rescan_s`` has passed."""
        if self.specs and self._clock() >= self._next_scan:
            self.scan()

    def scan(self) -> None:
        """Main thread: list ALSA ports, close vanished sources, open new matches, publish."""
        self._next_scan = self._clock() + self.rescan_s
        listing = self._list()
        self._set_reason(listing.reason)
        present = {p.raw for p in listing.ports}
        subscribed = self._subscribed() if self.sources else None
        gone = []
        for key in list(self.sources):
            source = self.sources[key]
            if key[1] in present and not source.unsubscribed(subscribed):
                continue
            del self.sources[key]
            source.close()
            self.closes += 1
            gone.append(source)
            why = "gone" if key[1] not in present else "replugged: its subscription was dropped"
            log.info("ALSA MIDI input closed: %s (%s %s)", source.label, source.raw, why)
        changed = bool(gone)
        self._failed = {k for k in self._failed if k[1] in present}   # a vanished port may be retried
        for spec in self.specs:
            for port in listing.ports:
                key = (spec.input, port.raw)
                if key in self.sources or key in self._failed or not spec.matches(port.name):
                    continue
                changed |= self._open(spec, port, key)
        if changed:
            self._publish_sources()
        if self._retire is not None:
            for source in gone:
                self._retire((source.ring, source.parser, source.label, source.raw in present))

    def close(self) -> None:
        """Main thread, at shutdown: unpublish, then close every port and the scanner (idempotent)."""
        had = bool(self.sources)
        self._publish(())
        for key in list(self.sources):
            source = self.sources.pop(key)
            source.close()
            self.closes += 1
            log.info("ALSA MIDI input closed: %s", source.label)
        if self._scanner is not None:
            delete_midi_in(self._scanner)
            self._scanner = None
        if had:
            log.info("direct ALSA MIDI inputs closed")

    def status(self) -> dict:
        """Any thread: what is open and why nothing can be (JSON-able)."""
        sources = list(self.sources.values())
        return {"open": [s.label for s in sources], "reason": self.reason,
                "dropped": sum(s.ring.dropped + s.ring.oversized for s in sources),
                "callback_errors": sum(s.errors for s in sources)}

    # -- internals (main thread) ----------------------------------------------------------
    def _list(self) -> AlsaListing:
        """List with a persistent scanner ``MidiIn`` (one ALSA client, not one per scan)."""
        if self._scanner is None:
            problem = sequencer_problem(self._seq_path)
            if problem is not None:
                return AlsaListing([], problem)
            try:
                self._scanner = self._factory()
            except Exception as exc:  # noqa: BLE001 - rtmidi raises SystemError/RtMidiError
                return AlsaListing([], f"rtmidi cannot open the ALSA sequencer: {exc}")
        listing = list_alsa_inputs(self._scanner)
        if listing.reason is not None:
            delete_midi_in(self._scanner)
            self._scanner = None
        return listing

    def _set_reason(self, reason: str | None) -> None:
        if reason == self.reason:
            return
        if reason is not None:
            log.warning("direct ALSA MIDI inputs unavailable: %s; retrying every %.0f s", reason, self.rescan_s)
        elif self.reason is not None:
            log.info("ALSA sequencer available again")
        self.reason = reason

    def _open(self, spec: AlsaInputSpec, port: AlsaPort, key: tuple[str, str]) -> bool:
        midi_in = None
        try:
            midi_in = self._factory()
            midi_in.ignore_types(sysex=True, timing=True, active_sense=True)
            source = _Source(spec, port, midi_in, self._stamp, self._parser_factory(
                input_label(spec.input, port.name)), self._slots)
            midi_in.set_callback(source.on_message)
            midi_in.open_port(_index_now(midi_in, port), _client_port_name(spec.input))
        except Exception as exc:  # noqa: BLE001
            if midi_in is not None:
                close_midi_in(midi_in)
            self._failed.add(key)
            log.warning("ALSA MIDI input %r: cannot open %s: %s", spec.input, port.raw, exc)
            return False
        self.sources[key] = source
        self.opens += 1
        log.info("ALSA MIDI input opened: %s (ALSA port %s)", source.label, port.raw)
        return True

    def _publish_sources(self) -> None:
        self._publish(tuple((s.ring, s.parser, s.label) for s in self.sources.values()))


def _index_now(midi_in, port: AlsaPort) -> int:
    """The port's index in this ``MidiIn``'s own listing (ports may have come or gone since the scan)."""
    names = list(midi_in.get_ports())
    if port.raw not in names:
        raise RuntimeError("the port vanished before it could be opened")
    return names.index(port.raw)


def _client_port_name(name: str) -> str:
    """Our ALSA input port's name (rtmidi shows it in ``aconnect -l``)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", f"ravebox {name}")[:60]
