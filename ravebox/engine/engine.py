"""Engine: every graph of a box, one engine block at a time.

Threads: ``process`` runs on the inference worker (live) or the render loop;
``prepare_swap`` runs on any *other* thread (the main thread on a reload, a
control command) and only hands a ready, warmed-up model over through a
one-slot dict, which ``process`` picks up at its next block. ``status`` may be
read from anywhere.

Failure policy (``status()`` shows each graph's state and counters):

* a model that raises inside ``process`` mutes its graph (the graph then
  outputs silence, the reason is kept in ``status()``) while the other graphs
  keep playing;
* a graph whose wet output holds a NaN/Inf or a value beyond the safety
  stage's clamp (+18 dBFS) in :data:`~ravebox.engine.health.BAD_BLOCKS` blocks in a row is muted the
  same way (``bad_blocks`` counts every such block); one stray block is left
  to the safety stage;
* a graph whose own models take longer than the block's real-time duration
  in :data:`~ravebox.engine.health.LATE_BLOCKS` blocks in a row is flagged ``degraded`` (cleared by
  four times as many on-time blocks); a swap into a degraded (or muted) graph cuts over at once
  instead of crossfading, so it never waits on the slow old model again;
* an ``engine.reset`` trigger, or a successful swap into the graph, lets a
  muted graph play again.

Whether the box as a whole still makes progress is the host's business (the
worker counts blocks finished in time; the service's watchdog reads that).

Why one module of about 470 lines (over the house rule's 350): building (load, check roles, plan rates,
tune), running (one block per call, resets, mutes) and hot swap (stage on a
swap thread, install on the worker) all act on the same per-graph state and
the same one-slot hand-over between threads; split apart, each half would
reach into the other's dicts. The pure parts live beside it: the per-graph
record in ``health.py``, the graph itself in ``graph.py``, cost in ``cost.py``.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ravebox.clock.view import ClockView
from ravebox.config.box import BoxConfig
from ravebox.config.graphs import ModelSpec
from ravebox.engine import autoblock
from ravebox.engine.cost import STARTUP_BUDGET_S, STARTUP_CALLS, GraphCost, measure_graph, measure_role
from ravebox.engine.eventlog import EventLog
from ravebox.engine.health import BAD_BLOCKS, GraphHealth
from ravebox.engine.domains import BoxRates, block_size, graph_latency
from ravebox.engine.graph import GraphRunner
from ravebox.engine.parallel import GraphPool
from ravebox.engine.roles import Codec, Prior
from ravebox.errors import EngineError, ModelError, RaveboxError
from ravebox.models.convtune import wants_tuning
from ravebox.models.loader import pin_torch_threads, set_torch_threads
from ravebox.params.store import ParamStore

#: A loaded model, by its role (the real ones: ``ravebox.models.RaveModel`` / ``PriorModel``).
Model = Codec | Prior
Loader = Callable[[ModelSpec, int], Model]


def default_loader(spec: ModelSpec, sample_rate: int) -> Model:
    """Load and warm up a model through ``ravebox.models`` (never on the audio path).

    ``num_threads=None``: the engine set torch's thread count from ``[output] torch_threads``.
    """
    from ravebox.models import load_model

    return load_model(spec.path, allow_non_streaming=spec.allow_non_streaming, warm_up=True, num_threads=None)


@dataclass(frozen=True, slots=True)
class SwapResult:
    ok: bool
    graph: str
    message: str


class Engine:
    """``Engine(box, sample_rate, seed)``: loads the box's models and runs its graphs."""

    def __init__(self, box: BoxConfig, sample_rate: int, seed: int | None = None,
                 loader: Loader | None = None, conv_tuning: str | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        """``conv_tuning``: "auto" (large models), "on" or "off" (see ``ravebox.models.convtune``;
        None: the box's ``[output] conv_tuning``); ``timer`` (seconds) measures each graph's
        time per block for the degraded flag."""
        self.box = box
        self.conv_tuning = conv_tuning or box.output.conv_tuning
        self._timer = timer
        self.sample_rate = int(sample_rate)
        self.seed = int(box.output.seed if seed is None else seed)
        self._loader = loader or default_loader
        set_torch_threads(box.output.torch_threads)
        auto = box.output.block_multiple == autoblock.AUTO
        self.block_multiple = 1 if auto else int(box.output.block_multiple)
        self.block_choice = autoblock.BlockChoice(self.block_multiple, "auto" if auto else "box",
                                                  "x1 until timed (render never times: it plays x1)" if auto else "[output] block_multiple")
        self.models = self._load_all()
        self._build_graphs()
        self.events = EventLog()
        self._tune_all()
        self.blocks = 0
        self._pool: GraphPool | None = None  # graphs in parallel (start_parallel), live only
        self._pinned_thread: int | None = None  # the thread process() last applied torch's thread count to
        self._timing = (60, 4.0)  # calls and seconds per model for measure() (and the auto block's re-timing)

    def _build_graphs(self) -> None:
        """Rate domains, graphs and their per-graph records for ``self.sample_rate`` (loaded models)."""
        box = self.box
        fade = int(round(box.output.crossfade_ms * self.sample_rate / 1000.0))
        self.rates = self._box_rates()
        self.graphs = {spec.name: GraphRunner(spec, i, self.models[spec.name], self.sample_rate, self.seed, fade,
                                              self.rates)
                       for i, spec in enumerate(box.graphs)}
        self.block_size = self.rates.block
        # nn~ exports declare no latency of their own (a streaming model's delay is in its audio)
        self.conversion_latency = self.rates.latency
        self.latency_frames = self.conversion_latency
        self.costs: dict[str, GraphCost] = {}  # measured by measure(); a swap updates its graph's entry
        self.failed: dict[str, str] = {}
        # Staged swaps per graph, oldest first; the swap threads append and the worker pops
        # (deque appends and pops are atomic), so two swaps prepared before a block both land.
        self._pending: dict[str, collections.deque] = {name: collections.deque() for name in self.graphs}
        self._resets: dict[str, int] = {}
        self.health = {name: GraphHealth() for name in self.graphs}

    def retarget(self, sample_rate: int) -> None:
        """Main thread, worker stopped: play at another box rate (a JACK server restarted at another
        rate). The loaded models stay and start fresh streams; every rate domain, the engine block,
        the latency and the graphs are rebuilt as for a new engine (swaps staged meanwhile are dropped;
        the measured costs are cleared: measure again)."""
        self.sample_rate = int(sample_rate)
        for model in self._distinct_models():
            model.reset()
        self._build_graphs()
        self.events.append(f"rate domains rebuilt for {self.sample_rate} Hz: engine block {self.block_size}, "
                           f"conversion latency {self.conversion_latency} frames")

    # -- building ------------------------------------------------------------------
    def _load_all(self) -> dict[str, dict[str, Model]]:
        """Models per graph. Each graph loads its own instances: a streaming model carries
        state, so two graphs sharing one instance would corrupt each other's stream."""
        models: dict[str, dict[str, Model]] = {}
        problems = []
        for g in self.box.graphs:
            models[g.name] = {}
            for name in dict.fromkeys(n for n in (*g.decoders, g.encoder, g.prior) if n):
                try:
                    models[g.name][name] = self._loader(self.box.models[name], self.sample_rate)
                except RaveboxError as exc:
                    problems.append(f"graphs.{g.name}: models.{name}: {exc}")
        if problems:
            raise EngineError("; ".join(problems))
        self._check_roles(models)
        return models

    def _check_roles(self, all_models: dict[str, dict[str, Model]]) -> None:
        for g in self.box.graphs:
            models = all_models[g.name]
            for name in (*g.decoders, g.encoder):
                if name and not isinstance(models[name], Codec):
                    raise EngineError(f"graphs.{g.name}: model '{name}' is not a RAVE model (no encode/decode)")
            if g.prior and not isinstance(models[g.prior], Prior):
                raise EngineError(f"graphs.{g.name}: model '{g.prior}' is not a prior (no temperature)")

    def _distinct_models(self) -> list[Model]:
        return list({id(m): m for ms in self.models.values() for m in ms.values()}.values())

    def _tune_all(self) -> None:
        """Loading thread: choose each large model's conv backends at the engine block."""
        for model in self._distinct_models():
            self._tune(model)

    def _tune(self, model: Model) -> None:
        if wants_tuning(model, self.conv_tuning):
            report = model.tune_convs(self._model_block(model))
            self.events.append(f"{model.path.name}: {report.summary()}")

    # -- measuring (loading thread, before the worker runs) -----------------------------
    def measure(self, calls: int = STARTUP_CALLS, budget_s: float = STARTUP_BUDGET_S,
                last_multiple: int | None = None) -> dict[str, GraphCost]:
        """Time every graph's models at the engine block (each model reset afterwards), with caches
        flushed before each call as the rest of the box flushes them between blocks; with
        ``[output] block_multiple = "auto"``, settle the block multiple (``engine/autoblock.py``;
        ``last_multiple``: what the last start of this box chose, sticky within a band).

        Call before the worker starts: a model cannot be timed while it plays.
        """
        self._timing = (calls, budget_s)
        self._time_graphs()
        if self.block_choice.source == autoblock.AUTO:
            self.block_choice = autoblock.settle(self, last_multiple)
            self.events.append(f"block_multiple auto: x{self.block_multiple} ({self.block_choice.why})")
        return self.costs

    def _time_graphs(self) -> None:
        calls, budget_s = self._timing
        self.costs = {name: measure_graph(name, graph_roles(runner), self.block_size, self.sample_rate, calls,
                                          budget_s, cold=True)
                      for name, runner in self.graphs.items()}

    def has_large_models(self) -> bool:
        """Some model is large enough for conv tuning's "auto" (the auto block multiple asks only then)."""
        return any(wants_tuning(model, "auto") for model in self._distinct_models())

    def rebuild_block(self, multiple: int) -> None:
        """Timing thread, worker not started: rebuild at another block multiple (models reset,
        convs re-tuned at the new block) and time the graphs again."""
        self.block_multiple = int(multiple)
        for model in self._distinct_models():
            model.reset()
        self._build_graphs()
        self._tune_all()
        self._time_graphs()

    @property
    def block_seconds(self) -> float:
        return self.block_size / float(self.sample_rate)

    def _played(self, name: str, model: Model, fallback: int | None = None) -> int:
        """The rate a model plays at: its own, or the box's with ``resample = "off"``. A model that does
        not say its rate (an MSPrior export) plays at ``fallback`` (its graph's first decoder's), else the box's."""
        spec = self.box.models.get(name)
        if spec is not None and spec.resample == "off":
            return self.sample_rate
        return int(model.sample_rate or fallback or self.sample_rate)

    def _box_rates(self) -> BoxRates:
        """Engine block, played rates and the box-wide conversion latency every graph is padded to."""
        played = {}
        for g in self.box.graphs:
            models = self.models[g.name]
            first = self._played(g.decoders[0], models[g.decoders[0]])
            played.update({id(m): self._played(name, m, first) for name, m in models.items()})
        draft = BoxRates(self.sample_rate, 1, 0, played)
        domains = [draft.domain(m) for ms in self.models.values() for m in ms.values()]
        block = block_size(domains, self.sample_rate, self.block_multiple)
        rates = BoxRates(self.sample_rate, block, 0, played)
        latency = 0
        for g in self.box.graphs:
            models = self.models[g.name]
            dec, enc = models[g.decoders[0]], models[g.encoder] if g.encoder else None
            own = graph_latency(self.sample_rate, block, [rates.domain(models[d]) for d in g.decoders],
                                rates.domain(enc) if enc else None, int(dec.out_channels),
                                int(enc.in_channels) if enc else 0)[2]
            latency = max(latency, own)
        return BoxRates(self.sample_rate, block, latency, played)

    def _model_block(self, model: Model) -> int:
        """Samples one engine block asks of ``model`` in its own domain (whole frames, rounded up)."""
        d = self.rates.domain(model)
        return max(1, -(-self.block_size * d.rate // (self.sample_rate * d.ratio))) * d.ratio

    def rate_status(self) -> dict[str, dict[str, Model]]:
        """Per graph: each model's own rate, the rate it plays at and how (``native``: the box's rate,
        ``converted``: through the resamplers, ``off``: at the box rate unconverted, as nn~ would),
        and the graph's added latency in box frames. For ``status`` and the render summary."""
        out: dict[str, dict[str, Model]] = {}
        for g, ms in self.models.items():
            models = {}
            for name, m in ms.items():
                own = m.sample_rate
                plays = self.rates.domain(m).rate
                how = "off" if own and plays != own else ("native" if plays == self.sample_rate else "converted")
                models[name] = {"rate": own, "plays_at": plays, "ratio": int(m.ratio), "conversion": how}
            out[g] = {"models": models, "latency_frames": self.graphs[g].latency}
        return out

    @property
    def graph_dims(self) -> dict[str, int]:
        """Latent dims per graph, for ``ParamStore(graphs=...)``."""
        return {name: runner.dims for name, runner in self.graphs.items()}

    @property
    def channels(self) -> dict[str, tuple[int, int]]:
        """(input channels, output channels) per graph; input 0 means the graph takes no audio."""
        return {name: (r.in_channels, r.channels) for name, r in self.graphs.items()}

    # -- running (inference worker) ----------------------------------------------------
    def process(self, inputs: dict[str, np.ndarray], start_frame: int, store: ParamStore,
                clock: ClockView, n: int | None = None) -> dict[str, np.ndarray]:
        """Wet audio per graph for one block; ``n`` defaults to ``block_size``."""
        n = self.block_size if n is None else n
        if n % self.block_size:
            raise EngineError(f"block of {n} frames is not a multiple of the engine block {self.block_size}")
        if self._pinned_thread != threading.get_ident():  # once per thread that runs the engine
            pin_torch_threads()
            self._pinned_thread = threading.get_ident()
        if self._pool is None:  # in turn: no task objects (the per-block path of render and one-graph boxes)
            out = {name: self._run(runner, inputs.get(name), n, start_frame, store, clock, store.active(name))
                   for name, runner in self.graphs.items()}
        else:
            tasks = [functools.partial(self._run, runner, inputs.get(name), n, start_frame, store, clock,
                                       store.active(name)) for name, runner in self.graphs.items()]
            out = dict(zip(self.graphs, self._pool.run(tasks)))
        self.blocks += 1
        return out

    # -- graphs in parallel (inference worker) -------------------------------------------
    @property
    def parallel_lanes(self) -> int:
        """Graphs that ``start_parallel`` would run at once: one per graph, at most one per core."""
        return max(1, min(len(self.graphs), os.cpu_count() or 1))

    def start_parallel(self, thread_init: Callable[[], object] | None = None) -> bool:
        """Worker thread: from now on run each graph on its own thread (True if that applies).

        Live only: torch's global random generator is shared, so parallel graphs' posterior
        draws may interleave (see ``engine/parallel.py``); render keeps the graphs in turn.
        """
        if self._pool is not None or self.parallel_lanes < 2:
            return False
        self._pool = GraphPool(self.parallel_lanes - 1, thread_init)
        return True

    def stop_parallel(self) -> None:
        """Worker thread (on stop): join the graph threads."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def block_p99(self, lanes: int = 1) -> float | None:
        """Measured p99 of one engine block with ``lanes`` graphs at once (None: not measured)."""
        if not self.costs:
            return None
        return _lanes_bound([c.total.p99 for c in self.costs.values()], lanes)

    def block_work(self, lanes: int = 1) -> float | None:
        """Measured own work of one engine block (``CallTiming.work``: CPU p99, at least the median
        wall time) with ``lanes`` graphs at once, what the auto block multiple judges (None: not measured)."""
        if not self.costs:
            return None
        return _lanes_bound([c.total.work for c in self.costs.values()], lanes)

    def _run(self, runner: GraphRunner, x: np.ndarray | None, n: int, start: int, store: ParamStore,
             clock: ClockView, active: frozenset[str]) -> np.ndarray:
        name = runner.name
        self._take_reset(runner, store)
        self._take_swap(runner, start)
        if name in self.failed:
            return np.zeros((runner.channels, n), dtype=np.float32)
        health = self.health[name]
        t0 = self._timer()
        try:
            y = runner.process(x, n, start, store, clock, active)
        except Exception as exc:  # a model raising must not stop the other graphs
            self._mute(name, f"{type(exc).__name__}: {exc}")
            return np.zeros((runner.channels, n), dtype=np.float32)
        change = health.timed(self._timer() - t0, n / self.sample_rate)
        if change:
            self.events.append(f"graph {name} {change}")
        if health.checked(y) >= BAD_BLOCKS:
            self._mute(name, f"output non-finite or beyond +18 dBFS in {BAD_BLOCKS} blocks in a row")
            return np.zeros((runner.channels, n), dtype=np.float32)
        return y

    def _mute(self, name: str, reason: str) -> None:
        self.failed[name] = reason
        self.health[name].mutes += 1
        self.events.append(f"graph {name} muted: {reason}")

    def _take_reset(self, runner: GraphRunner, store: ParamStore) -> None:
        count = store.trigger_count(runner.reset_key)
        if count != self._resets.setdefault(runner.name, count):
            self._resets[runner.name] = count
            runner.reset()
            self.health[runner.name].fresh_start()
            if self.failed.pop(runner.name, None) is not None:
                self.events.append(f"graph {runner.name} reset and playing again")

    def _take_swap(self, runner: GraphRunner, start: int) -> None:
        """Install staged models; a degraded graph cuts over, a muted one plays again."""
        pending = self._pending[runner.name]
        while pending:
            role, index, staged = pending.popleft()
            health = self.health[runner.name]
            fade = not health.degraded and runner.name not in self.failed  # never through a broken model
            if role == "decoder":
                runner.bank.replace(runner.bank.current if index is None else index, staged,
                                    start // runner.ratio, fade=fade)
            else:
                runner.install(role, staged, fade=fade)
            health.fresh_start()
            if self.failed.pop(runner.name, None) is not None:
                self.events.append(f"graph {runner.name} playing again after a model swap")

    # -- hot swap (any thread but the worker) ------------------------------------------
    def prepare_swap(self, graph: str, path: str, index: int | None = None, role: str = "decoder") -> SwapResult:
        """Load and warm up ``path`` as the ``role`` ("decoder", "encoder" or "prior") of ``graph``.

        A decoder replaces alternative ``index`` (default: the playing one). Blocks
        the calling thread for the load and the fit checks; the worker installs the
        model at its next block and crossfades (audio for decoders, latents for
        encoders and priors). A failed load or a model that does not fit keeps the
        old model playing and says why.
        """
        runner = self.graphs.get(graph)
        if runner is None:
            return SwapResult(False, graph, f"no graph named '{graph}'")
        # this thread's own OpenMP team size (a fresh thread would use every core: tuning and
        # timing measured with two threads, and a second busy thread beside the playing worker)
        pin_torch_threads()
        try:
            if role not in ("decoder", "encoder", "prior"):
                raise ModelError(f"unknown role '{role}' (decoder, encoder or prior)")
            if index is not None and (role != "decoder" or not 0 <= index < len(runner.bank.voices)):
                raise ModelError(f"decoder index {index} out of range")
            model = self._loader(ModelSpec(f"{graph}.swap", _path(path)), self.sample_rate)
            staged = _stage_for(runner, role, model)
            self._tune(model)
            self._measure_swap(graph, runner, role, index, model)
        except Exception as exc:  # noqa: BLE001 - whatever a load raises, the old model keeps playing
            reason = exc if isinstance(exc, RaveboxError) else f"{type(exc).__name__}: {exc}"
            message = f"swap of {graph} {role} to {path} failed, keeping the old model: {reason}"
            self.events.append(message)
            return SwapResult(False, graph, message)
        self._pending[graph].append((role, index, staged))
        return SwapResult(True, graph, f"{graph}: {role} {path} loaded, crossfading")

    def _measure_swap(self, graph: str, runner: GraphRunner, role: str, index: int | None, model: Model) -> None:
        """Swap thread: time the incoming model alone and update its graph's cost (if measured)."""
        cost = self.costs.get(graph)
        if cost is None:
            return
        key = f"decoder:{runner.bank.current if index is None else index}" if role == "decoder" else role
        # few calls: this thread competes with the playing worker for the cores
        self.costs[graph] = cost.with_part(key, measure_role(model, key, self.block_size, calls=8, budget_s=0.5))

    def status(self) -> dict[str, object]:
        """State per graph for the status socket and the render summary."""
        return {name: {"failed": self.failed.get(name), "decoder": r.bank.current, "fading": r.bank.fading,
                       "loop": r.loop.state, "loop_beats": r.loop.beats, "dims": r.dims, "swaps": r.bank.swaps,
                       "scrubbed": dict(r.scrubbed), "skipped_encodes": r.skipped_encodes,
                       **self.health[name].status(),
                       "block_multiple": self.block_choice.to_json(),
                       **({"cost": self.costs[name].to_json()} if name in self.costs else {})}
                for name, r in self.graphs.items()}


def graph_roles(runner: GraphRunner) -> dict[str, object]:
    """The model playing each role of a graph, keyed as ``GraphCost.parts`` is."""
    roles: dict[str, object] = {}
    if runner.enc is not None:
        roles["encoder"] = runner.enc.model
    if runner.prior is not None:
        roles["prior"] = runner.prior.driver.prior
    for i, voice in enumerate(runner.bank.voices):
        roles[f"decoder:{i}"] = voice.model
    return roles


def _stage_for(runner: GraphRunner, role: str, model: Model) -> object:
    """Check that ``model`` fits ``role`` in ``runner`` and build what the worker installs (caller's thread)."""
    if role == "prior":
        if not isinstance(model, Prior):
            raise ModelError("not a prior (no temperature)")
        if runner.prior is None or int(model.in_latents) != runner.prior.driver.in_latents:
            raise ModelError("the graph has no prior, or the new one takes a different latent count")
        return runner.prior_stage(model)
    if not isinstance(model, Codec):
        raise ModelError("not a RAVE model (no encode/decode)")
    if role == "decoder":
        return model
    if runner.enc is None or int(model.in_channels) != runner.in_channels:
        raise ModelError("the graph has no encoder, or the new one takes a different channel count")
    return runner.encoder_stage(model)


def _path(path: str):
    from pathlib import Path

    return Path(path).resolve()


def _lanes_bound(per_graph: list[float], lanes: int) -> float:
    """Seconds of a block whose graphs cost ``per_graph`` each, ``lanes`` of them at once."""
    return max(max(per_graph), sum(per_graph) / max(1, lanes))
