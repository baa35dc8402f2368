"""Ranges, reverse, curves, relative encoders, smoothing: bytes in, values out."""

from __future__ import annotations

import math

import pytest

from maprig import Rig, cc
from ravebox.mapping.shaping import accelerate, curve, relative_delta

K = 4.0
EXP_HALF = round(math.expm1(K * 0.5) / math.expm1(K), 6)
LOG_HALF = round(math.log1p(0.5 * math.expm1(K)) / K, 6)

# curve options, raw CC value, expected mix.wet (0..1)
CURVES = [
    ('curve = "linear"', 0, 0.0),
    ('curve = "linear"', 127, 1.0),
    ('curve = "linear"\nsource_range = [0, 100]', 50, 0.5),
    ('curve = "linear"\nsource_range = [0, 100]', 120, 1.0),
    ('curve = "exp"\nsource_range = [0, 100]', 50, EXP_HALF),
    ('curve = "exp"\nsource_range = [0, 100]', 100, 1.0),
    ('curve = "log"\nsource_range = [0, 100]', 50, LOG_HALF),
    ('curve = "log"\nsource_range = [0, 100]', 0, 0.0),
    ('curve = "exp"\nsteepness = 1.0\nsource_range = [0, 100]', 50, round(math.expm1(0.5) / math.expm1(1.0), 6)),
    ('curve = "gamma"\nsource_range = [0, 100]', 50, 0.25),
    ('curve = "gamma"\ngamma = 0.5\nsource_range = [0, 100]', 25, 0.5),
    ('range = [0.2, 0.6]\nsource_range = [0, 100]', 50, 0.4),
    ('range = [0.2, 0.6]\nreverse = true\nsource_range = [0, 100]', 0, 0.6),
    ('range = [0.6, 0.2]\nsource_range = [0, 100]', 100, 0.2),
    ('reverse = true', 127, 0.0),
    ('curve = "gamma"\nreverse = true\nsource_range = [0, 100]', 50, 0.75),
]


@pytest.mark.parametrize("options,raw,expected", CURVES)
def test_curves_and_ranges(tmp_path, options, raw, expected):
    rig = Rig(tmp_path, f'[[map]]\ncc = 1\ntarget = "mix.wet"\nsmoothing_ms = 0\n{options}\n')
    rig.send(*cc(1, raw))
    assert rig.value("mix.wet") == expected


def test_log_is_the_inverse_of_exp():
    for x in (0.1, 0.3, 0.77):
        assert curve("log", curve("exp", x)) == pytest.approx(x)


ENCODER_DELTAS = [
    # type, byte, delta
    (1, 1, 1), (1, 5, 5), (1, 127, -1), (1, 124, -4), (1, 64, -64), (1, 0, 0),
    (2, 65, 1), (2, 64, 0), (2, 63, -1), (2, 70, 6), (2, 60, -4),
    (3, 1, 1), (3, 65, -1), (3, 3, 3), (3, 67, -3), (3, 64, 0),
]


@pytest.mark.parametrize("kind,byte,delta", ENCODER_DELTAS)
def test_relative_deltas(kind, byte, delta):
    name = {1: "twos_complement", 2: "binary_offset", 3: "sign_magnitude"}[kind]
    assert relative_delta(name, byte) == delta


# encoder type, message values sent one after another, expected gate.depth (step 0.1, starts at 0)
ENCODER_RUNS = [
    (1, [1, 1, 1], 0.3), (1, [1, 1, 127], 0.1), (1, [3], 0.3), (1, [127], 0.0),
    (2, [65, 65, 63], 0.1), (2, [66], 0.2),
    (3, [1, 1, 65], 0.1), (3, [2, 66, 1], 0.1),
    ("binary_offset", [75], 1.0),  # clamped at the top of the range
]


@pytest.mark.parametrize("kind,values,expected", ENCODER_RUNS)
def test_encoders_step_and_clamp(tmp_path, kind, values, expected):
    enc = kind if isinstance(kind, int) else f'"{kind}"'
    rig = Rig(tmp_path, f'[[map]]\ncc = 16\nencoder = {enc}\nstep = 0.1\ntarget = "gate.depth"\n')
    for value in values:
        rig.send(*cc(16, value))
    assert rig.value("gate.depth") == expected


def test_acceleration_makes_fast_turns_travel_further(tmp_path):
    assert accelerate(1, 2.0) == 1 and accelerate(-3, 1.0) == -9
    rig = Rig(tmp_path, '[[map]]\ncc = 16\nencoder = 1\nstep = 0.01\nacceleration = 1.0\ntarget = "gate.depth"\n')
    rig.send(*cc(16, 1))
    assert rig.value("gate.depth") == 0.01
    rig.send(*cc(16, 4))  # a fast turn: 4 detents -> 16 steps
    assert rig.value("gate.depth") == 0.17


def test_encoder_range_limits_travel(tmp_path):
    rig = Rig(tmp_path, '[[map]]\ncc = 16\nencoder = 1\nstep = 1\nrange = [2, 5]\ntarget = "gate.pattern"\n')
    for _ in range(10):
        rig.send(*cc(16, 1))
    assert rig.value("gate.pattern") == 5.0


def test_smoothing_glides_over_the_given_time(tmp_path):
    rig = Rig(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\nsmoothing_ms = 20\n')
    rig.send(*cc(1, 0), frame=1000)
    assert [rig.value("mix.wet", frame=f) for f in (1000, 1010, 1020, 1030)] == [1.0, 0.5, 0.0, 0.0]


def test_default_smoothing_is_the_parameters_own(tmp_path):
    rig = Rig(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\n')
    rig.send(*cc(1, 0), frame=1000)
    assert [rig.value("mix.wet", frame=f) for f in (1000, 1005, 1010)] == [1.0, 0.5, 0.0]


def test_smoothing_off_jumps(tmp_path):
    rig = Rig(tmp_path, '[defaults]\nsmoothing_ms = 0\n[[map]]\ncc = 1\ntarget = "mix.wet"\n')
    rig.send(*cc(1, 0), frame=1000)
    assert rig.value("mix.wet", frame=1000) == 0.0


def test_smoothing_does_not_change_encoder_travel(tmp_path):
    """Ten fast detents inside one glide still travel ten steps."""
    rig = Rig(tmp_path, '[[map]]\ncc = 16\nencoder = 1\nstep = 0.05\nsmoothing_ms = 100\ntarget = "gate.depth"\n')
    for i in range(10):
        rig.send(*cc(16, 1), frame=1000 + i)
    assert rig.value("gate.depth", frame=1005) < 0.5
    assert rig.value("gate.depth", frame=1200) == 0.5
