"""Settings of the clock follower (the validated ``[clock]`` section of a box config).

Why here and not in ``config/``: the follower and the offline render build
these directly, while ``ravebox.config.clock`` only turns TOML into them.
Which MIDI ports are clock sources is the JACK host's business, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DropoutPolicy(str, Enum):
    """What happens when a running external clock stops ticking for ``dropout_ms``."""

    FREEWHEEL = "freewheel"  # keep the last tempo and phase; gates keep gating
    OPEN = "open"            # keep the phase running, but open every gate until ticks return


@dataclass(frozen=True, slots=True)
class ClockSettings:
    """How ravebox follows (or makes) the beat.

    ``clock_follow`` takes the tempo from MIDI clock ticks; ``transport_follow``
    obeys Start/Stop/Continue/Song Position. They are separate because some
    devices send only one of the two. ``offset_ms`` delays the followed phase
    (positive = later), as Ableton's Sync Delay. ``internal_bpm`` is the tempo
    when no external clock leads. ``slew_ms`` is the time constant over which a
    phase correction is spread, ``max_slew`` the largest fraction by which the
    published tempo may differ from the estimated one while correcting.
    """

    clock_follow: bool = True
    transport_follow: bool = True
    dropout_ms: float = 250.0
    dropout_policy: DropoutPolicy = DropoutPolicy.FREEWHEEL
    offset_ms: float = 0.0
    internal_bpm: float = 120.0
    beats_per_bar: int = 4
    slew_ms: float = 60.0
    max_slew: float = 0.1
    display_step_bpm: float = 0.1
    display_hysteresis_bpm: float = 0.03
    lock_ticks: int = 12
