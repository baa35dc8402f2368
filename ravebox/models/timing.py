"""How long a model call takes on this machine: ``time_calls`` and ``CallTiming``.

Why measure instead of estimate: the same export costs 2.5-3x more on a Pi 5
core than on a desktop core, and whether a layer goes through oneDNN changes it
again. The host sizes its latency headroom and ``ravebox fit`` its advice from
these figures.

Runs on the loading thread (start-up, a hot swap) or the ``fit`` command, never
beside the inference worker on the same model (a streaming model's calls
advance its state; callers reset it afterwards).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class CallTiming:
    """Seconds per call: median, 99th percentile and worst of ``calls`` timed calls (wall clock),
    and the median and 99th percentile of the calling thread's CPU time (``cpu``, ``cpu_p99``:
    what the call costs, whatever else the machine runs; wall time is what the worker's deadline sees)."""

    p50: float
    p99: float
    worst: float
    calls: int
    cpu: float = 0.0
    cpu_p99: float = 0.0

    def __add__(self, other: "CallTiming") -> "CallTiming":
        """Calls made one after the other: quantiles add up (an upper bound for p99)."""
        return CallTiming(self.p50 + other.p50, self.p99 + other.p99, self.worst + other.worst,
                          min(self.calls, other.calls), self.cpu + other.cpu, self.cpu_p99 + other.cpu_p99)

    @property
    def work(self) -> float:
        """The call's own work, what a block size is judged by: the p99 of its CPU time, at least its
        median wall time.

        Why not the wall p99: of 60 calls it is the second-worst, i.e. the longest moment some
        other thread held the core (the VM's other users, JACK, a preempting interrupt), a delay
        of the machine that does not grow with the block; the headroom absorbs it. Judged on it,
        an idle VM once read 150 ms for a x4 block whose calls cost 48 ms, and played at x8
        (592 ms of latency). The median wall time keeps a core shared with others honest: there
        every call is slower, not just the tail."""
        return max(self.cpu_p99, self.p50)

    def to_json(self) -> dict[str, float]:
        return {"p50_ms": round(self.p50 * 1e3, 3), "p99_ms": round(self.p99 * 1e3, 3),
                "max_ms": round(self.worst * 1e3, 3), "cpu_ms": round(self.cpu * 1e3, 3),
                "cpu_p99_ms": round(self.cpu_p99 * 1e3, 3), "calls": self.calls}


ZERO = CallTiming(0.0, 0.0, 0.0, 0)


def time_calls(fn: Callable[[], object], calls: int = 30, budget_s: float = 2.0, warm: int = 2,
               between: Callable[[], object] | None = None) -> CallTiming:
    """Time ``fn`` ``calls`` times (fewer if ``budget_s`` runs out, at least 5) after ``warm`` untimed calls;
    ``between`` runs untimed before each timed call (e.g. :func:`evict_caches`)."""
    for _ in range(warm):
        fn()
    times: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < calls and (len(times) < 5 or time.perf_counter() < deadline):
        if between is not None:
            between()
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    a, c = np.asarray(times), np.asarray(cpu)
    return CallTiming(float(np.median(a)), float(np.quantile(a, 0.99)), float(a.max()), len(times),
                      float(np.median(c)), float(np.quantile(c, 0.99)))


_SCRATCH = np.zeros(0, np.uint8)


def evict_caches(nbytes: int = 16 << 20) -> None:
    """Write ``nbytes`` of scratch memory, so the next timed call starts with caches that other work
    filled (in the box, the process callback and everything else run between two blocks)."""
    global _SCRATCH
    if len(_SCRATCH) < nbytes:
        _SCRATCH = np.zeros(nbytes, np.uint8)
    _SCRATCH[:nbytes] += 1
