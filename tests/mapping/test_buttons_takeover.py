"""Buttons (momentary, toggle, trigger), soft takeover modes, and release routing on swap."""

from __future__ import annotations

import pytest

from maprig import Rig, cc, write
from ravebox.mapping import load_mapping
from ravebox.params.table import ParamKey

NOTE_ON, NOTE_OFF = 0x90, 0x80

# rule, messages (each sent at its own time), parameter, expected values after each message
BUTTONS = [
    ('cc = 41\nbutton = "momentary"\ntarget = "latent.freeze"', [cc(41, 127), cc(41, 0)],
     "latent.freeze", [1.0, 0.0]),
    ('cc = 41\nbutton = "toggle"\ntarget = "latent.freeze"', [cc(41, 127), cc(41, 0), cc(41, 127), cc(41, 0)],
     "latent.freeze", [1.0, 1.0, 0.0, 0.0]),
    ('cc = 41\nbutton = "toggle"\ntarget = "latent.freeze"', [cc(41, 127), cc(41, 127)],  # press-only buttons
     "latent.freeze", [1.0, 0.0]),
    ('cc = 41\nbutton = "toggle"\nthreshold = 100\ntarget = "latent.freeze"', [cc(41, 99), cc(41, 100)],
     "latent.freeze", [0.0, 1.0]),
    ('note = 36\ntarget = "latent.freeze"', [(NOTE_ON, 36, 90), (NOTE_OFF, 36, 0), (NOTE_ON, 36, 1)],
     "latent.freeze", [1.0, 1.0, 0.0]),
    ('note = 36\nbutton = "momentary"\ntarget = "loop.enabled"', [(NOTE_ON, 36, 90), (NOTE_ON, 36, 0)],
     "loop.enabled", [1.0, 0.0]),
    ('note = 36\nbutton = "momentary"\nvelocity = "value"\ntarget = "gate.depth"\nsmoothing_ms = 0',
     [(NOTE_ON, 36, 64), (NOTE_OFF, 36, 64)], "gate.depth", [round(63 / 126, 6), 0.0]),
    ('cc = 50\nbutton = "trigger"\nvalue = 3\ntarget = "gate.pattern"', [cc(50, 127), cc(50, 0)],
     "gate.pattern", [3.0, 3.0]),
    ('cc = 50\nbutton = "momentary"\nrange = [0.25, 0.75]\ntarget = "gate.depth"\nsmoothing_ms = 0',
     [cc(50, 127), cc(50, 0)], "gate.depth", [0.75, 0.25]),
]


@pytest.mark.parametrize("rule,messages,param,expected", BUTTONS)
def test_buttons(tmp_path, rule, messages, param, expected):
    rig = Rig(tmp_path, f"[[map]]\n{rule}\n")
    got = [rig.send(*m).value(param) for m in messages]
    assert got == expected


def test_trigger_targets_fire_on_press_only(tmp_path):
    rig = Rig(tmp_path, '[[map]]\ncc = 60\ntarget = "engine.reset"\ngraph = "aux"\n')
    for value in (127, 0, 127, 0):
        rig.send(*cc(60, value))
    assert rig.store.trigger_count(ParamKey("engine.reset", "aux")) == 2
    assert rig.store.trigger_count(ParamKey("engine.reset", "main")) == 0


def fader(takeover: str) -> str:
    return f'[[map]]\ncc = 1\ntarget = "mix.wet"\nsmoothing_ms = 0\nsource_range = [0, 100]\ntakeover = "{takeover}"\n'


def test_jump(tmp_path):
    rig = Rig(tmp_path, fader("jump"))
    assert [rig.send(*cc(1, v)).value("mix.wet") for v in (10, 20)] == [0.1, 0.2]


def test_pickup_waits_until_the_fader_reaches_the_value(tmp_path):
    rig = Rig(tmp_path, fader("pickup"))
    rig.store.set(ParamKey("mix.wet", "main"), 0.5, 0, 0)
    got = [rig.send(*cc(1, v)).value("mix.wet") for v in (10, 30, 45, 60, 70)]
    assert got == [0.5, 0.5, 0.5, 0.6, 0.7]  # crossing 0.5 between 49 and 60 (45 -> 60) picks it up
    assert rig.runtime.stats.waiting == 3


