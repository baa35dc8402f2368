"""The ``[gates]`` table of a box config -> :class:`GateSettings` (the patterns, in order).

``gate.pattern`` selects a pattern by its index in this list, so mappings can
switch them live. Example::

    [gates]
    depth = 1.0                  # where every graph's gate.depth starts (1: closed steps are silent)
    attack_ms = 2.0              # defaults for every pattern
    release_ms = 5.0

    [[gates.pattern]]
    name = "trance"
    rate = "1/16"                # 1/1 .. 1/64, "T" = triplet, "." = dotted
    steps = "x.x. xx.x x-x. 9.3."  # x open, . closed, - tie, 1-9 level n/9
    length = 0.5                 # fraction of a step the gate stays open
    swing = 0.1                  # added to the live gate.swing

    [[gates.pattern]]
    name = "tresillo"
    rate = "1/8"
    euclid = { pulses = 3, steps = 8, rotate = 0 }

    [[gates.pattern]]
    name = "fills"
    rate = "1/16"
    seed = 7
    steps = [ { level = 1.0 }, { level = 0.0 }, { level = 0.7, probability = 0.5 },
              { tie = true }, { level = 1.0, condition = "2:4" } ]

Parsed on the main thread at start-up and on reload; never raises itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.schema import INVALID, Flag, Integer, Number, Text, is_table, unknown_keys
from ravebox.gates.patterns import GatePattern, Step, euclid, parse_condition, parse_rate, parse_step_string
from ravebox.params.table import ParamKey


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The validated patterns, in the order ``gate.pattern`` indexes them."""

    patterns: tuple[GatePattern, ...] = ()
    attack_ms: float = 2.0
    release_ms: float = 5.0
    depth: float = 1.0   # gate.depth's starting value when the box has patterns, so they are heard at once

    def param_defaults(self, graphs: Iterable[str]) -> dict[ParamKey, float]:
        """The box's starting ``gate.depth`` per graph (for ``ParamStore(defaults=...)``); none without patterns."""
        return {ParamKey("gate.depth", g): self.depth for g in graphs} if self.patterns else {}


_TOP = ("depth", "attack_ms", "release_ms", "pattern")
_PATTERN = ("name", "rate", "steps", "euclid", "length", "swing", "attack_ms", "release_ms", "seed")
_STEP = ("level", "tie", "probability", "condition")
_EUCLID = ("pulses", "steps", "rotate")


def parse(table: object, diags: Diagnostics, prefix: str = "gates") -> GateSettings:
    """Validate a ``[gates]`` table; every problem goes to ``diags``."""
    if not is_table(table, diags, prefix):
        return GateSettings()
    unknown_keys(table, _TOP, diags, prefix)
    attack = _number(table.get("attack_ms", 2.0), 0.0, 100.0, diags, f"{prefix}.attack_ms")
    release = _number(table.get("release_ms", 5.0), 0.0, 500.0, diags, f"{prefix}.release_ms")
    defaults = (2.0 if attack is None else attack, 5.0 if release is None else release)
    depth = _number(table.get("depth", 1.0), 0.0, 1.0, diags, f"{prefix}.depth")
    raw = table.get("pattern", [])
    if not isinstance(raw, list):
        diags.error(f"{prefix}.pattern", "must be an array of tables ([[gates.pattern]])")
        raw = []
    patterns = []
    for i, item in enumerate(raw):
        pattern = _pattern(item, diags, f"{prefix}.pattern[{i}]", defaults, i)
        if pattern is not None:
            patterns.append(pattern)
    names = [p.name for p in patterns]
    for name in sorted({n for n in names if names.count(n) > 1}):
        diags.error(f"{prefix}.pattern", f"pattern name {name!r} is used more than once")
    return GateSettings(tuple(patterns), *defaults, 1.0 if depth is None else depth)


