"""Latency headroom from measurement: how many JACK periods the worker gets per block.

Why measure: the worker has ``headroom_periods`` periods of wall time from the
cycle that completes an engine block to the cycle that plays it. A fixed
default of one period (5.3 ms at 256 frames) is plenty for a small model and
makes every block of a full-size one (about 40 ms on one core) late, so the box
would only ever play its dry fallback. Instead the host times the warm models
at the engine block before it starts (``Engine.measure``) and takes enough
periods to cover the measured p99 plus ``MARGIN``; a box that sets
``[jack] headroom_periods`` keeps its own value (and gets a warning if the
measurement says it is too small).

Pure functions; called on the main thread at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MARGIN = 0.5      # cover p99 * (1 + MARGIN): a loaded box is slower than at start-up
MAX_PERIODS = 64  # the config's upper bound for headroom_periods


@dataclass(frozen=True, slots=True)
class Headroom:
    """The worker's headroom, where it came from, and what the measurement said."""

    periods: int
    source: str                 # "measured", "box" (pinned in the config) or "default" (nothing measured)
    p99_s: float | None = None  # measured seconds per engine block (all graphs on one worker)
    period_s: float = 0.0
    block_s: float = 0.0

    @property
    def budget_s(self) -> float:
        """Wall time the worker has for one block before it plays late."""
        return self.periods * self.period_s

    @property
    def margin(self) -> float | None:
        """Spare fraction of the budget at the measured p99 (negative: blocks will be late)."""
        if self.p99_s is None or self.budget_s <= 0:
            return None
        return 1.0 - self.p99_s / self.budget_s

    def warnings(self) -> list[str]:
        if self.p99_s is None:
            return []
        ms = 1e3 * self.p99_s
        found = []
        if self.block_s and self.p99_s > self.block_s:
            found.append(f"measured inference p99 {ms:.1f} ms exceeds the engine block ({1e3 * self.block_s:.1f} ms): "
                         "the CPU cannot keep up; raise [output] block_multiple (see 'ravebox fit')")
        if self.p99_s > self.budget_s:
            found.append(f"measured inference p99 {ms:.1f} ms exceeds the headroom budget "
                         f"({self.periods} periods = {1e3 * self.budget_s:.1f} ms): blocks will be late; "
                         "raise or remove [jack] headroom_periods")
        return found

    def to_json(self) -> dict[str, object]:
        margin = self.margin
        return {"periods": self.periods, "source": self.source,
                "budget_ms": round(1e3 * self.budget_s, 3),
                "measured_p99_ms": None if self.p99_s is None else round(1e3 * self.p99_s, 3),
                "margin": None if margin is None else round(margin, 3)}


def periods_for(p99_s: float, period: int, sample_rate: int, margin: float = MARGIN) -> int:
    """The fewest periods (at least 1, at most MAX_PERIODS) covering ``p99_s * (1 + margin)``."""
    period_s = period / float(sample_rate)
    return max(1, min(MAX_PERIODS, math.ceil(p99_s * (1.0 + margin) / period_s - 1e-9)))


def choose(pinned: int | None, p99_s: float | None, period: int, sample_rate: int, block: int) -> Headroom:
    """``pinned`` (the box's ``headroom_periods``) wins; else the measurement; else one period."""
    period_s, block_s = period / float(sample_rate), block / float(sample_rate)
    if pinned is not None:
        return Headroom(int(pinned), "box", p99_s, period_s, block_s)
    if p99_s is None:
        return Headroom(1, "default", None, period_s, block_s)
    return Headroom(periods_for(p99_s, period, sample_rate), "measured", p99_s, period_s, block_s)
