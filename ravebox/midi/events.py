"""Immutable MIDI events, stamped with the frame at which they happened.

Why frames: every consumer (mapping, clock follower, gates) reasons in audio
frames, the one clock that JACK and offline render share. ``frame`` is absolute
(JACK ``last_frame_time + offset`` live, the file position in render).
"""

from __future__ import annotations

from dataclasses import dataclass

import mido

#: Messages the clock follower takes (MIDI clock, transport, song position).
CLOCK_TYPES = frozenset({"clock", "start", "stop", "continue", "songpos"})
#: System realtime messages; none of them ever reaches a mapping.
REALTIME_TYPES = frozenset({"clock", "start", "stop", "continue", "active_sensing", "reset"})


@dataclass(frozen=True, slots=True)
class MidiEvent:
    """One complete MIDI message from one source port.

    ``port`` is the source's name (a JACK port name or a render label): device
    identity is always a name, never an ALSA client number.
    """

    frame: int
    port: str
    message: mido.Message

    @property
    def type(self) -> str:
        return self.message.type
