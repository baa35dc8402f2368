"""A Standard MIDI File as a performance: its events, plus a clock when it only has a tempo map.

Why synthesise clock ticks: a file from a DAW usually carries tempo (``set_tempo``
meta events) but no MIDI clock. Turning its tempo map into 24-PPQN ticks and a
Start lets the render drive the very same :class:`ClockFollower` the daemon
uses, so loops and gates lock exactly as they would to a live master.

Runs on the render thread before rendering starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mido

from ravebox.errors import MidiError
from ravebox.midi.events import CLOCK_TYPES, MidiEvent
from ravebox.midi.smf import TempoMap, read_smf

PPQN = 24


def load_performance(path: str | Path, sample_rate: int, port: str = "smf") -> list[MidiEvent]:
    """Every event of ``path`` in frame order; clock ticks added from the tempo map if it has none."""
    events = read_smf(path, sample_rate, port)
    if any(e.message.type == "clock" for e in events):
        return events
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError) as exc:  # read_smf already succeeded; be safe anyway
        raise MidiError(f"cannot read MIDI file {path}: {exc}") from exc
    tempo_changes = [(tick, msg.tempo) for tick, msg in _absolute(midi) if msg.type == "set_tempo"]
    if not tempo_changes:
        return events
    ticks = _clock_events(midi, tempo_changes, sample_rate, port, _end_tick(midi))
    merged = ticks + events
    merged.sort(key=lambda e: (e.frame, e.message.type not in CLOCK_TYPES))
    return merged


def _absolute(midi: mido.MidiFile) -> Iterator[tuple[int, mido.Message]]:
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            yield tick, msg


def _end_tick(midi: mido.MidiFile) -> int:
    return max((tick for tick, _ in _absolute(midi)), default=0)


def _clock_events(midi: mido.MidiFile, changes: list[tuple[int, int]], sample_rate: int, port: str,
                  end_tick: int) -> list[MidiEvent]:
    tempo = TempoMap.build(midi.ticks_per_beat, changes)
    step = midi.ticks_per_beat / PPQN
    label = f"{port}:tempo"
    out = [MidiEvent(0, label, mido.Message("start"))]
    count = int(end_tick / step) + PPQN * 4  # keep ticking a bar past the last event
    for i in range(count):
        frame = round(tempo.second_of(round(i * step)) * sample_rate)
        out.append(MidiEvent(frame, label, mido.Message("clock")))
    return out


def end_frame(events: list[MidiEvent]) -> int:
    """Frame of the last non-clock event (how long a prior-only render of a performance lasts)."""
    return max((e.frame for e in events if e.message.type != "clock"), default=0)
