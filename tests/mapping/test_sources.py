"""Every source kind: raw bytes in, parameter values out."""

from __future__ import annotations

import pytest

from maprig import Rig, cc

# name, rule (TOML), bytes, parameter, graph, dim, expected value
CASES = [
    ("cc", 'cc = 1\ntarget = "mix.wet"', [*cc(1, 0)], "mix.wet", "main", None, 0.0),
    ("cc full", 'cc = 1\ntarget = "out.gain_db"', [*cc(1, 127)], "out.gain_db", "main", None, 12.0),
    ("cc dim", 'cc = 70\ntarget = "latent.bias"\ndim = 2', [*cc(70, 127)], "latent.bias", "main", 2, 4.0),
    ("cc dim untouched", 'cc = 70\ntarget = "latent.bias"\ndim = 2', [*cc(70, 127)], "latent.bias", "main", 1, 0.0),
    ("cc all dims", 'cc = 70\ntarget = "latent.bias"', [*cc(70, 0)], "latent.bias", "main", 3, -4.0),
    ("cc one graph", 'cc = 7\ntarget = "mix.wet"\ngraph = "aux"', [*cc(7, 0)], "mix.wet", "aux", None, 0.0),
    ("cc other graph untouched", 'cc = 7\ntarget = "mix.wet"\ngraph = "aux"', [*cc(7, 0)], "mix.wet", "main", None, 1.0),
    ("cc14 msb first", 'cc14 = 7\ntarget = "loop.dissolve"', [0xB0, 7, 64, 0xB0, 39, 0],
     "loop.dissolve", "main", None, round(8192 / 16383, 6)),
    ("cc14 msb then lsb, running status", 'cc14 = 7\ntarget = "loop.dissolve"', [0xB0, 7, 127, 39, 127],
     "loop.dissolve", "main", None, 1.0),
    ("cc14 lsb first", 'cc14 = 7\norder = "lsb_first"\ntarget = "loop.dissolve"', [0xB0, 39, 127, 7, 127],
     "loop.dissolve", "main", None, 1.0),
    ("cc14 lsb first, told apart by auto", 'cc14 = 7\ntarget = "loop.dissolve"', [0xB0, 39, 127, 7, 127],
     "loop.dissolve", "main", None, 1.0),
    ("cc14 lsb first, msb_first loses the lsb", 'cc14 = 7\norder = "msb_first"\ntarget = "loop.dissolve"',
     [0xB0, 39, 127, 7, 127], "loop.dissolve", "main", None, round(127 * 128 / 16383, 6)),
    ("cc14 lsb only update", 'cc14 = 7\ntarget = "loop.dissolve"', [0xB0, 7, 0, 39, 100, 39, 50],
     "loop.dissolve", "main", None, round(50 / 16383, 6)),
    ("nrpn 14 bit", 'nrpn = 300\ntarget = "loop.dissolve"', [0xB0, 99, 2, 98, 44, 6, 127, 38, 127],
     "loop.dissolve", "main", None, 1.0),
    ("nrpn as [msb, lsb]", 'nrpn = [2, 44]\ntarget = "loop.dissolve"', [0xB0, 99, 2, 98, 44, 6, 64, 38, 0],
     "loop.dissolve", "main", None, round(8192 / 16383, 6)),
    ("nrpn other parameter ignored", 'nrpn = 300\ntarget = "loop.dissolve"', [0xB0, 99, 2, 98, 45, 6, 127],
     "loop.dissolve", "main", None, 0.0),
    ("nrpn 7 bit", 'nrpn = 300\nbits = 7\ntarget = "loop.dissolve"', [0xB0, 99, 2, 98, 44, 6, 127],
     "loop.dissolve", "main", None, 1.0),
    ("nrpn increment", 'nrpn = 300\nbits = 7\ntarget = "gate.pattern"', [0xB0, 99, 2, 98, 44, 6, 3, 96, 0, 96, 0],
     "gate.pattern", "main", None, 5.0),
    ("rpn", 'rpn = 0\nbits = 7\ntarget = "mix.wet"', [0xB0, 101, 0, 100, 0, 6, 0], "mix.wet", "main", None, 0.0),
    ("rpn is not nrpn", 'nrpn = 0\nbits = 7\ntarget = "mix.wet"', [0xB0, 101, 0, 100, 0, 6, 0],
     "mix.wet", "main", None, 1.0),
    ("note velocity as value", 'note = 60\nvelocity = "value"\ntarget = "mix.wet"', [0x90, 60, 64],
     "mix.wet", "main", None, round(63 / 126, 6)),
    ("note velocity value kept after note off", 'note = 60\nvelocity = "value"\ntarget = "mix.wet"',
     [0x90, 60, 127, 0x80, 60, 0], "mix.wet", "main", None, 1.0),
    ("note as trigger", 'note = 36\ntarget = "loop.retrigger"', [0x90, 36, 1], "loop.retrigger", "main", None, None),
    ("program any", 'program = true\ntarget = "gate.pattern"', [0xC0, 5], "gate.pattern", "main", None, 5.0),
    ("program one", 'program = 9\ntarget = "gate.pattern"\nvalue = 3', [0xC0, 9], "gate.pattern", "main", None, 3.0),
    ("program other", 'program = 9\ntarget = "gate.pattern"\nvalue = 3', [0xC0, 8], "gate.pattern", "main", None, 0.0),
    ("pitch bend centre", 'pitchbend = true\ntarget = "latent.bias"\ndim = 0', [0xE0, 0, 64],
     "latent.bias", "main", 0, round(-4 + 8 * 8192 / 16383, 6)),
    ("pitch bend down", 'pitchbend = true\ntarget = "latent.bias"\ndim = 0', [0xE0, 0, 0],
     "latent.bias", "main", 0, -4.0),
    ("pitch bend source range", 'pitchbend = true\nsource_range = [0, 8191]\ntarget = "mix.wet"', [0xE0, 0, 0],
     "mix.wet", "main", None, 0.0),
    ("channel pressure", 'pressure = true\ntarget = "latent.noise"\ndim = 1', [0xD0, 127],
     "latent.noise", "main", 1, 2.0),
    ("poly pressure", 'polytouch = 60\ntarget = "gate.depth"', [0xA0, 60, 127], "gate.depth", "main", None, 1.0),
    ("channel filter passes", 'cc = 1\nchannel = 2\ntarget = "mix.wet"', [*cc(1, 0, channel=1)],
     "mix.wet", "main", None, 0.0),
    ("channel filter blocks", 'cc = 1\nchannel = 2\ntarget = "mix.wet"', [*cc(1, 0, channel=0)],
     "mix.wet", "main", None, 1.0),
    ("channel list", 'cc = 1\nchannel = [3, 4]\ntarget = "mix.wet"', [*cc(1, 0, channel=3)],
     "mix.wet", "main", None, 0.0),
]


