"""The [clock] config section."""

from __future__ import annotations

from ravebox.clock.settings import ClockSettings, DropoutPolicy
from ravebox.config.clock import parse
from ravebox.config.diagnostics import Diagnostics


def test_valid_table_becomes_settings():
    d = Diagnostics("box.toml")
    s = parse({"clock_follow": False, "dropout_policy": "open", "offset_ms": -12, "internal_bpm": 96,
               "beats_per_bar": 3}, d, "clock")
    assert not d
    assert s == ClockSettings(clock_follow=False, dropout_policy=DropoutPolicy.OPEN, offset_ms=-12.0,
                              internal_bpm=96.0, beats_per_bar=3)


def test_every_problem_is_reported_with_did_you_mean():
    text = "[clock]\ntransport_folow = true\ndropout_policy = \"freewheeling\"\nbeats_per_bar = 2.5\n"
    d = Diagnostics("box.toml", text)
    s = parse({"transport_folow": True, "dropout_policy": "freewheeling", "beats_per_bar": 2.5}, d, "clock")
    assert s == ClockSettings()
    msgs = [str(i) for i in d.items]
    assert msgs == [
        "box.toml:2: clock.transport_folow: unknown key (did you mean 'transport_follow'?)",
        "box.toml:3: clock.dropout_policy: must be one of freewheel, open (did you mean 'freewheel'?)",
        "box.toml:4: clock.beats_per_bar: must be an integer in range 1..32, got 2.5",
    ]


def test_ranges_and_types():
    d = Diagnostics("box.toml")
    parse({"internal_bpm": 400, "clock_follow": "yes", "offset_ms": True}, d, "clock")
    assert [i.key for i in d.items] == ["clock.internal_bpm", "clock.clock_follow", "clock.offset_ms"]
    assert "20..300" in d.items[0].message


def test_non_table_is_an_error():
    d = Diagnostics("box.toml")
    assert parse([1, 2], d, "clock") == ClockSettings()
    assert d.items[0].message == "must be a table"
