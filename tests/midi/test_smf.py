"""Standard MIDI Files -> frames, honouring the tempo map."""

from __future__ import annotations

import mido
import pytest

from ravebox.errors import MidiError
from ravebox.midi.smf import events_of, read_smf


def two_track_file() -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    tempo = mido.MidiTrack([mido.MetaMessage("track_name", name="tempo"),
                            mido.MetaMessage("set_tempo", tempo=500_000, time=0),
                            mido.MetaMessage("set_tempo", tempo=1_000_000, time=960)])  # 120 -> 60 BPM at beat 2
    notes = mido.MidiTrack([mido.MetaMessage("track_name", name="keys"),
                            mido.Message("note_on", note=60, velocity=100, time=480),    # beat 1 -> 0.5 s
                            mido.Message("control_change", control=1, value=3, time=960),  # beat 3 -> 1 + 1 s
                            mido.Message("note_off", note=60, time=240)])                  # beat 3.5 -> 2.5 s
    midi.tracks += [tempo, notes]
    return midi


def test_tempo_map_is_honoured_in_frames():
    events = events_of(two_track_file(), 48000)
    assert [(e.frame, e.message.type) for e in events] == [
        (24000, "note_on"), (96000, "control_change"), (120000, "note_off")]
    assert {e.port for e in events} == {"smf"}


def test_per_track_ports_and_start_frame():
    events = events_of(two_track_file(), 1000, port="song", start_frame=5, per_track_ports=True)
    assert [(e.frame, e.port) for e in events] == [(505, "song:keys"), (2005, "song:keys"), (2505, "song:keys")]


def test_read_smf_from_disk(tmp_path):
    path = tmp_path / "x.mid"
    two_track_file().save(path)
    assert [e.frame for e in read_smf(path, 48000)] == [24000, 96000, 120000]


def test_unreadable_file_raises_midi_error(tmp_path):
    path = tmp_path / "bad.mid"
    path.write_bytes(b"not midi")
    with pytest.raises(MidiError, match="cannot read MIDI file"):
        read_smf(path, 48000)


def test_type0_file_with_two_tempo_changes_at_one_tick_uses_the_last():
    midi = mido.MidiFile(type=0, ticks_per_beat=100)
    midi.tracks.append(mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=250_000, time=0),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),       # 60 BPM wins
        mido.Message("program_change", program=3, time=100),           # beat 1 -> 1 s
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),
        mido.Message("sysex", data=[1, 2], time=200),                  # + 2 beats at 120 BPM -> 2 s
    ]))
    events = events_of(midi, 1000)
    assert [(e.frame, e.message.type) for e in events] == [(1000, "program_change"), (2000, "sysex")]
