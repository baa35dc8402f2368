"""The inference worker: runs the engine once per engine block, off the JACK thread.

Why a thread of its own: a model block at ratio 2048 costs milliseconds of
torch time, far more than a JACK period may take. The worker sleeps on the audio
path's wake pipe, and when the process callback has completed one or more
blocks of input it runs ``Engine.process`` on each, in order, and commits the
wet output to the ring.

If it falls so far behind that a block's output would start playing before it
could be written, it skips that block (the callback has already played dry or
silence there and counted it late), so it is never late twice for one stall.

The engine mutes a graph whose model raised and reports it in ``engine.failed``;
the worker then ramps that graph's first silent block down from its last
sample, so the cut does not click. If ``process`` itself raises (a fault the
engine could not pin on one graph), the worker mutes every graph with the same
fade, logs once with the traceback and keeps running: ``unmute`` (panic,
reload) lets them play again. ``progress`` counts finished blocks and
``on_time`` those committed before their first sample played: the watchdog
(service layer) checks that ``on_time`` moves, so a model that hangs for
seconds per block (the worker finishes a block now and then, every one late)
counts as no progress.

With two or more graphs (``parallel_graphs``), the engine runs each graph on a
thread of its own, one per core (:mod:`ravebox.engine.parallel`); the worker
starts those threads, with its realtime priority, and joins them when it stops.

Thread: :meth:`run` is the worker thread; :meth:`stop` is called from the main thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

import numpy as np

from ravebox.clock.view import ClockView
from ravebox.host.audiopath import AudioPath
from ravebox.host.loopthread import LoopThread
from ravebox.host.rtprio import make_realtime
from ravebox.params.store import ParamStore

log = logging.getLogger("ravebox.host.worker")


class Progress(NamedTuple):
    """What the health watch reads (``Host.progress``): is the box as a whole moving, and how well."""

    cycles: int           # JACK process callbacks run
    finished: int         # engine blocks the worker finished (late ones too)
    on_time: int          # ... of them committed before their first sample played
    last_block_s: float   # how long the last finished block took
    block_s: float        # the engine block, in seconds
    connected: bool       # the JACK server is there


class WorkerEngine(Protocol):
    """What the worker drives (the real one: :class:`ravebox.engine.Engine`; tests: ``PassEngine``)."""

    @property
    def failed(self) -> Mapping[str, str]:
        """Graphs the engine muted itself (a model raised, bad output), with the reason."""
        ...

    def process(self, inputs: dict[str, np.ndarray], start_frame: int, store: ParamStore,
                clock: ClockView) -> dict[str, np.ndarray]:
        """Wet audio ``(outputs, block)`` per graph for one engine block; a graph in ``failed`` is silent."""
        ...

    def start_parallel(self, thread_init: Callable[[], object] | None = None) -> bool:
        """Worker thread: run each graph on a thread of its own from now on (True if that applies)."""
        ...

    def stop_parallel(self) -> None:
        """Worker thread, on stop: join the graph threads."""
        ...


class InferenceWorker(LoopThread):
    """Owns the worker thread. ``path_ref()`` returns the current :class:`AudioPath`."""

    def __init__(self, path_ref: Callable[[], AudioPath], engine: WorkerEngine, store: ParamStore,
                 clock_ref: Callable[[], ClockView], history: int = 4096, rt_priority: int = 0,
                 parallel_graphs: bool = False) -> None:
        self._path_ref = path_ref
        self.engine = engine
        self.store = store
        self._clock_ref = clock_ref
        self._rt_priority = rt_priority
        self._parallel_graphs = parallel_graphs
        self.parallel = False           # graphs run on their own threads (engine.start_parallel)
        self.realtime = False
        self.progress = 0               # blocks processed (written by the worker only)
        self.on_time = 0                # ... of them committed before their first sample played
        self.skipped = 0                # blocks skipped to catch up
        self.errors = 0
        self.muted: set[str] = set()    # graphs muted after an exception
        self.last_error = ""
        self.durations = np.zeros(history, dtype=np.float64)  # seconds per block, ring
        self.cpu = np.zeros(history, dtype=np.float64)        # ... of them this thread's CPU (the rest: waiting)
        self.paused = False             # tests and the watchdog test: hold the worker
        self._init_thread("ravebox-worker")
        self._bufs: list[np.ndarray] = []
        self._bufs_for: AudioPath | None = None
        self._next: int | None = None
        self._silenced: set[str] = set()

    def status(self) -> dict[str, object]:
        """Any thread: realtime, counters, graphs muted after an exception, p99/max time per block and
        the longest block's CPU time (ms)."""
        n = min(self.progress, len(self.durations))
        times, cpu = self.durations[:n].copy(), self.cpu[:n].copy()
        # the slowest block's CPU says whether it was work (the model) or waiting (preempted, the GIL)
        timing = ({"p99_ms": round(1000.0 * float(np.percentile(times, 99)), 2),
                   "max_ms": round(1000.0 * float(times.max()), 2),
                   "max_cpu_ms": round(1000.0 * float(cpu[int(np.argmax(times))]), 2)} if n else {})
        return {"realtime": self.realtime, "progress": self.progress, "on_time": self.on_time,
                "worker_errors": self.errors, "worker_skipped": self.skipped, "muted": sorted(self.muted),
                **timing}

    def drained(self, path: AudioPath) -> bool:
        """Any thread: this worker has drained ``path`` (it took it as the newest; it never goes back)."""
        return self._bufs_for is path

    def last_block_s(self) -> float:
        """Any thread: seconds the last finished block took (0.0 before the first)."""
        n = self.progress
        return float(self.durations[(n - 1) % len(self.durations)]) if n else 0.0

    def times_since(self, progress: int) -> np.ndarray:
        """Main thread: seconds per block of the blocks finished since ``progress``, oldest first
        (at most ``history`` of them)."""
        end = self.progress
        k = max(0, min(end - progress, len(self.durations)))
        return self.durations[np.arange(end - k, end) % len(self.durations)]

    # -- worker thread ---------------------------------------------------------------
    def run(self) -> None:
        """Worker thread: wait for complete blocks, process each, until stopped."""
        self.realtime = make_realtime(self._rt_priority, "inference worker")
        if self._parallel_graphs:
            self.parallel = self.engine.start_parallel(lambda: make_realtime(self._rt_priority, "graph worker"))
        try:
            while not self._stop.is_set():
                path = self._path_ref()
                path.wait(0.05)
                if self.paused or path.written == 0:
                    continue
                self._drain(path)
        finally:
            if self.parallel:
                self.engine.stop_parallel()

    def _drain(self, path: AudioPath) -> None:
        if self._bufs_for is not path:
            self._bufs = [np.zeros((max(g.inputs, 1), path.block), np.float32) for g in path.graphs]
            self._bufs_for = path
            self._next = None
        B = path.block
        if self._next is None or self._next < path.first_block * B - B:
            self._next = path.first_block * B - B
        while self._next + B <= path.written and not self._stop.is_set():
            start = self._next
            self._next += B
            if path.played > start + path.delay:  # its first sample already played: too late
                self.skipped += 1
                continue
            self._process(path, start)

    def _process(self, path: AudioPath, start: int) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        path.read_block(start, self._bufs)
        inputs = {g.name: self._bufs[i][:g.inputs] for i, g in enumerate(path.graphs)}
        wet = self._run_engine(path, inputs, start)
        failed = self.engine.failed
        for i, g in enumerate(path.graphs):
            block = wet.get(g.name) if g.name not in self.muted else None
            if block is None or block.shape != (g.outputs, path.block):
                block = np.zeros((g.outputs, path.block), np.float32)
            silenced = g.name in self.muted or g.name in failed
            if silenced != (g.name in self._silenced):
                # the output gain follows too, so a late block's dry fallback cannot leak a muted graph
                path.mutes[i].set_target(0.0 if silenced else 1.0)
            if silenced and g.name not in self._silenced:
                block = self._declick(path, i, start, block)
            path.write_wet(start, i, block)
            (self._silenced.add if silenced else self._silenced.discard)(g.name)
        path.commit(start)
        self.durations[self.progress % len(self.durations)] = time.perf_counter() - t0
        self.cpu[self.progress % len(self.cpu)] = time.thread_time() - c0
        self.progress += 1
        if path.played <= start + path.delay:
            self.on_time += 1

    def _declick(self, path: AudioPath, g: int, start: int, block: np.ndarray) -> np.ndarray:
        """A graph just went silent: ramp from the previous block's last sample to 0 (5 ms), no click."""
        last = np.zeros((block.shape[0], 1), np.float32)
        path.wet[g].read(start + path.delay - 1, last)
        n = min(block.shape[1], max(1, path.sample_rate // 200))
        block = np.array(block, dtype=np.float32, copy=True)
        block[:, :n] = last * np.linspace(1.0, 0.0, n, dtype=np.float32)
        return block

    def _run_engine(self, path: AudioPath, inputs: dict[str, np.ndarray], start: int) -> dict[str, np.ndarray]:
        """Worker thread: one engine call; an exception the engine let through mutes every graph."""
        try:
            return self.engine.process(inputs, start, self.store, self._clock_ref())
        except Exception as exc:  # noqa: BLE001 - a failing model must not stop the box
            self._failed(path, exc)
            return {}

    def _failed(self, path: AudioPath, exc: Exception) -> None:
        """Worker thread: mute every graph not muted yet (with the declick fade), log once."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        for i, g in enumerate(path.graphs):
            if g.name not in self.muted:
                self.muted.add(g.name)
                path.mutes[i].set_target(0.0)
                log.error("graph %s muted: the engine raised in the worker: %s", g.name, self.last_error,
                          exc_info=exc)

    def unmute(self, path: AudioPath) -> None:
        """Main thread (panic, reload): let muted graphs play again."""
        for i, g in enumerate(path.graphs):
            if g.name in self.muted:
                path.mutes[i].set_target(1.0)
        self.muted.clear()