def _pattern(item: object, diags: Diagnostics, path: str, defaults: tuple[float, float],
             index: int) -> GatePattern | None:
    if not is_table(item, diags, path):
        return None
    unknown_keys(item, _PATTERN, diags, path)
    name = Text().check(item.get("name", f"pattern{index}"), diags, f"{path}.name")
    step_beats = _rate(item.get("rate", "1/16"), diags, f"{path}.rate")
    steps = _steps(item, diags, path)
    length = _number(item.get("length", 0.5), 0.01, 1.0, diags, f"{path}.length")
    swing = _number(item.get("swing", 0.0), 0.0, 0.5, diags, f"{path}.swing")
    attack = _number(item.get("attack_ms", defaults[0]), 0.0, 100.0, diags, f"{path}.attack_ms")
    release = _number(item.get("release_ms", defaults[1]), 0.0, 500.0, diags, f"{path}.release_ms")
    seed = Integer(0).check(item.get("seed", index), diags, f"{path}.seed")
    # each check returns its type or INVALID (reported), each helper a value or None (reported)
    if (not isinstance(name, str) or not isinstance(seed, int) or step_beats is None or steps is None
            or length is None or swing is None or attack is None or release is None):
        return None
    return GatePattern(name, steps, step_beats, length, swing, attack, release, seed)


def _steps(item: dict, diags: Diagnostics, path: str) -> tuple[Step, ...] | None:
    has_steps, has_euclid = "steps" in item, "euclid" in item
    if has_steps == has_euclid:
        diags.error(path, "needs exactly one of 'steps' or 'euclid'")
        return None
    if has_euclid:
        return _euclid(item["euclid"], diags, f"{path}.euclid")
    raw = item["steps"]
    if isinstance(raw, str):
        try:
            return parse_step_string(raw)
        except ValueError as exc:
            diags.error(f"{path}.steps", str(exc))
            return None
    if not isinstance(raw, list) or not raw:
        diags.error(f"{path}.steps", "must be a step string like \"x.x-\" or a non-empty array of step tables")
        return None
    steps = [_step(s, diags, f"{path}.steps[{i}]") for i, s in enumerate(raw)]
    return None if any(s is None for s in steps) else tuple(steps)  # type: ignore[arg-type]


def _step(item: object, diags: Diagnostics, path: str) -> Step | None:
    if not isinstance(item, dict):
        diags.error(path, "must be a table with level, tie, probability, condition")
        return None
    unknown_keys(item, _STEP, diags, path)
    level = _number(item.get("level", 1.0), 0.0, 1.0, diags, f"{path}.level")
    prob = _number(item.get("probability", 1.0), 0.0, 1.0, diags, f"{path}.probability")
    tie = Flag().check(item.get("tie", False), diags, f"{path}.tie")
    if not isinstance(tie, bool):   # INVALID, reported
        return None
    condition = None
    if "condition" in item:
        try:
            condition = parse_condition(item["condition"])
        except ValueError as exc:
            diags.error(f"{path}.condition", str(exc))
            return None
    if level is None or prob is None:
        return None
    return Step(level, tie, prob, condition)


def _euclid(raw: object, diags: Diagnostics, path: str) -> tuple[Step, ...] | None:
    if not isinstance(raw, dict):
        diags.error(path, "must be a table like { pulses = 3, steps = 8 }")
        return None
    unknown_keys(raw, _EUCLID, diags, path)
    values: list[int] = []
    for key, field, default in (("pulses", Integer(), None), ("steps", Integer(1, 64), None), ("rotate", Integer(), 0)):
        v = field.check(raw.get(key, default), diags, f"{path}.{key}")
        if not isinstance(v, int):   # INVALID, reported
            return None
        values.append(v)
    try:
        return euclid(*values)
    except ValueError as exc:
        diags.error(path, str(exc))
        return None


def _rate(value: object, diags: Diagnostics, path: str) -> float | None:
    if not isinstance(value, str):
        diags.error(path, "must be a string like \"1/16\", \"1/8T\" or \"1/4.\"")
        return None
    try:
        return parse_rate(value)
    except ValueError as exc:
        diags.error(path, str(exc))
        return None


def _number(value: object, lo: float, hi: float, diags: Diagnostics, path: str) -> float | None:
    checked = Number(lo, hi).check(value, diags, path)
    return None if checked is INVALID else float(checked)  # type: ignore[arg-type]
