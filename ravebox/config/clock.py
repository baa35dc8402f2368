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
from ravebox.config.diagnostics import Diagnostics
from ravebox.config.schema import Choice, Field, Flag, Integer, Number, check_table, is_table

#: Every key of ``[clock]`` with its range.
FIELDS: dict[str, Field] = {
    "clock_follow": Flag(),
    "transport_follow": Flag(),
    "dropout_ms": Number(20.0, 5000.0),
    "dropout_policy": Choice(tuple(p.value for p in DropoutPolicy), DropoutPolicy),
    "offset_ms": Number(-100.0, 100.0),
    "internal_bpm": Number(20.0, 300.0),
    "beats_per_bar": Integer(1, 32),
    "slew_ms": Number(1.0, 1000.0),
    "max_slew": Number(0.001, 0.5),
    "display_step_bpm": Number(0.01, 1.0),
    "display_hysteresis_bpm": Number(0.0, 5.0),
    "lock_ticks": Integer(2, 96),
}


def parse(table: object, diags: Diagnostics, prefix: str = "clock") -> ClockSettings:
    """Validate a ``[clock]`` table; every problem goes to ``diags``."""
    if not is_table(table, diags, prefix):
        return ClockSettings()
    return ClockSettings(**check_table(table, FIELDS, diags, prefix))
