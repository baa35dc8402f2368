"""Following the JACK graph: auto-connect, each MIDI input's source label, feedback peers.

Split out of ``host.py``: this job needs only the session's flags and queues
(which the JACK notification callbacks fill) and the control loop's labels, not
the audio path, the worker or the reconnect state. Each pass of
:meth:`ConnectionFollower.follow` (from ``Host.poll``):

- learns the connections the player made or broke by hand (``autoconnect.py``),
  so a replugged controller's pair is made again;
- re-applies the ``[[jack.connect]]`` rules when a port came or went, and every
  2 s anyway (a device's alias can change without a notification);
- relabels each MIDI input from its connected source (``"input <- device"``),
  which the control loop puts into ``MidiEvent.port``, and has the control
  thread release what a vanished source held;
- has the feedback sender send every value again when a feedback output gets a
  new peer (a controller came back).

Thread: main thread. The control loop's labels are replaced by one reference
assignment; releases are posted to the control thread.
"""

from __future__ import annotations

import functools
import logging
import time

from ravebox.config.jack import FEEDBACK_SUFFIX, ConnectRule
from ravebox.host.autoconnect import AutoConnector, source_labels
from ravebox.host.control import ControlLoop
from ravebox.host.session import Session

log = logging.getLogger("ravebox.host")

RESCAN_S = 2.0   # re-apply the rules this often even without a port notification


class ConnectionFollower:
    """The connect rules, the remembered connections and the source labels of one host (main thread)."""

    def __init__(self, rules: tuple[ConnectRule, ...], midi_inputs: tuple[str, ...], clock_from: str,
                 feedback_inputs: tuple[str, ...]) -> None:
        self.connector = AutoConnector(rules)
        self.midi_inputs, self.clock_from, self.feedback_inputs = midi_inputs, clock_from, feedback_inputs
        self.control: ControlLoop | None = None    # set by the host once its control loop exists
        self._feedback_peers: tuple[tuple[str, ...], ...] = ()   # who each feedback output is connected to
        self._last_rescan = 0.0

    def warn_unconnectable_inputs(self) -> None:
        """Say at start-up which MIDI inputs no ``[[jack.connect]]`` rule names (they need manual patching)."""
        for name in self.midi_inputs:
            if not any(rule.matches_own(name) for rule in self.connector.rules):
                log.warning("MIDI input '%s' matches no [[jack.connect]] port pattern; "
                            "nothing connects it automatically", name)
        if self.clock_from != "any" and self.clock_from not in self.midi_inputs:
            log.info("no MIDI input named '%s': MIDI clock is not followed (set [jack] clock_from)", self.clock_from)

    def set_rules(self, rules: tuple[ConnectRule, ...]) -> bool:
        """New ``[[jack.connect]]`` rules (applied at the next pass); False if unchanged."""
        if rules == self.connector.rules:
            return False
        self.connector.rules = rules
        return True

    def follow(self, session: Session) -> None:
        """One pass: learn connection changes, re-apply the rules when due, relabel the sources."""
        if session.connection_events or session.vanished_ports or self.connector.pending:
            events = [session.connection_events.popleft() for _ in range(len(session.connection_events))]
            vanished = [session.vanished_ports.popleft() for _ in range(len(session.vanished_ports))]
            self._feedback_connected(session, events)
            try:
                if self.connector.observe(session.client, events, session.name, vanished):
                    session.ports_changed = True      # a replug's pair is free again: connect it now
            except Exception as exc:  # noqa: BLE001 - ports come and go while we look
                log.warning("could not learn connection changes: %s", exc)
        if session.ports_changed or time.monotonic() - self._last_rescan > RESCAN_S:
            self.autoconnect(session)
        elif session.connections_changed:
            self._label_midi_sources(session)

    def autoconnect(self, session: Session) -> None:
        """Apply rules and remembered connections, then relabel (also every 2 s: aliases change silently)."""
        session.ports_changed = False
        self._last_rescan = time.monotonic()
        try:
            self.connector.apply(session.client, session.own_ports())
        except Exception as exc:  # noqa: BLE001 - the server may vanish mid-scan
            log.warning("auto-connect pass failed: %s", exc)
        self._label_midi_sources(session)

    def _label_midi_sources(self, session: Session) -> None:
        """Give each MIDI input's events the device label of its source (see autoconnect).

        The flag is cleared first, so a connection made while we read is
        relabelled on the next poll rather than lost.
        """
        control = self.control
        if control is None:
            return
        session.connections_changed = False
        try:
            labels = source_labels(session.client, session.name, session.midi_inputs)
        except Exception as exc:  # noqa: BLE001 - a port may vanish while we look; try again next poll
            session.connections_changed = True
            log.debug("could not relabel MIDI sources: %s", exc)
            return
        old = control.labels
        if labels != old:
            log.info("MIDI sources: %s", ", ".join(f"{n} <- {lbl!r}" for n, lbl in zip(session.midi_inputs, labels)))
        control.labels = labels
        for before, after in zip(old, labels):
            if before != after:  # that source is gone (or shares the input now): release what it held
                control.post(functools.partial(control.release_source, before))
        self._check_feedback_peers(session)

    def _feedback_names(self, session: Session) -> list[str]:
        return [f"{session.name}:{name}{FEEDBACK_SUFFIX}" for name in self.feedback_inputs]

    def _feedback_connected(self, session: Session, events: list[tuple[str | None, str | None, bool]]) -> None:
        """JACK reports a new connection of a feedback output (it is in the graph now): resend."""
        names = set(self._feedback_names(session))
        feedback = self.control.feedback if self.control is not None else None
        if feedback is not None and any(made and (a in names or b in names) for a, b, made in events):
            feedback.resend()

    def _check_feedback_peers(self, session: Session) -> None:
        """A feedback output got a new peer (a controller came back): send every value again."""
        try:
            peers = tuple(tuple(sorted(p.name for p in session.client.get_all_connections(name)))
                          for name in self._feedback_names(session))
        except Exception:  # noqa: BLE001 - a port may vanish while we look; next poll
            return
        feedback = self.control.feedback if self.control is not None else None
        if peers != self._feedback_peers and feedback is not None:
            feedback.resend()
        self._feedback_peers = peers
