"""Latency headroom from measurement: how many JACK periods the worker gets per block.

Why measure: the worker has ``headroom_periods`` periods of wall time from the
cycle that completes an engine block to the cycle that plays it. A fixed
default of one period (5.3 ms at 256 frames) is plenty for a small model and
makes every block of a full-size one (about 40 ms on one core) late, so the box
would only ever play its dry fallback. Instead the host times the warm models
at the engine block before it starts (``Engine.measure``) and takes enough
periods to cover the measured p99 plus ``STARTUP_MARGIN`` (150 %: the playing worker's longest blocks
were up to 2.17 times the start-up p99 here); a box that sets
``[jack] headroom_periods`` keeps its own value (and gets a warning if the
measurement says it is too small).

Why follow while playing: a start-up timing, however careful, is not the
stage. On this VM a quiet start-up measured p99 23.8 ms per full-size block and
the playing worker then showed p99 39.5 ms (JACK's threads, the callback and
everything else sharing its core), so 7 periods (37.3 ms) left 33 blocks late in
5 minutes. :func:`follow` watches the worker's own block times: it grows the
headroom at once when their tail comes near the budget (``GROW_AT``), before
blocks go late. A player hears a late block (the dry fallback) as a dropout; 10 ms
more latency is the smaller harm.

Why it never shrinks while playing: a re-size is a gap of about one latency (the new
path stays silent until its own wet plays, ``Host._resize_headroom``), which on stage
costs more than the latency it would give back. (Until session 8 ``follow`` cut the
headroom after about ten calm minutes, but the worker kept 4096 block times, fewer than
the 14000 it waited for, so the daemon never did.) The next start measures anew; a model
swap, a musician's own act, re-sizes both ways (``Host._follow_swap``).

Pure functions; called on the main thread (start-up, and the main loop's poll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

MARGIN = 0.5      # the playing worker's tail: cover p99 * (1 + MARGIN) when the headroom follows it
STARTUP_MARGIN = 1.5  # a start-up (or swap) timing: cover p99 * 2.5. It runs without JACK's threads and the
#                      callback beside the worker; playing, the worker's p99 was 1.3-1.7x it here (23.8 -> 39.5 ms,
#                      52.3 -> 67, 53.5 -> 71 at x2), and its longest block in 5 minutes 1.4-2.17x it in seven
#                      full-size runs at x2 (43.6 -> 89.5 ms, 43.2 -> 89.7, 40.2 -> 87.3): with 100 % the first two
#                      would have come within a millisecond of their deadline, the third gone late, and two runs
#                      before them lost a block each
MAX_PERIODS = 64  # the config's upper bound for headroom_periods
GROW_AT = 0.8     # the worker's running tail above this fraction of the budget: grow now
SETTLE_BLOCKS = 8  # a new worker's first blocks (cold caches, threads starting) are not followed
RUN_WINDOW = 256  # the latest blocks the running tail is taken over (about 11 s at 2048 frames, 48 kHz)
REPEATED_LATE = 2  # dropouts (late blocks) among the latest RUN_WINDOW blocks before a slow block grows the
#                   headroom: a lone one (a VM stall: in one run a 36.6 ms block took 183 ms, at a third of the
#                   CPU's speed) doubled it for the rest of the set, and the re-size played a gap of its own
TAIL_RANK = 3     # the running tail is the window's third-longest block: about the p99 of 256 blocks, and unlike
#                   a p99 of the few blocks since a start or a re-size, never one or two stalls
DROPOUT_BLOCKS = 8  # late blocks this close (in blocks) are one dropout: one stall makes the next blocks late too
KEEP_DROPOUTS = 8  # the latest dropouts remembered (only the recent ones count)


@dataclass(frozen=True, slots=True)
class Headroom:
    """The worker's headroom, where it came from, and what the measurement said."""

    periods: int
    source: str                 # "measured" (start-up or a swap), "running" (the playing worker's times),
                                # "box" (pinned in the config) or "default" (nothing measured)
    p99_s: float | None = None  # measured seconds per engine block (all graphs on one worker)
    period_s: float = 0.0
    block_s: float = 0.0
    running_s: float | None = None  # the playing worker's tail (p99 of its block times since the last change)

    @property
    def budget_s(self) -> float:
        """Wall time the worker has for one block before it plays late."""
        return self.periods * self.period_s

    @property
    def tail_s(self) -> float | None:
        """What the worker needs per block: the playing worker's tail once known, else the measurement."""
        return self.running_s if self.running_s is not None else self.p99_s

    @property
    def margin(self) -> float | None:
        """Spare fraction of the budget at the worker's tail (negative: blocks are late)."""
        tail = self.tail_s
        if tail is None or self.budget_s <= 0:
            return None
        return 1.0 - tail / self.budget_s

    def warnings(self) -> list[str]:
        tail = self.tail_s
        if tail is None:
            return []
        ms = 1e3 * tail
        what = "running inference p99" if self.running_s is not None else "measured inference p99"
        found = []
        if self.block_s and tail > self.block_s:
            # the start-up figure is a wall-clock tail (a stray preemption can double it; the auto block is
            # judged on the models' own work): only the playing worker's tail says the CPU falls behind
            verdict = ("the CPU cannot keep up" if self.running_s is not None else
                       "the CPU cannot keep up if the playing worker's p99 stays above it")
            found.append(f"{what} {ms:.1f} ms exceeds the engine block ({1e3 * self.block_s:.1f} ms): "
                         f"{verdict}; raise [output] block_multiple (see 'ravebox fit')")
        if tail > self.budget_s:
            found.append(f"{what} {ms:.1f} ms exceeds the headroom budget "
                         f"({self.periods} periods = {1e3 * self.budget_s:.1f} ms): blocks will be late; "
                         "raise or remove [jack] headroom_periods")
        return found

    def to_json(self) -> dict[str, object]:
        margin = self.margin
        return {"periods": self.periods, "source": self.source,
                "budget_ms": round(1e3 * self.budget_s, 3),
                "measured_p99_ms": None if self.p99_s is None else round(1e3 * self.p99_s, 3),
                "running_p99_ms": None if self.running_s is None else round(1e3 * self.running_s, 3),
                "margin": None if margin is None else round(margin, 3)}


