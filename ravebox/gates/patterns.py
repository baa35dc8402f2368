"""Gate patterns: steps (level, tie, probability, A:B condition), rates, Euclid, swing.

Why everything is a function of the step number: a gate must be derived from
the clock phase, never from a counter that could drift or depend on block
sizes. Step ``s`` (counted from beat 0, the downbeat of bar 1) is a pure
function of the beat; whether it fires (probability, A:B condition) is a pure
function of ``(pattern seed, s)``. The same beat therefore gives the same gain
live, offline, after a relocation, and in any block size.

Pure and thread-agnostic; built once from config on the main thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
MAX_CONDITION = 16
_MASK = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Step:
    """One step: ``level`` 0..1 when it fires (0 = closed); ``tie`` continues the previous
    step's gate without re-opening; ``probability`` of firing; ``condition`` = (A, B):
    fire only on the A-th of every B pattern cycles (Elektron's A:B trig condition)."""

    level: float = 1.0
    tie: bool = False
    probability: float = 1.0
    condition: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class GatePattern:
    """A cycle of steps at ``step_beats`` beats per step.

    ``length`` is the fraction of a step the gate stays open (the rest closes,
    so repeated steps are heard as pulses); ``swing`` delays every second step
    by that fraction of a step (added to the live ``gate.swing``); ``attack_ms``
    and ``release_ms`` ramp every opening and closing edge; ``seed`` makes the
    probability draws repeatable.
    """

    name: str
    steps: tuple[Step, ...]
    step_beats: float = 0.25
    length: float = 0.5
    swing: float = 0.0
    attack_ms: float = 2.0
    release_ms: float = 5.0
    seed: int = 0
    tie_back: tuple[int, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tie_back", _tie_distances(self.steps))

    def fires(self, s: int) -> bool:
        """Whether step number ``s`` (since beat 0) fires: level, condition and probability."""
        step = self.steps[s % len(self.steps)]
        if step.level <= 0.0:
            return False
        if step.condition is not None:
            a, b = step.condition
            if (s // len(self.steps)) % b != a - 1:
                return False
        return step.probability >= 1.0 or draw(self.seed, s) < step.probability

    def source(self, s: int) -> int | None:
        """The step whose gate step ``s`` shows: itself, or for a tie the step it continues."""
        back = self.tie_back[s % len(self.steps)]
        return None if back < 0 else s - back


def draw(seed: int, s: int) -> float:
    """A uniform number in [0, 1) fixed by ``(seed, s)`` (splitmix64), so probability is repeatable."""
    z = (seed * 0x9E3779B97F4A7C15 + s * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def _tie_distances(steps: tuple[Step, ...]) -> tuple[int, ...]:
    """For each step, how far back its source (first non-tie) step lies; -1 if all are ties."""
    n = len(steps)
    out = []
    for i in range(n):
        d = 0
        while d < n and steps[(i - d) % n].tie:
            d += 1
        out.append(d if d < n else -1)
    return tuple(out)


def parse_rate(text: str) -> float:
    """``"1/16"``, ``"1/8T"`` (triplet), ``"1/4."`` or ``"1/4D"`` (dotted) -> beats per step.

    Raises ValueError with a message fit for a config diagnostic.
    """
    raw = text.strip()
    body, factor = raw, 1.0
    if body[-1:] in ("T", "t"):
        body, factor = body[:-1], 2.0 / 3.0
    elif body[-1:] in (".", "D", "d"):
        body, factor = body[:-1], 1.5
    num, sep, den = body.partition("/")
    if sep != "/" or num.strip() != "1" or not den.strip().isdigit() or int(den) not in DENOMINATORS:
        raise ValueError(f"rate must be 1/1 .. 1/64 (optionally T for triplet or . for dotted), got {raw!r}")
    return 4.0 / int(den) * factor


def parse_step_string(text: str) -> tuple[Step, ...]:
    """``"x.x-3..x"``: x = open, . or 0 = closed, - or _ = tie, 1-9 = level n/9; spaces and | are ignored."""
    steps = []
    for ch in text:
        if ch in " |":
            continue
        if ch in "xX":
            steps.append(Step(1.0))
        elif ch in ".0":
            steps.append(Step(0.0))
        elif ch in "-_":
            steps.append(Step(1.0, tie=True))
        elif ch.isdigit():
            steps.append(Step(int(ch) / 9.0))
        else:
            raise ValueError(f"unknown step character {ch!r} (use x . - or 1-9)")
    if not steps:
        raise ValueError("a pattern needs at least one step")
    return tuple(steps)


def euclid(pulses: int, steps: int, rotate: int = 0) -> tuple[Step, ...]:
    """The Euclidean rhythm E(pulses, steps): pulses spread as evenly as possible.

    Step ``i`` is on when ``(i * pulses) mod steps < pulses`` (Bresenham's line:
    the same rhythm as Bjorklund's algorithm up to a rotation, always starting
    on a pulse), rotated left by ``rotate``.
    """
    if steps < 1 or not 0 <= pulses <= steps:
        raise ValueError(f"euclid needs 0 <= pulses <= steps and steps >= 1, got E({pulses},{steps})")
    on = [((i * pulses) % steps) < pulses for i in range(steps)]
    r = rotate % steps
    on = on[r:] + on[:r]
    return tuple(Step(1.0 if x else 0.0) for x in on)


def parse_condition(text: str) -> tuple[int, int]:
    """``"1:2"`` -> (1, 2): fire on the first of every two cycles."""
    a, sep, b = str(text).partition(":")
    if sep != ":" or not a.strip().isdigit() or not b.strip().isdigit():
        raise ValueError(f"condition must look like 'A:B', got {text!r}")
    ia, ib = int(a), int(b)
    if not 1 <= ia <= ib <= MAX_CONDITION:
        raise ValueError(f"condition A:B needs 1 <= A <= B <= {MAX_CONDITION}, got {text!r}")
    return ia, ib


def step_index(beat: float, step_beats: float, swing: float) -> int:
    """Number of the step that holds ``beat`` (swing delays the start of odd steps)."""
    pair = math.floor(beat / (2.0 * step_beats))
    into = beat - pair * 2.0 * step_beats
    return 2 * pair + (1 if into >= step_beats * (1.0 + swing) else 0)


def step_start(s: int, step_beats: float, swing: float) -> float:
    """Beat where step ``s`` begins."""
    return (s // 2) * 2.0 * step_beats + (s % 2) * step_beats * (1.0 + swing)
