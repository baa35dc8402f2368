"""Raw MIDI bytes from a port -> :class:`MidiEvent`s, counting garbage, never raising.

Run by the control thread (live, draining the JACK MIDI ring) and by tests.

Why not just ``mido.Parser``: mido's tokenizer drops running status, resets on
a realtime byte interleaved in a channel message and silently ignores stray
bytes, while a raw serial/ALSA byte source produces all three. So this module
only does the *framing* (which bytes form one message) and hands every framed
message to mido for decoding (``mido.Message.from_bytes``) and message lengths
come from mido's own protocol table (``SPEC_BY_STATUS``): the protocol stays
in one place.

Framing rules (MIDI 1.0 spec):

- a channel status byte starts a message and sets *running status*; data bytes
  after a complete message start a new message with the running status;
- realtime bytes (``F8``-``FF``) may appear anywhere, even inside another
  message or a SysEx, and do not disturb it;
- system common bytes (``F1``-``F7``) cancel running status;
- a status byte arriving before the current message is complete truncates it
  (counted); data bytes with no status to attach to are stray (counted);
- undefined status bytes (``F4``, ``F5``, ``F9``, ``FD``) are counted and
  (except realtime ones) cancel running status;
- a SysEx longer than ``max_sysex`` bytes is dropped (counted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mido
from mido.messages.specs import SPEC_BY_STATUS

from ravebox.midi.events import MidiEvent

SYSEX_START = 0xF0
SYSEX_END = 0xF7
DEFAULT_MAX_SYSEX = 4096


@dataclass(slots=True)
class ParseStats:
    """Counters of everything a parser refused; read by the status output."""

    messages: int = 0        # complete messages decoded
    stray_data: int = 0      # data bytes with no status to attach to
    truncated: int = 0       # messages cut short by a new status byte
    undefined: int = 0       # undefined status bytes
    sysex_overflow: int = 0  # SysEx messages dropped for length
    decode_errors: int = 0   # framed bytes mido refused (should stay 0)
    bad_input: int = 0       # values that are not bytes at all (outside 0..255)

    @property
    def garbage(self) -> int:
        """Every refused item, summed."""
        return sum(self.as_counts().values()) - self.messages

    def as_counts(self) -> dict[str, int]:
        return asdict(self)

    def as_dict(self) -> dict[str, int]:
        return self.as_counts() | {"garbage": self.garbage}


class PortParser:
    """Framing state of one MIDI byte stream (one source port).

    State survives between :meth:`feed` calls, because running status and a
    message split across two JACK events both span calls.
    """

    def __init__(self, port: str, max_sysex: int = DEFAULT_MAX_SYSEX) -> None:
        self.port = port
        self.max_sysex = max_sysex
        self.stats = ParseStats()
        self._running = 0          # running status byte, 0 = none
        self._buf: list[int] = []  # bytes of the message being framed
        self._need = 0             # total length of that message (0 = none open)
        self._sysex: list[int] | None = None
        self._sysex_overflow = False

    def feed(self, frame: int, data: bytes | bytearray | list[int]) -> list[MidiEvent]:
        """Frame ``data`` (all stamped ``frame``) and return the completed events."""
        out: list[MidiEvent] = []
        for byte in data:
            if not isinstance(byte, int) or not 0 <= byte <= 255:
                self.stats.bad_input += 1
                continue
            message = self._byte(byte)
            if message is not None:
                self._emit(frame, message, out)
        return out

    def reset(self) -> None:
        """Forget partial messages and running status (e.g. after a port reconnect)."""
        if self._need or self._sysex is not None:
            self.stats.truncated += 1
        self._running, self._buf, self._need, self._sysex = 0, [], 0, None

    # -- framing -----------------------------------------------------------------
    def _byte(self, byte: int) -> list[int] | None:
        if byte >= 0xF8:
            return self._realtime(byte)
        if byte >= 0x80:
            return self._status(byte)
        return self._data(byte)

    def _realtime(self, byte: int) -> list[int] | None:
        if byte not in SPEC_BY_STATUS:  # F9, FD
            self.stats.undefined += 1
            return None
        return [byte]

    def _status(self, byte: int) -> list[int] | None:
        if self._sysex is not None:
            sysex = self._end_sysex(byte)
            if byte == SYSEX_END:
                return sysex
        elif self._need:
            self.stats.truncated += 1
        self._buf, self._need = [], 0
        if byte == SYSEX_END:  # an F7 with no SysEx open
            self.stats.stray_data += 1
            self._running = 0
            return None
        if byte == SYSEX_START:
            self._running, self._sysex, self._sysex_overflow = 0, [byte], False
            return None
        spec = SPEC_BY_STATUS.get(byte)
        if spec is None:  # F4, F5
            self.stats.undefined += 1
            self._running = 0
            return None
        self._running = byte if byte < 0xF0 else 0
        if spec["length"] == 1:
            return [byte]
        self._buf, self._need = [byte], spec["length"]
        return None

    def _end_sysex(self, byte: int) -> list[int] | None:
        sysex, overflow = self._sysex, self._sysex_overflow
        self._sysex = None
        if sysex is None or byte != SYSEX_END:
            self.stats.truncated += 1
            return None
        if overflow:
            self.stats.sysex_overflow += 1
            return None
        return sysex + [SYSEX_END]

    def _data(self, byte: int) -> list[int] | None:
        if self._sysex is not None:
            if len(self._sysex) < self.max_sysex:
                self._sysex.append(byte)
            else:
                self._sysex_overflow = True
            return None
        if not self._need:
            if not self._running:
                self.stats.stray_data += 1
                return None
            self._buf, self._need = [self._running], SPEC_BY_STATUS[self._running]["length"]
        self._buf.append(byte)
        if len(self._buf) < self._need:
            return None
        message, self._buf, self._need = self._buf, [], 0
        return message

    def _emit(self, frame: int, data: list[int], out: list[MidiEvent]) -> None:
        try:
            message = mido.Message.from_bytes(data)
        except (ValueError, TypeError):
            self.stats.decode_errors += 1
            return
        self.stats.messages += 1
        out.append(MidiEvent(frame, self.port, message))


class MidiParser:
    """One :class:`PortParser` per source port, created on first use.

    Why per port: two controllers' byte streams must never share running
    status or a half-framed message.
    """

    def __init__(self, max_sysex: int = DEFAULT_MAX_SYSEX) -> None:
        self.max_sysex = max_sysex
        self.ports: dict[str, PortParser] = {}

    def feed(self, port: str, frame: int, data: bytes | bytearray | list[int]) -> list[MidiEvent]:
        """Frame ``data`` that arrived on ``port`` at ``frame``."""
        parser = self.ports.get(port)
        if parser is None:
            parser = self.ports[port] = PortParser(port, self.max_sysex)
        return parser.feed(frame, data)

    def stats(self) -> dict[str, ParseStats]:
        return {name: parser.stats for name, parser in self.ports.items()}

    def garbage(self) -> int:
        """Refused items over every port."""
        return sum(parser.stats.garbage for parser in self.ports.values())


def parse_bytes(data: bytes | bytearray | list[int], port: str = "test", frame: int = 0) -> list[MidiEvent]:
    """Frame one buffer with a fresh parser (tests, one-shot tools)."""
    return PortParser(port).feed(frame, data)