def periods_for(p99_s: float, period: int, sample_rate: int, margin: float = MARGIN) -> int:
    """The fewest periods (at least 1, at most MAX_PERIODS) covering ``p99_s * (1 + margin)``."""
    return _periods(p99_s, period / float(sample_rate), margin)


def choose(pinned: int | None, p99_s: float | None, period: int, sample_rate: int, block: int) -> Headroom:
    """``pinned`` (the box's ``headroom_periods``) wins; else the measurement; else one period."""
    period_s, block_s = period / float(sample_rate), block / float(sample_rate)
    if pinned is not None:
        return Headroom(int(pinned), "box", p99_s, period_s, block_s)
    if p99_s is None:
        return Headroom(1, "default", None, period_s, block_s)
    return Headroom(periods_for(p99_s, period, sample_rate, STARTUP_MARGIN), "measured", p99_s, period_s, block_s)


class Dropouts:
    """Late blocks grouped into dropouts (late blocks at most ``DROPOUT_BLOCKS`` apart are one), by the
    worker's progress when each was seen. Main thread (the main loop's poll)."""

    def __init__(self) -> None:
        self._last: list[int] = []   # the worker's progress at each dropout's latest late block, oldest first

    def note(self, progress: int, late: int) -> None:
        """``late`` new late blocks seen at worker ``progress``."""
        if late <= 0:
            return
        if self._last and progress - self._last[-1] <= DROPOUT_BLOCKS:
            self._last[-1] = progress
        else:
            self._last.append(progress)
            del self._last[:-KEEP_DROPOUTS]

    def recent(self, progress: int) -> int:
        """Dropouts among the latest ``RUN_WINDOW`` blocks."""
        return sum(at > progress - RUN_WINDOW for at in self._last)

    def clear(self) -> None:
        self._last.clear()


def follow(headroom: Headroom, times: np.ndarray, late: int) -> Headroom:
    """The headroom the playing worker needs, from its block times since the last change (seconds,
    oldest first) and how many dropouts (:class:`Dropouts`) played among the latest ``RUN_WINDOW``.

    Grows at once when the tail of the latest ``RUN_WINDOW`` blocks (their ``TAIL_RANK``-th
    longest, about their p99) passes ``GROW_AT`` of the budget, to cover it plus ``MARGIN`` (the
    playing worker's own tail needs less than a start-up timing's). Late blocks grow it only
    when dropouts repeat (``REPEATED_LATE``) and a slow block is behind them: then to cover
    their worst, at most twofold. A lone dropout is
    already heard; growing for it would add a re-size gap and keep the latency up for the rest
    of the set. Late blocks with no slow block behind them (an xrun, a stalled machine) grow
    nothing: more headroom would not have saved them. Never shrinks (the module docstring
    says why). A pinned headroom (``box``) and one nothing measured (``default``) never change;
    the running tail is noted on every one.
    """
    if len(times) == 0:
        return headroom
    recent = times[-RUN_WINDOW:]
    rank = min(TAIL_RANK, len(recent))
    tail = float(np.partition(recent, -rank)[-rank])
    seen = replace(headroom, running_s=tail)
    if headroom.source not in ("measured", "running") or headroom.period_s <= 0:
        return seen
    grow_at = GROW_AT * headroom.budget_s
    if headroom.periods < MAX_PERIODS and tail > grow_at:
        return replace(seen, periods=max(_periods(tail, headroom.period_s), headroom.periods + 1), source="running")
    worst = float(np.max(recent))
    if headroom.periods < MAX_PERIODS and late >= REPEATED_LATE and worst > grow_at:  # at most double
        periods = min(_periods(worst, headroom.period_s), 2 * headroom.periods)
        return replace(seen, periods=max(periods, headroom.periods + 1), source="running", running_s=worst)
    return seen


def _periods(seconds: float, period_s: float, margin: float = MARGIN) -> int:
    return max(1, min(MAX_PERIODS, math.ceil(seconds * (1.0 + margin) / period_s - 1e-9)))
