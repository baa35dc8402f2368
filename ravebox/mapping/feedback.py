"""Feedback to controllers: parameter values back out as the MIDI each control sends (LEDs, rings, motor faders).

Why from the parameter store and not from events: a preset recall, a ``set``,
a takeover pickup, a reload and another control all move parameters without
the control itself moving; comparing each feedback rule's parameter with what
was last sent catches every one of them the same way.

The message is the rule's own shaping run backwards: parameter value ->
position in the rule's ``range`` -> inverse curve -> raw value in its
``source_range`` -> the source's bytes (CC, 14-bit pair as MSB then LSB,
(N)RPN select + data entry, note on (velocity 127 lit, 0 dark for buttons),
pitch bend, pressure). A button rule sends on/off: lit when the parameter is
nearer the high end of its range, or for a button that sets a ``value`` (a row
choosing a gate pattern or a model) when the parameter has that value.

Rate limit and ordering: per control (output, channel, kind, number) at most
one message group per ``min_interval`` frames. A change inside the interval is
not queued: the next pass after the interval sends the value *then current*,
so a burst of changes ends with the final value, never a stale one after it.

Lost messages converge: a message written into a cycle JACK then drops (an
xrun: the controller's client missed the cycle) is gone, and a motor fader or
LED ring would show a stale value until the control changed again. So when the
server's xrun count moves, every control whose feedback went out in the last
``resend_window`` frames (:data:`RESEND_WINDOW_S`: the message's cycle, plus
however late the xrun notification reached us) is marked stale and its value
*then current* goes out again, rate-limited like any change. A message the
output ring had no room for is marked stale the same way. A control that
stays still is never re-sent: its last message got through or went out in the
window before an xrun.

Thread: :meth:`FeedbackSender.step` runs on the control thread (the store's
writer, so values are read without races); :meth:`resend` may be called from
any thread (it bumps a counter the control thread notices); ``xruns`` is read
there (a plain counter the JACK notification thread bumps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ravebox.mapping.model import Mapping, Rule
from ravebox.mapping.shaping import normalise
from ravebox.params.store import ParamStore

Push = Callable[[int, bytes], "bool | None"]  # (output index, message bytes) -> False if it was dropped
KIND_RANGES = {"cc": (0, 127), "cc14": (0, 16383), "nrpn": (0, 16383), "rpn": (0, 16383), "note": (0, 127),
               "pitchbend": (-8192, 8191), "pressure": (0, 127), "polytouch": (0, 127)}
SELECT = {"nrpn": (99, 98), "rpn": (101, 100)}
#: After an xrun, controls whose feedback went out this recently (seconds) are sent again.
RESEND_WINDOW_S = 1.0
STALE: tuple[bytes, ...] = ()                 # a control's "last message sent" that matches no message


def inverse_curve(name: str, y: float, steepness: float, gamma: float) -> float:
    """The control position ``x`` whose curve value is ``y`` (both in [0, 1]): ``curve(name, x) == y``."""
    y = min(max(y, 0.0), 1.0)
    if name == "exp":
        return math.log1p(y * math.expm1(steepness)) / steepness
    if name == "log":
        return math.expm1(steepness * y) / math.expm1(steepness)
    if name == "gamma":
        return y ** (1.0 / gamma)
    return y


def feedback_bytes(rule: Rule, value: float) -> tuple[bytes, ...]:
    """The message(s) that show ``value`` on the rule's control; () for sources with no feedback."""
    src = rule.source
    kind = src.kind
    if kind not in KIND_RANGES or rule.target is None:
        return ()
    channel = min(src.channels) if src.channels else 0
    lo, hi = rule.target_range
    if rule.mode == "button":
        if rule.value is not None:       # one of a row of buttons setting values (a pattern, a model): radio
            lit = abs(value - rule.value) < 0.5
        else:
            lit = abs(value - hi) < abs(value - lo)
        raw = 127 if lit else 0
        if kind == "cc14":
            raw = 16383 if lit else 0
    else:
        x = inverse_curve(rule.curve, normalise(value, lo, hi), rule.steepness, rule.gamma)
        s_lo, s_hi = rule.source_range if rule.mode != "relative" else (0.0, 127.0)
        low, top = KIND_RANGES[kind]
        raw = int(min(max(round(s_lo + (s_hi - s_lo) * x), low), top))
    return _encode(kind, src.number, channel, raw, src.bits)


