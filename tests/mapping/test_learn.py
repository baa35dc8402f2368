"""MIDI learn offline: every source kind is captured, and the file edit keeps the layout and validates."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import mido
import pytest

from ravebox.errors import ConfigError
from ravebox.mapping.learn import LearnCapture, LearnedSource, device_of
from ravebox.mapping.learnfile import LearnTarget, learn_into
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.runtime import MappingRuntime
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

PORT = "midi_in <- nanoKONTROL2 MIDI 1"
ROOT = Path(__file__).resolve().parents[2]


def ev(frame: int, kind: str, port: str = PORT, **kw) -> MidiEvent:
    return MidiEvent(frame, port, mido.Message(kind, **kw))


def capture(*events: MidiEvent, end: int = 100_000) -> LearnedSource | None:
    learn = LearnCapture(pair_window=480)
    for event in events:
        learn.poll(event.frame)
        assert learn.offer(event)
    learn.poll(end)
    return learn.result


@pytest.mark.parametrize("events, expected", [
    ([ev(0, "control_change", control=74, value=3, channel=2)], ("cc", 74, 2)),
    ([ev(0, "control_change", control=7, value=3)], ("cc", 7, 0)),                   # after the window
    ([ev(0, "control_change", control=7, value=3), ev(10, "control_change", control=7, value=4)], ("cc", 7, 0)),
    ([ev(0, "control_change", control=1, value=3), ev(5, "control_change", control=33, value=9)], ("cc14", 1, 0)),
    ([ev(0, "control_change", control=33, value=9), ev(5, "control_change", control=1, value=3)], ("cc14", 1, 0)),
    ([ev(0, "control_change", control=99, value=2, channel=5), ev(1, "control_change", control=98, value=5, channel=5),
      ev(2, "control_change", control=6, value=64, channel=5)], ("nrpn", 2 * 128 + 5, 5)),
    ([ev(0, "control_change", control=101, value=0), ev(1, "control_change", control=100, value=0),
      ev(2, "control_change", control=6, value=2)], ("rpn", 0, 0)),
    ([ev(0, "note_off", note=60), ev(3, "note_on", note=36, velocity=100, channel=9)], ("note", 36, 9)),
    ([ev(0, "program_change", program=4)], ("program", 4, 0)),
    ([ev(0, "pitchwheel", pitch=300, channel=1)], ("pitchbend", None, 1)),
])
def test_capture_recognises_every_source_kind(events, expected):
    got = capture(*events)
    assert (got.kind, got.number, got.channel) == expected
    assert got.port == "nanoKONTROL2 MIDI 1"


def test_a_cc_partner_outside_the_window_is_two_plain_ccs():
    learn = LearnCapture(pair_window=480)
    learn.offer(ev(0, "control_change", control=1, value=3))
    learn.poll(481)
    assert learn.result == LearnedSource("cc", 1, 0, "nanoKONTROL2 MIDI 1")


def test_cancel_wakes_the_waiter_without_a_result_and_lets_events_through():
    learn = LearnCapture()
    learn.cancel()
    assert learn.done.is_set() and learn.result is None
    assert not learn.offer(ev(0, "control_change", control=7, value=1))


def test_unlearnable_messages_are_played_as_usual():
    learn = LearnCapture()
    assert not learn.offer(ev(0, "aftertouch", value=3))
    assert learn.result is None


def test_device_label_becomes_the_port_filter():
    assert device_of("knobs <- nanoKONTROL2 MIDI 1") == "nanoKONTROL2 MIDI 1"
    assert device_of("knobs") == "knobs"
    assert device_of("knobs <- weird [thing]") == "knobs"      # globs would change the filter's meaning


HAND = """# my own mapping -- keep this comment
[mapping]
name = "mine"

[defaults]
takeover = "jump"

[[map]]
cc     = [16, 17, 18]       # three knobs
dim    = [0, 1, 2]
target = "latent.bias"

