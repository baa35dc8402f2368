"""One dialect for every port and device name (config/names.py): what each kind of pattern matches."""

from __future__ import annotations

import pytest

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import ConnectRule, parse
from ravebox.config.names import matches, problem
from ravebox.mapping.model import PortPattern


@pytest.mark.parametrize("pattern,name,expected", [
    ("nanoKONTROL2", "midi_in <- nanoKONTROL2 MIDI 1", True),          # a word: contained, any case
    ("nanokontrol2", "a2j:nanoKONTROL2 [20] (capture): nanoKONTROL2 MIDI 1", True),
    ("Launch Control XL", "alsa_pcm:Launch-Control-XL/midi_capture_1", True),  # separators alike
    ("MIDI Mix", "midi_in <- MIDI_Mix", True),
    ("*", "anything at all", True),                                     # globs: the whole name
    ("*nano*", "midi_in <- NANOkontrol2", True),
    ("nano*", "midi_in <- nanoKONTROL2", False),
    ("^midi_in$", "midi_in", True),                                     # regular expressions
    ("^midi_in$", "midi_in_feedback", False),
    ("^midi_in$", "MIDI_IN", True),
    ("_in_\\d+$", "main_in_1", True),
    ("_in_\\d+$", "main_in_x", False),
    ("(?i)through", "Midi Through Port-0", True),
    ("^system:midi_capture_", "system:midi_capture_3", True),
    ("^system:midi_capture_", "alsa_pcm:system/midi_capture", False),
    ("[A-Z_]+x$", "AB_x", True),                                        # a class keeps its own meaning
])
def test_one_dialect(pattern, name, expected):
    assert matches(pattern, name) is expected
    assert PortPattern(pattern).matches(name) is expected
    assert ConnectRule(pattern, (pattern,)).admits(name) is expected


def test_every_bundled_default_rule_still_matches_what_it_was_written_for():
    from ravebox.config.jack import DEFAULT_RULES

    ports = {"midi_in": "system:midi_capture_1", "clock_in": "jack_midi_clock:mclk_out",
             "midi_in_feedback": "system:midi_playback_1", "main_in_1": "system:capture_1",
             "main_out_1": "system:playback_1"}
    for own, peer in ports.items():
        assert any(r.matches_own(own) and r.admits(peer) for r in DEFAULT_RULES), own
    assert not any(r.matches_own("midi_in") and r.admits("system:midi_capture_2 Midi-Through") for r in DEFAULT_RULES)


def test_matching_never_raises_even_on_a_pattern_nobody_checked():
    assert matches("keys (left", "midi_in <- Keys-(left") and not matches("keys (left", "knobs")


def test_a_bad_pattern_is_reported_where_it_is_written():
    assert problem("nano(").startswith("invalid regular expression 'nano(':")
    assert problem("*nano*") is None and problem(3).startswith("must be a name pattern")
    d = Diagnostics("box.toml")
    parse({"alsa_inputs": [{"input": "knobs", "device": "nano("}], "connect": [{"port": "x(", "allow": []}]}, d)
    assert sorted(i.key for i in d.items) == ["jack.alsa_inputs[0].device", "jack.connect[0].port"]


def test_a_mapping_with_a_bad_port_pattern_is_refused_at_its_line(tmp_path):
    from ravebox.errors import ConfigError
    from ravebox.mapping import load_mapping

    path = tmp_path / "map.toml"
    path.write_text('[defaults]\nport = "nano("\n[[map]]\ncc = 1\ntarget = "mix.wet"\n')
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    assert f"{path}:2: defaults.port: invalid regular expression 'nano('" in str(caught.value)
