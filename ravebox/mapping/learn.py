"""MIDI learn, the capture half: the next controller message (or message group) becomes a source.

Why a small state machine rather than "the next message": a 14-bit control
sends its MSB on CC n and its LSB on CC n+32 (in either order), an NRPN sends
CC 99/98 (parameter) then CC 6/38 (data), an RPN CC 101/100 then data. So a CC
below 64 is held for ``pair_window`` frames to see whether its partner follows;
a parameter selection waits for its data entry; notes, program changes and
pitch bend are complete at once. Nothing else the capture sees goes through
the mapping while learning, so the move that teaches does not also play.

The port a source is learned from is the device part of the event's label
(``"midi_in <- nanoKONTROL2 MIDI 1"`` -> ``nanoKONTROL2 MIDI 1``, see
:mod:`ravebox.host.autoconnect`), which a mapping's ``port`` filter matches.

Threads: :meth:`LearnCapture.offer` and :meth:`LearnCapture.poll` run on the
control thread; any thread reads :attr:`LearnCapture.result` (set once) and
calls :meth:`cancel`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import mido

from ravebox.midi.events import MidiEvent

NRPN_SELECT = {99: ("nrpn", 0), 98: ("nrpn", 1), 101: ("rpn", 0), 100: ("rpn", 1)}
DATA_ENTRY = frozenset({6, 38, 96, 97})
GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class LearnedSource:
    """What was learned: ``kind`` as a mapping source key, ``number`` (None: pitch bend), 0-based channel, port."""

    kind: str
    number: int | None
    channel: int
    port: str

    def toml(self) -> dict:
        """The source keys of a ``[[map]]`` entry (``{"cc14": 1, "channel": 3, "port": "..."}``)."""
        if self.kind in ("nrpn", "rpn") and self.number is not None:
            value: object = [self.number >> 7, self.number & 0x7F]
        elif self.number is None:
            value = True
        else:
            value = self.number
        return {self.kind: value, "channel": self.channel + 1, "port": self.port}

    def describe(self) -> str:
        what = self.kind if self.number is None else f"{self.kind} {self.number}"
        if self.kind in ("nrpn", "rpn") and self.number is not None:
            what = f"{self.kind} {self.number >> 7}/{self.number & 0x7F}"
        return f"{what} on channel {self.channel + 1} from '{self.port}'"


def device_of(label: str) -> str:
    """The device part of an input label, usable as a ``port`` filter (the input name if there is none)."""
    short, sep, device = label.partition(" <- ")
    if sep and device and not GLOB.search(device):
        return device
    return short


class LearnCapture:
    """Watches controller events until one complete source is seen; then :attr:`result` holds it."""

    def __init__(self, pair_window: int = 480, ignore: tuple[str, int | None, int] | None = None) -> None:
        self.pair_window = pair_window          # frames an MSB waits for its LSB (10 ms at 48 kHz)
        self.ignore = ignore                    # (kind, number, 0-based channel) of a learn button: never learned
        self.result: LearnedSource | None = None
        self.done = threading.Event()           # set with a result, or when cancelled
        self.cancelled = False
        self._held: tuple[MidiEvent, int] | None = None      # a CC waiting for its pair partner
        self._select: dict[tuple[str, int], list] = {}       # (port, channel) -> [kind, msb, lsb]

    # -- control thread ---------------------------------------------------------------
    def offer(self, event: MidiEvent) -> bool:
        """Control thread: look at one event; True = consumed (the mapping must not see it)."""
        if self.done.is_set():
            return not self.cancelled
        msg = event.message
        kind = msg.type
        if self.ignore is not None and _is_stream(msg, *self.ignore):
            return False            # the learn button's own press or release: played as usual, not learned
        if kind == "note_on" and msg.velocity > 0:
            self._finish(event, "note", msg.note)
        elif kind == "program_change":
            self._finish(event, "program", msg.program)
        elif kind == "pitchwheel":
            self._finish(event, "pitchbend", None)
        elif kind == "control_change":
            self._control(event, msg.control)
        elif kind != "note_off" and kind != "note_on":
            return False            # aftertouch, sysex, ...: not learnable, played as usual
        return True

    def poll(self, frame: int) -> None:
        """Control thread: a held CC whose partner did not come within the window is a plain CC."""
        if self._held is not None and frame - self._held[0].frame > self.pair_window:
            event, number = self._held
            self._finish(event, "cc", number)

    def cancel(self) -> None:
        """Any thread: stop capturing (the waiting side wakes with no result)."""
        self.cancelled = True
        self.done.set()

    # -- the CC state machine ---------------------------------------------------------
    def _control(self, event: MidiEvent, number: int) -> None:
        key = (event.port, event.message.channel)
        if number in NRPN_SELECT:
            kind, byte = NRPN_SELECT[number]
            sel = self._select.setdefault(key, [kind, None, None])
            if sel[0] != kind:
                sel[:] = [kind, None, None]
            sel[1 + byte] = event.message.value
            return
        selected = self._select.get(key)
        if number in DATA_ENTRY and selected is not None and None not in selected[1:]:
            self._finish(event, selected[0], selected[1] * 128 + selected[2])
            return
        held = self._held
        if held is not None:
            h_event, h_number = held
            same = (h_event.port, h_event.message.channel) == key
            if same and abs(h_number - number) == 32:
                self._finish(event, "cc14", min(h_number, number))
                return
            self._finish(h_event, "cc", h_number)
            return
        if number < 64:
            self._held = (event, number)        # maybe one half of a 14-bit pair
        else:
            self._finish(event, "cc", number)

    def _finish(self, event: MidiEvent, kind: str, number: int | None) -> None:
        if self.done.is_set():
            return
        self._held = None
        self.result = LearnedSource(kind, number, event.message.channel, device_of(event.port))
        self.done.set()


def _is_stream(msg: mido.Message, kind: str, number: int | None, channel: int) -> bool:
    """Whether ``msg`` belongs to the control ``kind``/``number`` on 0-based ``channel`` (a note's on and off)."""
    if kind == "cc":
        ours = msg.type == "control_change" and msg.control == number
    elif kind == "note":
        ours = msg.type in ("note_on", "note_off") and msg.note == number
    else:
        ours = kind == "program" and msg.type == "program_change" and msg.program == number
    return ours and msg.channel == channel   # each of these message types has a channel