def test_pickup_within_tolerance(tmp_path):
    rig = Rig(tmp_path, fader("pickup"))
    rig.store.set(ParamKey("mix.wet", "main"), 0.5, 0, 0)
    assert [rig.send(*cc(1, v)).value("mix.wet") for v in (51, 40)] == [0.51, 0.4]


def test_pickup_is_lost_after_a_preset_moves_the_value(tmp_path):
    rig = Rig(tmp_path, fader("pickup"))
    rig.send(*cc(1, 100)).send(*cc(1, 80))
    assert rig.value("mix.wet") == 0.8
    rig.store.set(ParamKey("mix.wet", "main"), 0.2, rig.frame + 1, 0)  # someone else moved it
    assert [rig.send(*cc(1, v)).value("mix.wet") for v in (70, 30, 10)] == [0.2, 0.2, 0.1]


def test_catchup_scales_the_move_so_both_meet_at_the_end(tmp_path):
    rig = Rig(tmp_path, fader("catchup"))
    rig.store.set(ParamKey("mix.wet", "main"), 0.8, 0, 0)
    rig.send(*cc(1, 0))                  # first sight of the fader: nothing moves
    assert rig.value("mix.wet") == 0.8
    rig.send(*cc(1, 50))                 # fader half way to the top moves the value half way: 0.8 -> 0.9
    assert rig.value("mix.wet") == 0.9
    rig.send(*cc(1, 100))                # both arrive at the top together and the fader owns it
    assert rig.value("mix.wet") == 1.0
    rig.send(*cc(1, 40))
    assert rig.value("mix.wet") == 0.4


def test_catchup_locks_when_the_fader_crosses_the_value(tmp_path):
    rig = Rig(tmp_path, fader("catchup"))
    rig.store.set(ParamKey("mix.wet", "main"), 0.5, 0, 0)
    assert [rig.send(*cc(1, v)).value("mix.wet") for v in (0, 70, 60)] == [0.5, 0.7, 0.6]


def test_catchup_moving_down_towards_the_value(tmp_path):
    rig = Rig(tmp_path, fader("catchup"))
    rig.store.set(ParamKey("mix.wet", "main"), 0.2, 0, 0)
    rig.send(*cc(1, 80)).send(*cc(1, 40))  # 0.8 -> 0.4: value 0.2 shrinks by half (0.4 / 0.8) to 0.1
    assert rig.value("mix.wet") == 0.1


def test_takeover_modes_accept_hyphenated_names(tmp_path):
    assert load_mapping(write(tmp_path, fader("pick-up"))).rules[0].takeover == "pickup"
    assert load_mapping(write(tmp_path, fader("catch-up"))).rules[0].takeover == "catchup"


def test_release_goes_to_the_mapping_that_saw_the_press(tmp_path):
    rig = Rig(tmp_path, '[[map]]\nnote = 36\nbutton = "momentary"\ntarget = "latent.freeze"\n'
                        '[[map]]\ncc = 41\nbutton = "momentary"\ntarget = "loop.enabled"\n')
    rig.send(NOTE_ON, 36, 100).send(*cc(41, 127))
    other = load_mapping(write(tmp_path, '[[map]]\nnote = 36\nbutton = "momentary"\ntarget = "prior.listen"\n'
                                          '[[map]]\ncc = 41\nbutton = "momentary"\ntarget = "graph.mute"\n',
                               "other.toml"))
    rig.runtime.swap(other)
    rig.send(NOTE_OFF, 36, 0).send(*cc(41, 0))
    assert (rig.value("latent.freeze"), rig.value("loop.enabled")) == (0.0, 0.0)   # released by the old mapping
    assert (rig.value("prior.listen"), rig.value("graph.mute")) == (0.0, 0.0)
    rig.send(NOTE_ON, 36, 100)                                                    # a new press: the new mapping
    assert (rig.value("latent.freeze"), rig.value("prior.listen")) == (0.0, 1.0)


def test_default_takeover_reaches_knobs_but_not_bend(tmp_path):
    mapping = load_mapping(write(tmp_path, '[defaults]\ntakeover = "pickup"\n[[map]]\ncc = 1\ntarget = "mix.wet"\n'
                                           '[[map]]\npitchbend = true\ntarget = "gate.depth"\n'
                                           '[[map]]\nnote = 1\nvelocity = "value"\ntarget = "gate.swing"\n'))
    assert [r.takeover for r in mapping.rules] == ["pickup", "jump", "jump"]