@pytest.mark.parametrize("name,rule,data,param,graph,dim,expected", CASES, ids=[c[0] for c in CASES])
def test_source(tmp_path, name, rule, data, param, graph, dim, expected):
    rig = Rig(tmp_path, f"[defaults]\nsmoothing_ms = 0\n[[map]]\n{rule}\n")
    rig.send(*data)
    if expected is None:  # a trigger: it fired once
        from ravebox.params.table import ParamKey
        assert rig.store.trigger_count(ParamKey(param, graph)) == 1
    else:
        assert rig.value(param, graph, dim) == expected


def test_port_patterns_let_two_controllers_share_cc_numbers(tmp_path):
    rig = Rig(tmp_path, """
        [defaults]
        smoothing_ms = 0
        [[map]]
        cc = 1
        port = "nanoKONTROL2"
        target = "mix.wet"
        [[map]]
        cc = 1
        port = "*MIDImix*"
        target = "gate.depth"
    """)
    rig.send(*cc(1, 0), port="system:midi_capture_1 nanoKONTROL2 MIDI 1")
    assert (rig.value("mix.wet"), rig.value("gate.depth")) == (0.0, 0.0)
    rig.send(*cc(1, 127), port="a2j:MIDI Mix [24] (capture): MIDImix MIDI 1")
    assert (rig.value("mix.wet"), rig.value("gate.depth")) == (0.0, 1.0)
    rig.send(*cc(1, 127), port="keyboard")
    assert rig.runtime.stats.unmatched == 1


