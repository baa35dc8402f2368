"""The mapping file's own kinds of value, as fields of the one checker (``config/schema.py``).

Why here and not in the schema leaf: a MIDI channel list, a port pattern in the
one naming dialect, a takeover with its spelling aliases and a relative-encoder
name are the mapping file's vocabulary; each reports its problem in the schema's
one wording (``must be ..., got ...``, ``must be one of ... (did you mean ...?)``).

Runs on whichever thread loads a mapping or preset file (main thread, the
reload thread, or the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.names import problem as name_problem
from ravebox.config.schema import INVALID, Choice, Integer, Number, Text, out_of_range
from ravebox.mapping.model import TAKEOVERS, PortPattern
from ravebox.mapping.shaping import ENCODERS
from ravebox.params.table import ParamSpec

#: Relative encoder names by what a file may write: ``1``/``2``/``3`` or the name itself.
ENCODER_NAMES = {**{str(k): v for k, v in ENCODERS.items()}, **{v: v for v in ENCODERS.values()}}
#: Spellings of a takeover a player is likely to write, and the one they mean.
TAKEOVER_ALIASES = {"pick-up": "pickup", "catch-up": "catchup", "pick_up": "pickup", "catch_up": "catchup"}

_CHANNEL = Integer(1, 16)
_TAKEOVER = Choice(TAKEOVERS)
_ENCODER = Choice(tuple(ENCODER_NAMES), ENCODER_NAMES.__getitem__)
_PORT_TEXT = Text(nonempty=False, what="port name pattern (a string)")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Channels:
    """``"any"`` (None: every channel), a MIDI channel 1..16 or a list of them; 0-based channels."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if value == "any":
            return None
        if _is_int(value):
            channel = _CHANNEL.check(value, diags, path)
            return INVALID if channel is INVALID else frozenset({int(channel) - 1})  # type: ignore[call-overload]
        if not isinstance(value, list) or not value:
            return out_of_range('a channel 1..16, a list of channels or "any"', value, diags, path)
        channels = [_CHANNEL.check(c, diags, f"{path}[{i}]") for i, c in enumerate(value)]
        if any(c is INVALID for c in channels):
            return INVALID
        return frozenset(int(c) - 1 for c in channels)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class Port:
    """Which source ports a rule hears, in the one dialect of port and device names (``config/names.py``)."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        text = _PORT_TEXT.check(value, diags, path)
        if text is INVALID:
            return INVALID
        problem = name_problem(str(text))
        if problem is not None:
            diags.error(path, problem)
            return INVALID
        return PortPattern(str(text))


@dataclass(frozen=True, slots=True)
class Takeover:
    """``jump``, ``pickup`` or ``catchup`` (also spelt ``pick-up``, ``catch_up`` ...)."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        return _TAKEOVER.check(TAKEOVER_ALIASES.get(value, value) if isinstance(value, str) else value, diags, path)


@dataclass(frozen=True, slots=True)
class Encoder:
    """A relative encoder's value format: ``1``, ``2``, ``3`` or its name; held as the name."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        return _ENCODER.check(str(value) if _is_int(value) else value, diags, path)


@dataclass(frozen=True, slots=True)
class OneOf:
    """One of a few integers (``bits = 7`` or ``14``)."""

    options: tuple[int, ...]

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if _is_int(value) and value in self.options:
            return value
        return out_of_range(" or ".join(map(str, self.options)), value, diags, path)


def param_value(spec: ParamSpec) -> Number:
    """A value of parameter ``spec``: a number in its range, its unit in the message."""
    return Number(spec.minimum, spec.maximum, unit=spec.unit)