def _encode(kind: str, number: int | None, ch: int, raw: int, bits: int) -> tuple[bytes, ...]:
    if kind == "cc":
        return (bytes((0xB0 | ch, number, raw)),)
    if kind == "cc14":
        return bytes((0xB0 | ch, number, raw >> 7)), bytes((0xB0 | ch, number + 32, raw & 0x7F))
    if kind in SELECT:
        msb_cc, lsb_cc = SELECT[kind]
        head = (bytes((0xB0 | ch, msb_cc, number >> 7)), bytes((0xB0 | ch, lsb_cc, number & 0x7F)))
        if bits == 7:
            return head + (bytes((0xB0 | ch, 6, raw & 0x7F)),)
        return head + (bytes((0xB0 | ch, 6, raw >> 7)), bytes((0xB0 | ch, 38, raw & 0x7F)))
    if kind == "note":
        return (bytes((0x90 | ch, number, raw)),)
    if kind == "pitchbend":
        value = raw + 8192
        return (bytes((0xE0 | ch, value & 0x7F, value >> 7)),)
    if kind == "pressure":
        return (bytes((0xD0 | ch, raw)),)
    return (bytes((0xA0 | ch, number, raw)),)          # polytouch


class FeedbackSender:
    """Sends each feedback rule's current value to the outputs whose device the rule listens to.

    ``labels()`` gives each output's device label (the label of the MIDI input
    that controller feeds, see :mod:`ravebox.host.control`); a rule reaches the
    outputs whose label its ``port`` filter accepts. ``xruns()`` is the JACK
    server's xrun count and ``resend_window`` the frames before an xrun whose
    messages are sent again (0: never).
    """

    def __init__(self, store: ParamStore, min_interval: int, push: Push,
                 labels: Callable[[], Sequence[str]], xruns: Callable[[], int] = lambda: 0,
                 resend_window: int = 0) -> None:
        self.store = store
        self.min_interval = int(min_interval)
        self.resend_window = int(resend_window)
        self._push = push
        self._labels = labels
        self._xruns = xruns
        self._xruns_seen = xruns()
        self._mapping: Mapping | None = None
        self._rules: tuple[Rule, ...] = ()
        self._sent: dict[tuple, tuple[bytes, ...]] = {}   # control -> last message group sent
        self._when: dict[tuple, int] = {}                  # control -> frame it was sent
        self._seen_labels: tuple[str, ...] = ()
        self._resend_requests = 0
        self._resends_done = 0
        self.messages = 0                                  # counters for status (any thread reads)
        self.limited = 0
        self.resent = 0                                    # controls sent again after an xrun
        self.dropped = 0                                   # message groups the output ring had no room for

    def status(self) -> dict[str, int]:
        """Any thread: the counters (plain ints)."""
        return {"feedback_sent": self.messages, "feedback_limited": self.limited,
                "feedback_resent": self.resent, "feedback_dropped": self.dropped}

    def resend(self) -> None:
        """Any thread: send every value again on the next pass (a device reconnected)."""
        self._resend_requests += 1

    # -- control thread -----------------------------------------------------------------
    def step(self, mapping: Mapping | None, frame: int) -> None:
        """Control thread: send what changed (rate-limited); everything after a reload, relabel or resend."""
        if mapping is None:
            return
        labels = tuple(self._labels())
        if (mapping is not self._mapping or labels != self._seen_labels
                or self._resend_requests != self._resends_done):
            self._mapping, self._seen_labels = mapping, labels
            self._resends_done = self._resend_requests
            self._rules = tuple(r for r in mapping.rules if r.feedback and r.target is not None)
            self._sent.clear()
        if not self._rules:
            return
        xruns = self._xruns()
        if xruns != self._xruns_seen:
            self._xruns_seen = xruns
            self._stale_recent(frame)
        done: set[tuple] = set()
        for rule in self._rules:
            value = self._value(rule)
            if value is None:
                continue
            src = rule.source
            channel = min(src.channels) if src.channels else 0
            for out, label in enumerate(labels):
                if not src.port.matches(label):
                    continue
                control = (out, channel, src.kind, src.number)
                if control in done:
                    continue                               # a layered second rule: the first one speaks
                done.add(control)
                self._offer(control, out, feedback_bytes(rule, value), frame)

    def _stale_recent(self, frame: int) -> None:
        """An xrun: what went out in the last ``resend_window`` frames may have been dropped with its cycle."""
        for control, when in self._when.items():
            if frame - when <= self.resend_window and self._sent.get(control, STALE) != STALE:
                self._sent[control] = STALE
                self.resent += 1

    def _offer(self, control: tuple, out: int, message: tuple[bytes, ...], frame: int) -> None:
        if not message or self._sent.get(control) == message:
            return
        last = self._when.get(control)
        if last is not None and control in self._sent and frame - last < self.min_interval:
            self.limited += 1
            return                                         # the then-current value goes out next time
        pushed = [self._push(out, data) is not False for data in message]
        self._sent[control] = message if all(pushed) else STALE   # a group cut short goes out whole next time
        self._when[control] = frame
        self.messages += 1
        self.dropped += not all(pushed)

    def _value(self, rule: Rule) -> float | None:
        keys = self.store.expand(rule.target) if rule.target.graph is None or rule.target.graph in self.store.graphs \
            else ()
        return self.store.target(keys[0]) if keys else None