[[map]]
cc = 7                      # master
target = "out.gain_db"
range = [-40, 0]
"""


@pytest.fixture
def mapping_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(HAND)
    return path


def learned(kind="cc", number=74, channel=0, port="nanoKONTROL2 MIDI 1"):
    return LearnedSource(kind, number, channel, port)


def test_learn_appends_an_entry_keeping_every_comment(mapping_file):
    out = learn_into(mapping_file, learned(), LearnTarget("mix.wet", graph="main"))
    assert out.ok and out.entry == 2
    text = mapping_file.read_text()
    assert text.startswith(HAND)
    entry = tomllib.loads(text)["map"][2]
    assert entry == {"cc": 74, "channel": 1, "port": "nanoKONTROL2 MIDI 1", "target": "mix.wet", "graph": "main"}
    assert "# learned " in text and "from nanoKONTROL2 MIDI 1" in text
    rule = load_mapping(mapping_file).rules[-1]
    assert (rule.source.kind, rule.source.number, str(rule.target)) == ("cc", 74, "main/mix.wet")


def test_the_learned_entry_reproduces_the_move(mapping_file):
    learn_into(mapping_file, learned("cc14", 1, 3), LearnTarget("latent.bias", dim=5))
    store = ParamStore({"main": 8}, 48000)
    runtime = MappingRuntime(load_mapping(mapping_file), store)
    port = "midi_in <- nanoKONTROL2 MIDI 1"
    runtime.handle(ev(0, "control_change", port=port, control=1, value=127, channel=3))
    runtime.handle(ev(1, "control_change", port=port, control=33, value=127, channel=3))
    assert store.target(ParamKey("latent.bias", "main", 5)) == pytest.approx(4.0)
    assert store.target(ParamKey("latent.bias", "main", 4)) == 0.0


@pytest.mark.parametrize("kind, number, target, key, value", [
    ("nrpn", 2 * 128 + 5, "prior.temperature", "nrpn", [2, 5]),
    ("note", 36, "latent.freeze", "note", 36),
    ("program", 3, "preset.recall", "program", True),
    ("pitchbend", None, "latent.scale", "pitchbend", True),
    ("cc", 80, "loop.enabled", "cc", 80),
])
def test_every_kind_writes_a_file_the_loader_accepts(mapping_file, kind, number, target, key, value):
    out = learn_into(mapping_file, learned(kind, number), LearnTarget(target))
    assert out.ok
    entry = tomllib.loads(mapping_file.read_text())["map"][-1]
    assert entry[key] == value
    if kind == "cc" and target == "loop.enabled":
        assert entry["button"] == "toggle"
    load_mapping(mapping_file)


def test_an_already_mapped_control_asks_first_and_writes_nothing(mapping_file):
    out = learn_into(mapping_file, learned("cc", 7), LearnTarget("mix.wet"))
    assert not out.ok and out.conflict
    assert "map[1] (line 13) -> out.gain_db" in out.message and "--replace or --add" in out.message
    assert mapping_file.read_text() == HAND


def test_replace_takes_one_element_out_of_a_list_entry(mapping_file):
    out = learn_into(mapping_file, learned("cc", 17), LearnTarget("mix.wet"), mode="replace")
    assert out.ok and "replacing map[0]" in out.message
    data = tomllib.loads(mapping_file.read_text())
    assert data["map"][0]["cc"] == [16, 18] and data["map"][0]["dim"] == [0, 2]
    assert data["map"][-1]["cc"] == 17
    assert "# three knobs" in mapping_file.read_text()
    load_mapping(mapping_file)


def test_replace_drops_a_single_entry_and_add_layers_both(mapping_file):
    assert learn_into(mapping_file, learned("cc", 7), LearnTarget("mix.wet"), mode="add").ok
    data = tomllib.loads(mapping_file.read_text())
    assert data["map"][1]["layer"] is True and data["map"][2]["layer"] is True
    assert learn_into(mapping_file, learned("cc", 7), LearnTarget("gate.depth"), mode="replace").ok
    data = tomllib.loads(mapping_file.read_text())
    assert [m["target"] for m in data["map"]] == ["latent.bias", "gate.depth"]


def test_bad_targets_are_refused_with_did_you_mean_and_the_file_kept(mapping_file):
    with pytest.raises(ConfigError, match="did you mean 'loop.dissolve'"):
        learn_into(mapping_file, learned(), LearnTarget("loop.disolve"))
    with pytest.raises(ConfigError, match="would be invalid"):
        learn_into(mapping_file, learned(), LearnTarget("mix.wet", dim=3))       # mix.wet has no dims
    assert mapping_file.read_text() == HAND


def test_learning_into_a_bundled_mapping_copy_keeps_it_valid(tmp_path):
    path = tmp_path / "nanokontrol2.toml"
    shutil.copy(ROOT / "mappings" / "nanokontrol2.toml", path)
    shutil.copytree(ROOT / "mappings" / "presets", tmp_path / "presets")
    before = path.read_text()
    out = learn_into(path, learned("cc", 70, port="nanoKONTROL2"), LearnTarget("graph.mute"), mode="replace")
    assert out.ok
    assert path.read_text().startswith(before.split("[[map]]")[0])
    load_mapping(path)
