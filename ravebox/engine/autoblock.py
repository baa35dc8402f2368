"""``[output] block_multiple = "auto"`` (the default): the smallest engine block a large model keeps up with.

Why: at the engine block of the model ratios (``block_multiple = 1``, 2048
samples for RAVE v2) a full-size model costs 24-40 ms of a 42.7 ms block on
one core of this VM, and 2.5-3x that on a Pi 5 core. No headroom saves a
model whose blocks cost more than the block itself: the worker falls behind
and every block plays the dry fallback. nn~ plays the same models with a
4096-sample buffer by default for that reason. So at load, once the models are
timed at ``x1`` (on the timing thread, as the worker will run them), a box with
a large model (what conv tuning calls large, ``AUTO_MIN_PARAMETERS``) whose
measured work takes more than ``1 - SPARE`` of the block is rebuilt and timed at
``x2``, then ``x4``, then ``x8``: the first that leaves ``SPARE`` of its block
free is kept, else ``x8`` (status warns it cannot keep up). ``SPARE`` is
``ravebox fit``'s margin, so the choice is what ``fit`` would recommend.

The work of a block is the p99 of the models' CPU time, at least their median
wall time (``CallTiming.work``), not the wall p99: the wall tail is the longest
moment another thread held the core, which does not grow with the block (the
headroom covers it), and judged on it an idle VM read 150 ms for a x4 block of
48 ms and chose x8 (592 ms of latency).

Small models stay at ``x1`` without a question: their cost is a few percent of
the block, and a timing read on a machine that is busy at that moment must not
change a small box's latency from one start to the next. A number in the box
(``block_multiple = 1``) is always honoured. Render never times models, so it
plays ``auto`` at ``x1`` (its output does not depend on this machine's speed).
A model hot-swapped in later does not change the block (everything would
re-allocate mid-play); the headroom follows it instead (``Host._follow_costs``).

**The last start's choice is sticky** (``last``: the daemon remembers it per box
and machine, ``service/blockmemory.py``). Why: a model whose work sits near a
line flips between starts -- on this VM the full-size model's x2 work read
32.5-49.5 ms against a line at 42.7, so the box played x2 (190 ms of latency)
after one boot and x4 (330 ms) after the next; a player tunes their set to the
latency they hear, and hardware keeps it. So with a remembered multiple the
line moves by ``BAND`` of the block on either side of it: a smaller multiple
must fit with ``SPARE + BAND`` spare to take over, the remembered one keeps its
place with ``SPARE - BAND``, a larger one is judged as usual. A machine or model
that truly changed still moves the choice; a reading's noise does not.

Runs on the timing thread (``host/startup_timing.py``) before the worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ravebox.engine.fit import MARGIN as SPARE

AUTO = "auto"
MULTIPLES = (1, 2, 4, 8)
#: How far a remembered choice moves the line, as a share of the block (see the module docstring).
BAND = 0.10


@dataclass(frozen=True, slots=True)
class BlockChoice:
    """The engine block multiple in force, who chose it and why (shown in status)."""

    multiple: int
    source: str   # "box" (a number in [output]) or "auto"
    why: str

    def to_json(self) -> dict[str, object]:
        return {"multiple": self.multiple, "source": self.source, "why": self.why}


class Refittable(Protocol):
    """What :func:`settle` needs of the engine (:class:`ravebox.engine.engine.Engine`)."""

    block_multiple: int

    @property
    def block_seconds(self) -> float: ...

    @property
    def parallel_lanes(self) -> int: ...

    def has_large_models(self) -> bool: ...

    def block_p99(self, lanes: int = 1) -> float | None: ...

    def block_work(self, lanes: int = 1) -> float | None: ...

    def rebuild_block(self, multiple: int) -> None:
        """Rebuild the graphs at ``multiple`` (models reset, convs re-tuned) and time them again."""
        ...


def fits(work_s: float, block_s: float, spare: float = SPARE) -> bool:
    """The measured work leaves ``spare`` of the block free."""
    return work_s <= (1.0 - spare) * block_s


def spare_for(multiple: int, last: int | None) -> float:
    """The spare ``multiple`` must leave to be chosen, given the last start's choice (None: none)."""
    if last is None or last not in MULTIPLES:
        return SPARE
    if multiple < last:
        return SPARE + BAND
    return SPARE - BAND if multiple == last else SPARE


def settle(engine: Refittable, last: int | None = None) -> BlockChoice:
    """Timing thread, engine just timed at its current multiple: grow it until the cost fits
    (``last``: the multiple the last start chose, which keeps its place within ``BAND``)."""
    if not engine.has_large_models():
        return BlockChoice(engine.block_multiple, AUTO, "small models: the block of the model ratios")
    tried = []
    while True:
        work = engine.block_work(engine.parallel_lanes)
        p99 = engine.block_p99(engine.parallel_lanes)
        if work is None or p99 is None:
            return BlockChoice(engine.block_multiple, AUTO, "not measured")
        block_s = engine.block_seconds
        tried.append(f"x{engine.block_multiple} {1e3 * work:.1f} ms (wall p99 {1e3 * p99:.1f}) of {1e3 * block_s:.1f} ms")
        spare = spare_for(engine.block_multiple, last)
        if fits(work, block_s, spare):
            kept = f" (x{last} last start)" if last in MULTIPLES else ""
            return BlockChoice(engine.block_multiple, AUTO, f"{'; '.join(tried)}: fits with {spare:.0%} spare{kept}")
        bigger = [m for m in MULTIPLES if m > engine.block_multiple]
        if not bigger:
            return BlockChoice(engine.block_multiple, AUTO, f"{'; '.join(tried)}: does not fit even at the "
                               "largest block (see 'ravebox fit')")
        engine.rebuild_block(bigger[0])
