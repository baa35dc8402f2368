"""``ravebox fit``'s measurements: each graph at several engine blocks, with and without conv tuning.

Why a separate pass from start-up's ``Engine.measure``: the question here is
"which block size should this box use on this machine?", so every candidate
block multiple is timed (and, for each, the conv backends are re-chosen at
that block), and the smallest one whose work (``CallTiming.work``: the CPU p99,
at least the median wall time) fits the block with ``margin`` to spare is
recommended, as the daemon's ``block_multiple = "auto"`` chooses. One worker runs every graph in turn, so a box's cost
per block is the sum of its graphs'.

Runs on the main thread of the ``fit`` command; never in the daemon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ravebox.engine.cost import STARTUP_BUDGET_S, STARTUP_CALLS, GraphCost, measure_graph
from ravebox.host.audiopath import port_latency
from ravebox.host.headroom import choose
from ravebox.models.convtune import Tunable, wants_tuning

MULTIPLES = (1, 2, 4, 8)
MARGIN = 0.5  # half of each block spare: the box keeps up with its CPU at half the speed it was timed at.
#              30 % was not enough on this VM: in one full-size run (30 November) the worker's CPU per block
#              went from the 24.6 ms timed at start-up to 41 ms for minutes (its core shared with the host's
#              other guests) and x1, chosen with 45 % spare, played 12 blocks late; a hot Pi lowers its clock too


@dataclass(frozen=True, slots=True)
class FitRow:
    """One graph at one block multiple, tuned or not."""

    graph: str
    multiple: int
    block: int
    tuned: bool
    cost: GraphCost
    latency_frames: int

    @property
    def cost_per_second(self) -> float:
        """CPU seconds per second of audio (median CPU time of the calling thread)."""
        return self.cost.total.cpu / self.cost.block_s

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of wall time (above 1: keeps up on this machine as loaded now)."""
        return self.cost.block_s / self.cost.total.p50 if self.cost.total.p50 else float("inf")


@dataclass(frozen=True, slots=True)
class Recommendation:
    multiple: int | None   # None: no candidate fits
    tuned: bool
    work_s: float
    block_s: float
    margin: float

    def text(self) -> str:
        if self.multiple is None:
            return (f"no block multiple keeps {self.margin:.0%} margin on this machine "
                    f"(best: {1e3 * self.work_s:.1f} ms of work per {1e3 * self.block_s:.1f} ms block); "
                    "use a smaller model or a faster CPU")
        return (f"block_multiple = {self.multiple}, conv tuning {'on' if self.tuned else 'off'}: "
                f"{1e3 * self.work_s:.1f} ms of work per {1e3 * self.block_s:.1f} ms block "
                f"({1 - self.work_s / self.block_s:.0%} spare, wanted {self.margin:.0%})")


def measure(graphs: Mapping[str, Mapping[str, object]], ratio: int, sample_rate: int, period: int,
            model_latency: int = 0, multiples: Iterable[int] = MULTIPLES, tunings: Iterable[bool] = (False, True),
            calls: int = STARTUP_CALLS, budget_s: float = STARTUP_BUDGET_S) -> list[FitRow]:
    """Time every graph (``{graph: {role: model}}``) at ``ratio * m`` for each multiple and tuning, as the
    daemon times a box at start-up (caches flushed before each call)."""
    models = list({id(m): m for roles in graphs.values() for m in roles.values()}.values())
    tunable = [m for m in models if isinstance(m, Tunable) and wants_tuning(m, "on")]
    rows = []
    for tuned in tunings:
        if tuned and not tunable:
            continue
        for m in multiples:
            block = ratio * m
            for model in tunable:
                model.tune_convs(block) if tuned else model.untune()
            for name, roles in graphs.items():
                cost = measure_graph(name, dict(roles), block, sample_rate, calls, budget_s, cold=True)
                headroom = choose(None, cost.total.p99, period, sample_rate, block).periods   # as the daemon sizes it
                rows.append(FitRow(name, m, block, tuned, cost, port_latency(block, headroom, period, model_latency)))
    for model in tunable:
        model.untune()
    return rows


def recommend(rows: list[FitRow], margin: float = MARGIN) -> Recommendation:
    """The smallest multiple (then untuned before tuned) whose summed work leaves ``margin`` of the block."""
    totals: dict[tuple[int, bool], float] = {}
    blocks: dict[int, float] = {}
    for row in rows:
        totals[row.multiple, row.tuned] = totals.get((row.multiple, row.tuned), 0.0) + row.cost.total.work
        blocks[row.multiple] = row.cost.block_s
    best = None
    for (multiple, tuned), work in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[1])):
        fits = work <= blocks[multiple] * (1.0 - margin)
        if fits:
            return Recommendation(multiple, tuned, work, blocks[multiple], margin)
        if best is None or work / blocks[multiple] < best.work_s / best.block_s:
            best = Recommendation(None, tuned, work, blocks[multiple], margin)
    return best or Recommendation(None, False, 0.0, 0.0, margin)
