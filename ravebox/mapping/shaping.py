"""Pure value shaping: curves, relative encoder decoding, acceleration.

Pure functions of numbers, no state, so every curve and encoder type can be
tested as a table. Run by the control thread (through the runtime).

All curves map a normalised control position ``x`` in ``[0, 1]`` to a
normalised target position in ``[0, 1]`` with ``f(0) = 0`` and ``f(1) = 1``:

- ``linear``: ``x``
- ``exp``: ``(e^(k x) - 1) / (e^k - 1)``: fine control at the bottom (k = ``steepness``)
- ``log``: ``ln(1 + x (e^k - 1)) / k``, the inverse of ``exp``: fine control at the top
- ``gamma``: ``x ** gamma``
"""

from __future__ import annotations

import math

CURVES = ("linear", "log", "exp", "gamma")
DEFAULT_STEEPNESS = 4.0
DEFAULT_GAMMA = 2.0

# encoder type number -> name (ReaLearn's "relative 1/2/3")
ENCODERS = {1: "twos_complement", 2: "binary_offset", 3: "sign_magnitude"}


def curve(name: str, x: float, steepness: float = DEFAULT_STEEPNESS, gamma: float = DEFAULT_GAMMA) -> float:
    """Shape ``x`` (clamped into [0, 1]) with the curve ``name``."""
    x = min(max(x, 0.0), 1.0)
    if name == "exp":
        return math.expm1(steepness * x) / math.expm1(steepness)
    if name == "log":
        return math.log1p(x * math.expm1(steepness)) / steepness
    if name == "gamma":
        return x ** gamma
    return x


def normalise(value: float, lo: float, hi: float) -> float:
    """Position of ``value`` between ``lo`` and ``hi`` (either order), clamped into [0, 1]."""
    if hi == lo:
        return 0.0
    return min(max((value - lo) / (hi - lo), 0.0), 1.0)


def denormalise(u: float, lo: float, hi: float) -> float:
    """The value at position ``u`` between ``lo`` and ``hi``; ``lo > hi`` reverses."""
    return lo + (hi - lo) * u


def relative_delta(encoder: str, value: int) -> int:
    """Signed detent count of one relative encoder message (value 0..127).

    - ``twos_complement`` (type 1): 1..63 = +1..+63, 127..64 = -1..-64
    - ``binary_offset`` (type 2): 64 = 0, 65 = +1, 63 = -1
    - ``sign_magnitude`` (type 3): bit 6 is the sign, 1 = +1, 65 = -1
    """
    value &= 0x7F
    if encoder == "twos_complement":
        return value - 128 if value >= 64 else value
    if encoder == "binary_offset":
        return value - 64
    magnitude = value & 0x3F
    return -magnitude if value & 0x40 else magnitude


def accelerate(delta: int, acceleration: float) -> float:
    """Detents after acceleration: ``delta * (1 + a (|delta| - 1))``.

    A slow turn (one detent per message) is never changed; a fast turn, which
    encoders report as bigger deltas, travels further when ``a > 0``.
    """
    return delta * (1.0 + acceleration * (abs(delta) - 1))
