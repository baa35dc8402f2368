"""Graphs in parallel: each graph's block on its own thread, the caller waits for all.

Why threads work here: torch releases the GIL inside every op, so two graphs'
encode/decode calls run on two cores at once; the Python glue between them is
small. A box with two graphs on a 2-core VM then spends about the slower graph's
time per block instead of the sum (``bench/fullsize.py``: ``two_graph_parallel_ratio``).

Each graph owns its models and state, so graphs share nothing but torch's global
random generator, which the engine re-seeds before every model call: with
threads the draws of two graphs may interleave, so live output with parallel
graphs is not bit-reproducible across runs (render runs the graphs in turn and
is).

Threads: :meth:`GraphPool.run` is called by the inference worker; the first task
runs on the calling thread, every other on a pool thread started by
:meth:`start` (each applies torch's intra-op thread count to itself, see
``models.loader.pin_torch_threads``, then calls ``thread_init``, e.g. to take a
realtime priority). :meth:`close` stops and joins them (the worker, on stop).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ravebox.models.loader import pin_torch_threads


class _Lane:
    """One pool thread: waits for a task, runs it, signals done."""

    def __init__(self, name: str, thread_init: Callable[[], object] | None) -> None:
        self.task: Callable[[], object] | None = None
        self.result: object = None
        self.error: BaseException | None = None
        self._go = threading.Event()
        self.done = threading.Event()
        self._stop = False
        self._init = thread_init
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def submit(self, task: Callable[[], object]) -> None:
        self.task, self.result, self.error = task, None, None
        self.done.clear()
        self._go.set()

    def _loop(self) -> None:
        pin_torch_threads()   # OpenMP keeps the team size per thread (models/loader.py)
        if self._init is not None:
            self._init()
        while True:
            self._go.wait()
            self._go.clear()
            if self._stop:
                return
            try:
                self.result = self.task()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller of run()
                self.error = exc
            self.done.set()

    def stop(self) -> None:
        self._stop = True
        self._go.set()
        self.thread.join(5.0)


class GraphPool:
    """``run([task, ...])`` -> their results, tasks 1.. on pool threads, task 0 on the caller's."""

    def __init__(self, lanes: int, thread_init: Callable[[], object] | None = None,
                 name: str = "ravebox-graph") -> None:
        self._lanes = [_Lane(f"{name}-{i + 1}", thread_init) for i in range(lanes)]

    @property
    def size(self) -> int:
        """Tasks run at once (the caller's thread included)."""
        return len(self._lanes) + 1

    def run(self, tasks: Sequence[Callable[[], object]]) -> list[object]:
        """Run ``tasks`` concurrently (at most ``size`` at once) and return their results in order."""
        results: list[object] = [None] * len(tasks)
        for start in range(0, len(tasks), self.size):
            batch = tasks[start:start + self.size]
            lanes = self._lanes[:len(batch) - 1]
            for lane, task in zip(lanes, batch[1:]):
                lane.submit(task)
            error: BaseException | None = None
            try:
                results[start] = batch[0]()
            except BaseException as exc:  # noqa: BLE001 - wait for the lanes first
                error = exc
            for i, lane in enumerate(lanes, start=start + 1):
                lane.done.wait()
                results[i] = lane.result
                error = error or lane.error
            if error is not None:
                raise error
        return results

    def close(self) -> None:
        for lane in self._lanes:
            lane.stop()
        self._lanes = []
