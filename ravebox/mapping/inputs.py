"""MIDI messages -> controller inputs: plain CCs, 14-bit pairs, (N)RPN values, notes, bends.

Run by the control thread, inside :class:`~ravebox.mapping.runtime.MappingRuntime`.

Why a stateful layer below the rules: a 14-bit value or an NRPN value is
spread over several messages (MSB, LSB, parameter selection, data entry),
and that state belongs to the *controller*, not to a mapping, so it lives
here and survives a mapping swap.
"""

from __future__ import annotations

from dataclasses import dataclass

from ravebox.midi.events import MidiEvent

NRPN_MSB, NRPN_LSB, RPN_MSB, RPN_LSB = 99, 98, 101, 100
DATA_MSB, DATA_LSB, DATA_INC, DATA_DEC = 6, 38, 96, 97
NULL = 127 * 128 + 127  # the (N)RPN "null" parameter deselects


@dataclass(frozen=True, slots=True)
class ControlInput:
    """One value from one controller element.

    ``value`` is the raw value (the MSB for 14-bit kinds, whose LSB is
    ``lsb``, -1 if none was ever received); ``msb_changed`` says which byte
    this message carried; ``lsb_fresh`` that the LSB arrived just before this
    MSB (a controller sending LSB first); ``press`` is set for notes (on/off)
    and programs.
    """

    kind: str
    number: int | None
    channel: int | None
    value: int
    lsb: int = -1
    msb_changed: bool = True
    press: bool | None = None
    lsb_fresh: bool = False


@dataclass(slots=True)
class _Data:
    msb: int = 0
    lsb: int = -1


@dataclass(slots=True)
class InputStats:
    orphan_data: int = 0  # data entry with no (N)RPN parameter selected


class ControllerState:
    """Remembers CC values and (N)RPN selection per port and channel."""

    def __init__(self, pair_window: int = 96) -> None:
        self.pair_window = pair_window  # frames within which an LSB and its MSB form one pair
        self.cc: dict[tuple[str, int, int], int] = {}
        self.cc_frame: dict[tuple[str, int, int], int] = {}
        self.selected: dict[tuple[str, int], tuple[str, int, int]] = {}  # kind, msb, lsb (-1 = unset)
        self.data: dict[tuple[str, int, str, int], _Data] = {}
        self.stats = InputStats()

    def inputs(self, event: MidiEvent) -> list[ControlInput]:
        """The controller inputs one message produces (none for clock, SysEx, ...)."""
        m = event.message
        t = m.type
        if t == "control_change":
            return self._cc(event.port, m.channel, m.control, m.value, event.frame)
        if t in ("note_on", "note_off"):
            press = t == "note_on" and m.velocity > 0
            return [ControlInput("note", m.note, m.channel, m.velocity if press else 0, press=press)]
        if t == "program_change":
            return [ControlInput("program", m.program, m.channel, m.program, press=True)]
        if t == "pitchwheel":
            return [ControlInput("pitchbend", None, m.channel, m.pitch)]
        if t == "aftertouch":
            return [ControlInput("pressure", None, m.channel, m.value)]
        if t == "polytouch":
            return [ControlInput("polytouch", m.note, m.channel, m.value)]
        return []

    def _cc(self, port: str, channel: int, number: int, value: int, frame: int) -> list[ControlInput]:
        self.cc[(port, channel, number)] = value
        self.cc_frame[(port, channel, number)] = frame
        out = [ControlInput("cc", number, channel, value)]
        if number < 32:
            lsb = self.cc.get((port, channel, number + 32), -1)
            fresh = 0 <= frame - self.cc_frame.get((port, channel, number + 32), -10**12) <= self.pair_window
            out.append(ControlInput("cc14", number, channel, value, lsb, True, lsb_fresh=fresh))
        elif number < 64:
            msb = self.cc.get((port, channel, number - 32), 0)
            out.append(ControlInput("cc14", number - 32, channel, msb, value, False))
        if number in (NRPN_MSB, NRPN_LSB, RPN_MSB, RPN_LSB):
            self._select(port, channel, number, value)
        elif number in (DATA_MSB, DATA_LSB, DATA_INC, DATA_DEC):
            out += self._data_entry(port, channel, number, value)
        return out

    def _select(self, port: str, channel: int, number: int, value: int) -> None:
        kind = "nrpn" if number in (NRPN_MSB, NRPN_LSB) else "rpn"
        old_kind, msb, lsb = self.selected.get((port, channel), (kind, -1, -1))
        if old_kind != kind:
            msb, lsb = -1, -1
        if number in (NRPN_MSB, RPN_MSB):
            msb = value
        else:
            lsb = value
        self.selected[(port, channel)] = (kind, msb, lsb)

    def _data_entry(self, port: str, channel: int, number: int, value: int) -> list[ControlInput]:
        kind, msb, lsb = self.selected.get((port, channel), ("", -1, -1))
        param = max(msb, 0) * 128 + max(lsb, 0)
        if not kind or (msb < 0 and lsb < 0) or param == NULL:
            self.stats.orphan_data += 1
            return []
        data = self.data.setdefault((port, channel, kind, param), _Data())
        if number == DATA_MSB:
            data.msb, data.lsb = value, (0 if data.lsb >= 0 else -1)  # MSB resets a known LSB
            changed = True
        elif number == DATA_LSB:
            data.lsb, changed = value, False
        else:
            changed = self._step(data, 1 if number == DATA_INC else -1)
        return [ControlInput(kind, param, channel, data.msb, data.lsb, changed)]

    @staticmethod
    def _step(data: _Data, step: int) -> bool:
        """Data increment/decrement: moves the MSB for 7-bit senders, the 14-bit value otherwise."""
        if data.lsb < 0:
            data.msb = min(max(data.msb + step, 0), 127)
            return True
        value = min(max(data.msb * 128 + data.lsb + step, 0), 16383)
        data.msb, data.lsb = divmod(value, 128)
        return False
