"""Standard MIDI Files -> :class:`MidiEvent`s at absolute audio frames.

Run by the offline renderer (its own thread, before rendering starts).

Why not iterate ``mido.MidiFile`` directly: its iterator merges the tracks
and loses which track an event came from, and returns float seconds that
accumulate rounding error. Here every event's absolute tick is computed per
track, then converted to seconds through the tempo map (every ``set_tempo``
of every track, as type 1 files may carry them anywhere) with
``mido.tick2second`` one segment at a time, then to the nearest frame.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import mido

from ravebox.errors import MidiError
from ravebox.midi.events import MidiEvent

DEFAULT_TEMPO = 500_000  # microseconds per beat (120 BPM), the SMF default


@dataclass(frozen=True, slots=True)
class TempoMap:
    """Piecewise-constant tempo: ``ticks[i]`` starts ``tempos[i]`` at ``seconds[i]``."""

    ticks_per_beat: int
    ticks: tuple[int, ...]
    tempos: tuple[int, ...]
    seconds: tuple[float, ...]

    @classmethod
    def build(cls, ticks_per_beat: int, changes: list[tuple[int, int]]) -> "TempoMap":
        ticks, tempos, seconds = [0], [DEFAULT_TEMPO], [0.0]
        for tick, tempo in sorted(changes, key=lambda c: c[0]):
            if tick == ticks[-1]:  # a later change at the same tick wins
                tempos[-1] = tempo
                continue
            seconds.append(seconds[-1] + mido.tick2second(tick - ticks[-1], ticks_per_beat, tempos[-1]))
            ticks.append(tick)
            tempos.append(tempo)
        return cls(ticks_per_beat, tuple(ticks), tuple(tempos), tuple(seconds))

    def second_of(self, tick: int) -> float:
        i = bisect.bisect_right(self.ticks, tick) - 1
        return self.seconds[i] + mido.tick2second(tick - self.ticks[i], self.ticks_per_beat, self.tempos[i])


def read_smf(path: str | Path, sample_rate: int, port: str = "smf", start_frame: int = 0,
             per_track_ports: bool = False) -> list[MidiEvent]:
    """Every channel/system message of ``path`` with its absolute frame, in time order.

    ``port`` labels the events (mapping port patterns match it); with
    ``per_track_ports`` each track's events are labelled ``port:track-name``
    (or ``port:track-N``) so a mapping can tell tracks apart like devices.
    Raises :class:`~ravebox.errors.MidiError` if the file cannot be read.
    """
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MidiError(f"cannot read MIDI file {path}: {exc}") from exc
    if midi.type == 2:
        raise MidiError(f"cannot read MIDI file {path}: type 2 (asynchronous tracks) is not supported")
    return events_of(midi, sample_rate, port, start_frame, per_track_ports)


def events_of(midi: mido.MidiFile, sample_rate: int, port: str = "smf", start_frame: int = 0,
              per_track_ports: bool = False) -> list[MidiEvent]:
    """The events of an already loaded (or built in memory) ``MidiFile``."""
    tempo_changes: list[tuple[int, int]] = []
    timed: list[tuple[int, int, int, str, mido.Message]] = []
    for index, track in enumerate(midi.tracks):
        label = f"{port}:{track.name or f'track-{index}'}" if per_track_ports else port
        tick = 0
        for order, message in enumerate(track):
            tick += message.time
            if message.is_meta:
                if message.type == "set_tempo":
                    tempo_changes.append((tick, message.tempo))
                continue
            timed.append((tick, index, order, label, message.copy(time=0)))
    tempo = TempoMap.build(midi.ticks_per_beat, tempo_changes)
    timed.sort(key=lambda t: (t[0], t[1], t[2]))
    return [
        MidiEvent(start_frame + round(tempo.second_of(tick) * sample_rate), label, message)
        for tick, _, _, label, message in timed
    ]
