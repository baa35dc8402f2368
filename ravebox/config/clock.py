"""The ``[clock]`` table of a box config -> :class:`~ravebox.clock.settings.ClockSettings`.

Which ports carry clock is the JACK host's (``[jack] clock_from``); this table
says how to follow it. Example::

    [clock]
    clock_follow = true          # tempo from MIDI clock ticks
    transport_follow = true      # obey Start / Stop / Continue / Song Position
    dropout_ms = 250             # ticks missing this long while running = clock lost
    dropout_policy = "freewheel" # or "open": open every gate until ticks return
    offset_ms = 0.0              # sync delay, positive = later (as Ableton's Sync Delay)
    internal_bpm = 120.0         # tempo when no external clock leads
    beats_per_bar = 4

Parsed on the main thread at start-up and on reload; never raises itself.
"""

from __future__ import annotations

from ravebox.clock.settings import ClockSettings, DropoutPolicy
from ravebox.config.diagnostics import Diagnostics, did_you_mean

#: key -> (type, minimum, maximum); bools and the policy are checked apart.
_RANGES: dict[str, tuple[type, float, float]] = {
    "dropout_ms": (float, 20.0, 5000.0),
    "offset_ms": (float, -100.0, 100.0),
    "internal_bpm": (float, 20.0, 300.0),
    "beats_per_bar": (int, 1, 32),
    "slew_ms": (float, 1.0, 1000.0),
    "max_slew": (float, 0.001, 0.5),
    "display_step_bpm": (float, 0.01, 1.0),
    "display_hysteresis_bpm": (float, 0.0, 5.0),
    "lock_ticks": (int, 2, 96),
}
_BOOLS = ("clock_follow", "transport_follow")
_POLICIES = tuple(p.value for p in DropoutPolicy)


def parse(table: object, diags: Diagnostics, prefix: str = "clock") -> ClockSettings:
    """Validate a ``[clock]`` table; every problem goes to ``diags``."""
    if not isinstance(table, dict):
        diags.error(prefix, "must be a table")
        return ClockSettings()
    known = tuple(ClockSettings.__dataclass_fields__)
    values: dict = {}
    for key, value in table.items():
        path = f"{prefix}.{key}"
        if key not in known:
            diags.error(path, "unknown key" + did_you_mean(key, known))
        elif key in _BOOLS:
            if isinstance(value, bool):
                values[key] = value
            else:
                diags.error(path, f"must be true or false, not {value!r}")
        elif key == "dropout_policy":
            if value in _POLICIES:
                values[key] = DropoutPolicy(value)
            else:
                diags.error(path, f"must be one of {', '.join(_POLICIES)}" + did_you_mean(str(value), _POLICIES))
        else:
            checked = _number(value, *_RANGES[key], diags, path)
            if checked is not None:
                values[key] = checked
    return ClockSettings(**values)


def _number(value: object, kind: type, lo: float, hi: float, diags: Diagnostics, path: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        diags.error(path, f"must be {'an integer' if kind is int else 'a number'} in range {lo:g}..{hi:g}")
        return None
    if not lo <= value <= hi:
        diags.error(path, f"must be in range {lo:g}..{hi:g}, got {value:g}")
        return None
    return kind(value)
