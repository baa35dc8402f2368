"""The [jack] table and auto-connect planning (pure: port stand-ins carry only names and flags)."""

from __future__ import annotations

from dataclasses import dataclass


from ravebox.config.diagnostics import Diagnostics
from ravebox.config.jack import ConnectRule, JackSettings, parse
from ravebox.host.autoconnect import AutoConnector, describe, natural_key, planned


@dataclass
class P:
    name: str
    is_input: bool
    is_audio: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def shortname(self) -> str:
        return self.name.split(":", 1)[1]


def test_defaults_and_overrides():
    diags = Diagnostics("box.toml")
    settings = parse({"client_name": "box1", "headroom_periods": 2, "clock_from": "any",
                      "connect": [{"port": "^midi_in$", "allow": "nanoKONTROL", "deny": ["(?i)through"]}]}, diags)
    assert not diags
    assert settings.client_name == "box1" and settings.headroom_periods == 2 and settings.clock_from == "any"
    assert settings.connect == (ConnectRule("^midi_in$", ("nanoKONTROL",), ("(?i)through",)),)
    assert parse({}, Diagnostics("x")) == JackSettings()


def test_every_problem_reported_with_did_you_mean():
    text = "[jack]\nheadroom_period = 1\nclock_from = 'clok_in'\n"
    diags = Diagnostics("box.toml", text)
    parse({"headroom_period": 1, "clock_from": "clok_in", "fade_out_ms": -1,
           "connect": [{"port": "(", "allow": []}, {"port": "x", "allow": [1]}, {"prt": "y"}]}, diags)
    messages = [str(d) for d in diags.items]
    assert any("box.toml:2: jack.headroom_period: unknown key (did you mean 'headroom_periods'?)" == m
               for m in messages)
    assert any("jack.clock_from" in m and "did you mean 'clock_in'" in m for m in messages)
    assert any("jack.fade_out_ms" in m for m in messages)
    assert any("jack.connect[0].port: invalid regular expression" in m for m in messages)
    assert any("jack.connect[1].allow" in m for m in messages)
    assert any("jack.connect[2].prt: unknown key (did you mean 'port'?)" in m for m in messages)


def test_rule_identity_is_the_name_not_the_alsa_number():
    rule = ConnectRule("^midi_in$", ("^a2j:nanoKONTROL2 \\[\\d+\\]",), ("(?i)through",))
    assert rule.admits("a2j:nanoKONTROL2 [20] (capture): nanoKONTROL2 MIDI 1")
    assert rule.admits("a2j:nanoKONTROL2 [24] (capture): nanoKONTROL2 MIDI 1")   # re-plugged, new number
    assert not rule.admits("a2j:Midi Through [14] (capture): Midi Through Port-0")


def test_audio_pairs_channels_and_spreads_mono():
    own = [P("rbx:main_in_1", True), P("rbx:main_out_1", False)]
    peers = [P(f"system:capture_{i}", False) for i in (1, 2)] + [P(f"system:playback_{i}", True) for i in (1, 2)]
    rules = (ConnectRule("_in_\\d+$", ("^system:capture_",)), ConnectRule("_out_\\d+$", ("^system:playback_",)))
    plan = {(s, d) for s, d, _ in planned(rules, own, peers, "rbx")}
    assert plan == {("system:capture_1", "rbx:main_in_1"), ("system:capture_2", "rbx:main_in_1"),
                    ("rbx:main_out_1", "system:playback_1"), ("rbx:main_out_1", "system:playback_2")}


def test_midi_connects_every_admitted_source_and_never_itself():
    own = [P("rbx:midi_in", True, False), P("rbx:midi_out", False, False)]
    peers = [P("a2j:pad (capture): pad", False, False), P("a2j:Midi Through (capture): t", False, False),
             P("system:capture_1", False, True), *own]
    rules = (ConnectRule("^midi_in$", (".*",), ("(?i)through",)),)
    assert planned(rules, own, peers, "rbx") == [("a2j:pad (capture): pad", "rbx:midi_in", ".*")]


def test_describe_names_the_pattern():
    lines = describe((ConnectRule("^clock_in$", ("(?i)clock",)),), [("clock_in", True, False)],
                     [P("jack_midi_clock:mclk_out", False, False), P("x:y", False, False)], "ravebox")
    assert "ravebox:clock_in (allow '(?i)clock')" in lines[0]
    assert lines[1].endswith("-> -")


def test_natural_sort():
    assert sorted(["c_10", "c_9", "c_1"], key=natural_key) == ["c_1", "c_9", "c_10"]


class Ports:
    """A JACK client's port listing, for AutoConnector.observe (which reads only names)."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def get_ports(self) -> list[P]:
        return [P(n, n.startswith("rbx:"), False) for n in self.names]


def test_a_disconnect_is_decided_one_observation_later_and_a_vanished_port_is_never_a_user_decision():
    pair, both = ("ctl:out", "rbx:midi_in"), Ports("ctl:out", "rbx:midi_in")
    replug = AutoConnector(())
    replug.observe(both, [(*pair, False)], "rbx", ["ctl:out"])     # gone and back before the main thread looked
    assert replug.pending == [pair] and not replug.declined
    assert replug.observe(both, [], "rbx") is True                   # decided: the port's, not the user's
    assert not replug.pending and not replug.declined
    late = AutoConnector(())
    late.observe(both, [(*pair, False)], "rbx")                     # the unregistration notice comes a poll later
    assert late.observe(both, [], "rbx", ["ctl:out"]) is True and not late.declined
    user = AutoConnector(())
    user.remembered.add(pair)
    user.observe(both, [(*pair, False)], "rbx")                     # jack_disconnect: both ports stay
    assert not user.declined
    assert user.observe(both, [], "rbx") is False
    assert user.declined == {pair} and pair not in user.remembered
    again = AutoConnector(())
    again.observe(both, [(*pair, False), (*pair, True)], "rbx")     # disconnected and connected again meanwhile
    assert not again.pending and pair in again.remembered