def test_default_channel_applies_to_every_rule(tmp_path):
    rig = Rig(tmp_path, """
        [defaults]
        channel = 10
        smoothing_ms = 0
        [[map]]
        cc = 1
        target = "mix.wet"
    """)
    rig.send(*cc(1, 0, channel=0))
    assert rig.value("mix.wet") == 1.0
    rig.send(*cc(1, 0, channel=9))
    assert rig.value("mix.wet") == 0.0


def test_nrpn_data_without_selection_is_counted(tmp_path):
    rig = Rig(tmp_path, '[[map]]\nnrpn = 1\ntarget = "mix.wet"\n')
    rig.send(0xB0, 6, 10, 0xB0, 99, 127, 98, 127, 6, 10)  # no selection, then the null parameter
    assert rig.runtime.controller.stats.orphan_data == 2
    assert rig.value("mix.wet") == 1.0


def test_box_parameter_needs_no_graph(tmp_path):
    rig = Rig(tmp_path, '[defaults]\nsmoothing_ms = 0\n[[map]]\ncc = 20\ntarget = "clock.bpm"\n')
    rig.send(*cc(20, 127))
    assert rig.value("clock.bpm", None) == 300.0


def test_cc14_auto_order_resets_a_stale_lsb(tmp_path):
    """An MSB long after the last LSB starts a new MSB-first pair (the spec's reset)."""
    rig = Rig(tmp_path, '[defaults]\nsmoothing_ms = 0\n[[map]]\ncc14 = 7\ntarget = "loop.dissolve"\n')
    rig.send(0xB0, 39, 127).send(0xB0, 7, 64)
    assert rig.value("loop.dissolve") == round(64 * 128 / 16383, 6)
    rig.send(0xB0, 39, 1, frame=rig.frame + 1000).send(0xB0, 7, 64, frame=rig.frame + 1)  # LSB just before
    assert rig.value("loop.dissolve") == round((64 * 128 + 1) / 16383, 6)


def test_rules_describe_themselves_for_status(tmp_path):
    rig = Rig(tmp_path, '[[map]]\ncc = 1\nchannel = 2\ntarget = "loop.dissolve"\nlabel = "dissolve"\n'
                        '[[map]]\nnote = [36, 37]\ntarget = "gate.pattern"\nvalue = [0, 1]\ngraph = "aux"\n')
    assert [r.describe() for r in rig.runtime.mapping.rules] == [
        "cc 1 on channel 2 -> loop.dissolve (dissolve)",
        "note 36 -> aux/gate.pattern = 0", "note 37 -> aux/gate.pattern = 1"]


def test_port_patterns_fold_case_spaces_dashes_and_underscores(tmp_path):
    """jackd's -X seq bridge writes 'Launch-Control-XL' where a2jmidid says 'Launch Control XL'."""
    rig = Rig(tmp_path, """
        [defaults]
        smoothing_ms = 0
        [[map]]
        cc = 1
        port = "Launch Control XL"
        target = "mix.wet"
    """)
    rig.send(*cc(1, 0), port="knobs <- alsa_pcm:Launch-Control-XL/midi_capture_1")
    assert rig.value("mix.wet") == 0.0
    rig.send(*cc(1, 127), port="a2j:launch_control_xl (capture): MIDI 1")
    assert rig.value("mix.wet") == 1.0
    rig.send(*cc(1, 0), port="Launch Control")   # a shorter name is another device
    assert rig.value("mix.wet") == 1.0
