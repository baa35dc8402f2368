"""The composition root of ``ravebox run``: config -> JACK host + engine + clock + mapping -> main loop.

Start order (stopped in reverse, in ``finally``): load and validate the box;
ask the JACK server its rate (the engine is built for it; :func:`server_rate`); assemble the parts
(:func:`ravebox.assembly.assemble`, the same function render uses: engine --
loads and warms every model, a rate mismatch is a clear error -- parameter
store, clock follower, mapping runtime, event router); time the warm models
(the headroom); connect the JACK client (``Host.open``); the mapping reloader;
the host (ports, control thread, worker, activate, auto-connect); then freeze
the garbage collector and tell the observers we are ready.

The main loop (main thread, about every 20 ms) handles signals and the host's
faults: SIGTERM/SIGINT fade every output to silence (``fade_out_ms``, waiting at
most 50 ms), disconnect and return exit code 0; SIGHUP reloads the mapping,
the connect rules and changed model files (``service/model_reload.py``);
``Host.poll`` reconnects after a JACK restart and re-connects returning ports;
the mapping file is watched; observers get ``on_tick`` about once a second.

Threads: everything here runs on the main thread, except :meth:`status` and
:meth:`health`, which any thread may call (they read counters and immutable
snapshots only, no locks).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ravebox.assembly import BoxParts, assemble
from ravebox.config.box import BoxConfig
from ravebox.config.jack import JackSettings
from ravebox.host.audiopath import GraphIO
from ravebox.host.host import Host
from ravebox.host.hosted import HostedBox
from ravebox.mapping.reloader import MappingReloader
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from ravebox.service import live_values
from ravebox.service.model_reload import ModelReloader

log = logging.getLogger("ravebox.daemon")

STOP_BUDGET_S = 0.05
HEALTH_STALL_S = 2.0


def server_rate(settings: JackSettings) -> int:
    """Main thread: the JACK server's sample rate, asked by a client that closes at once.

    Why not keep that client open: loading, tuning and timing a full-size model takes
    tens of seconds, and a JACK client left idle that long before it registers its ports
    once failed to register them. So the daemon asks the rate (the engine is built for
    it), loads, then opens its real client (``Host.open``) and registers at once; a
    server that changed its rate meanwhile is refused by ``Host.start``'s rate check.
    """
    from ravebox.host.session import open_client

    client = open_client(settings.client_name, settings.server)
    try:
        return int(client.samplerate)
    finally:
        client.close()


class StopDuringStart(BaseException):
    """SIGTERM/SIGINT arrived while the daemon was starting: abandon the start, never go READY.

    A BaseException (like KeyboardInterrupt), raised from the signal handler, so
    no ``except Exception`` on the way (a model loader's) can swallow it; the
    start-up's own cleanup closes whatever was opened.
    """


class Daemon:
    """One running box. Use as a context manager or call :meth:`start` / :meth:`close`.

    ``engine_factory(box, sample_rate, seed)`` builds the engine (tests pass a
    stand-in); ``server`` and ``client_name`` override the ``[jack]`` table.
    """

    def __init__(self, config: str | Path, *, observers: Sequence[object] = (), server: str | None = None,
                 client_name: str | None = None, engine_factory: Callable | None = None) -> None:
        self.config_path = Path(config)
        self.observers = list(observers)
        self._server = server
        self._client_name = client_name
        self._engine_factory = engine_factory
        self.box: BoxConfig | None = None
        self.parts: BoxParts | None = None
        self.engine = None
        self.model_reloader = None
        self.store: ParamStore | None = None
        self.follower = None
        self.runtime = None
        self.reloader = None
        self.learning = None          # MIDI learn (service/learning.py)
        self.recording = None         # recording on the box (service/recording.py)
        self.osc = None               # OSC control, only with [osc] port (service/osc.py)
        self.osc_error: str | None = None
        self.host: Host | None = None
        self.graphs: list[GraphIO] = []
        self.state = "starting"
        self.started_at = time.monotonic()
        self.last_reload: dict | None = None
        self._stop = threading.Event()
        self._reload_requested = False
        self._exit_code = 0
        self._closed = False
        self._health_mark = (0, 0, time.monotonic())
        self._health_last = (True, "")
        self._engine_events = 0

    # -- start-up (main thread) ------------------------------------------------------------
    def start(self) -> "Daemon":
        """Build and start everything; on any failure, close what was started and re-raise."""
        try:
            return self._start()
        except BaseException:
            self.state = "failed"
            self.shutdown()
            raise

    def _start(self) -> "Daemon":
        from ravebox.config.box import load_box

        self._install_signals()  # a SIGHUP or SIGTERM during start-up is deferred, never fatal
        self.box = box = load_box(self.config_path)
        jack_settings = self._jack_settings(box)
        self.host = host = Host(jack_settings)
        rate = server_rate(jack_settings)
        self.parts = parts = assemble(box, rate, seed=box.output.seed, engine_factory=self._engine_factory)
        parts.engine.measure()  # time the warm models now, not while a JACK client waits for its ports
        host.open()  # the client opens only once the models are loaded, warm and timed
        self.engine, self.store, self.follower, self.runtime = parts.engine, parts.store, parts.follower, parts.mapping
        if hasattr(self.engine, "prepare_swap"):
            self.model_reloader = ModelReloader(self.engine, box)
        hosted = HostedBox.from_parts(parts)
        self.graphs = hosted.graphs
        self.reloader = MappingReloader(parts.mapping, box.mapping.path)
        log.info("mapping '%s' from %s: %d rules", box.mapping.mapping.name, box.mapping.path,
                 len(box.mapping.mapping.rules))
        host.start(hosted)
        self.learning = self._learning(rate)
        self.recording = self._recording()
        self.osc = self._osc()
        self._tune_runtime(jack_settings)
        if self._stop.is_set():  # asked to stop from another thread while starting
            raise StopDuringStart()
        self.state = "running"
        self._health_mark = (0, 0, time.monotonic())
        for observer in self.observers:
            self._call(observer, "on_ready")
        return self

    def _jack_settings(self, box: BoxConfig) -> JackSettings:
        changes = {}
        if self._server is not None:
            changes["server"] = self._server
        if self._client_name is not None:
            changes["client_name"] = self._client_name
        return replace(box.jack, **changes) if changes else box.jack

    def _learning(self, rate: int):
        """MIDI learn into the active mapping file (captures on the control thread, writes on this one)."""
        from ravebox.service.learning import LearnService

        def arm(capture) -> None:
            self.host.control.learner = capture

        def reload() -> tuple[bool, str]:
            result = self.reloader.reload()
            self._note_reload(result.ok, result.message)
            return result.ok, result.message.splitlines()[0]
        return LearnService(lambda: self.reloader.path if self.reloader else None, arm, reload,
                            pair_window=int(0.01 * rate))

    def _recording(self):
        from ravebox.service.recording import RecordingService

        return RecordingService(self.box.record, lambda: self.host.path, self.store)

    def _osc(self):
        """The OSC listener, only when the box has ``[osc] port``; a port that cannot be bound is logged, not fatal."""
        from ravebox.errors import ServiceError
        from ravebox.mapping.learnfile import LearnTarget
        from ravebox.service.osc import OscService

        settings = self.box.osc
        if not settings.enabled:
            return None
        host, store, runtime = self.host, self.store, self.runtime

        def set_param(key, value: float) -> None:
            host.control.post(lambda: store.set(key, value, host.now()))

        def recall(ref) -> None:
            host.control.post(lambda: runtime.recall(ref, host.now()))

        def learn(target: str, graph, dim) -> dict:
            return self.learning.request(LearnTarget(target, graph, dim))
        try:
            return OscService(settings, dict(store.graphs), set_param, recall, learn, store.snapshot).start()
        except ServiceError as exc:
            self.osc_error = str(exc)
            log.error("%s; running without OSC", exc)
            return None

    def record(self, action: str) -> dict:
        """Main thread: ``start`` or ``stop`` a take (``ravebox status record start|stop``)."""
        if action not in ("start", "stop"):
            return {"ok": False, "error": f"record start or record stop, not {action!r}"}
        return self.recording.start() if action == "start" else self.recording.stop()

    def _tune_runtime(self, settings: JackSettings) -> None:
        """Keep Python's pauses off the audio path: short GIL switch interval, frozen gc."""
        sys.setswitchinterval(0.001)
        if settings.gc == "default":
            return
        gc.collect()
        if settings.gc == "off":
            gc.disable()
        else:
            gc.freeze()
            gc.set_threshold(50_000, 50, 1000)

    # -- main loop (main thread) -------------------------------------------------------------
    def _main_realtime(self) -> None:
        """The main loop at the control thread's realtime priority (below JACK's and the worker's).

        Why: the main loop runs Python every 20 ms, so it takes the GIL; at normal priority,
        preempted by the kernel while holding it (on a box whose model fills a core, the other
        core is shared by everything else), it kept the process callback from the GIL past
        its period: xruns (``bench/fullsize.py`` prints the callback's start delay).
        Model loads for a reload run on their own threads (``service/model_reload.py``).
        """
        from ravebox.host.rtprio import make_realtime

        if self.host is not None:
            make_realtime(self.host.settings.control_rt_priority, "main thread")

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or :meth:`request_stop`); returns the process exit code."""
        self._install_signals()  # again, in case start() ran on another thread's behalf
        self._main_realtime()
        next_tick = next_watch = time.monotonic()
        while not self._stop.is_set():
            self._stop.wait(0.02)
            if self._stop.is_set():
                break
            try:
                self.host.poll()
            except Exception:  # noqa: BLE001 - the main loop must outlive any one JACK hiccup
                log.exception("host poll failed; continuing")
            self._log_engine_events()
            for part in (self.learning, self.recording, self.osc):
                try:
                    if part is not None:
                        part.poll()
                except Exception:  # noqa: BLE001 - a learn or a take must never stop the box
                    log.exception("%s failed; continuing", type(part).__name__)
            now = time.monotonic()
            if self._reload_requested:
                self._reload_requested = False
                self._guarded_reload()
            if now >= next_watch:
                next_watch = now + 1.0
                self._watch_mapping()
            if now >= next_tick:
                next_tick = now + 1.0
                self._health_update()
                for observer in self.observers:
                    self._call(observer, "on_tick")
        self.shutdown()
        return self._exit_code

    def _log_engine_events(self) -> None:
        """Main thread: log what the engine recorded on the worker (mutes, resets, swaps), once each."""
        events = getattr(self.engine, "events", None)
        if events is None or not hasattr(events, "since"):
            return
        new, self._engine_events = events.since(self._engine_events)
        for text in new:
            (log.error if "muted" in text else log.info)("%s", text)

    def muted_graphs(self) -> set[str]:
        """Graphs silenced by a failure (the engine's own record, or the host worker's)."""
        failed = set(getattr(self.engine, "failed", {}) or {})
        return failed | (set(self.host.worker.muted) if self.host and self.host.worker else set())

    def request_stop(self, *args: object) -> None:
        """Any thread or a signal handler: end :meth:`run` (fade, disconnect, exit 0).

        As a signal handler during start-up (model loading can take a minute on a Pi),
        it raises :class:`StopDuringStart` at once: the start is abandoned, never READY.
        """
        self._stop.set()
        if args and self.state == "starting" and threading.current_thread() is threading.main_thread():
            raise StopDuringStart()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self._on_sighup)

    def _on_sighup(self, *_: object) -> None:
        self._reload_requested = True

    def _watch_mapping(self) -> None:
        if self.reloader is None or self.box is None or not self.box.mapping.watch:
            return
        try:
            result = self.reloader.poll()
        except Exception as exc:  # noqa: BLE001
            log.warning("mapping watch failed: %s", exc)
            return
        if result is not None:
            self._note_reload(result.ok, result.message)

    def _note_reload(self, ok: bool, message: str) -> None:
        (log.info if ok else log.error)("%s", message)
        self.last_reload = {"ok": ok, "message": message.splitlines()[0], "at": time.strftime("%H:%M:%S")}

    # -- commands (main thread) ------------------------------------------------------------------
    def _guarded_reload(self) -> dict:
        """Main thread (SIGHUP): :meth:`reload`, whatever it raises -- the old state keeps playing."""
        try:
            return self.reload()
        except Exception as exc:  # noqa: BLE001 - no input file may stop the show
            message = f"reload failed, keeping everything as it was: {type(exc).__name__}: {exc}"
            log.error("%s", message)
            self._note_reload(False, message)
            return {"ok": False, "error": message}

    def reload(self) -> dict:
        """Reload the mapping, the box's auto-connect rules and changed model files (SIGHUP, socket).

        A bad mapping keeps the old mapping; a bad box config keeps the old rules and
        models. A model file that changed (another path, or re-exported in place) is
        loaded off the audio path and crossfaded in; a failed load keeps the old one.
        Graph shapes and engine settings need a restart and are not touched.
        """
        result = self.reloader.reload()
        self._note_reload(result.ok, result.message)
        answer: dict = {"ok": result.ok, "message": result.message}
        box = self._reload_box()
        if isinstance(box, str):
            answer["connect"] = box
            return answer
        rules = self._reload_rules(box)
        if rules is not None:
            answer["connect"] = rules
        models = self.model_reloader.reload(box) if self.model_reloader else []
        for message in models:
            log.info("model reload: %s", message)
        if models:
            answer["models"] = models
        return answer

    def _reload_box(self):
        """The box config as it is now on disk, or the reason it was not reloaded."""
        from ravebox.config.box import load_box
        from ravebox.errors import ConfigError

        try:
            return load_box(self.config_path)
        except ConfigError as exc:
            log.error("box config not reloaded, keeping the current connect rules and models:\n%s", exc)
            return f"box config invalid, rules kept: {str(exc).splitlines()[0]}"
        except Exception as exc:  # noqa: BLE001 - RecursionError, a symlink loop, ENAMETOOLONG, ...
            why = f"{type(exc).__name__}: {exc}"
            log.error("box config not reloaded, keeping the current connect rules and models: %s", why)
            return f"box config unreadable, rules kept: {why}"

    def _reload_rules(self, box) -> str | None:
        rules = box.jack.connect
        if rules == self.host.connector.rules:
            return None
        self.host.connector.rules = tuple(rules)
        self.host.settings = replace(self.host.settings, connect=tuple(rules))
        if self.host.session is not None:
            self.host.session.ports_changed = True  # the main loop re-applies them at once
        log.info("connect rules reloaded: %d rule(s)", len(rules))
        return f"{len(rules)} connect rule(s) reloaded"

    def recall_preset(self, ref: str | int) -> dict:
        """Recall a preset by name or number, applied on the control thread (the store's one writer)."""
        runtime, host = self.runtime, self.host
        ok = host.control.call(lambda: runtime.recall(ref, host.now()))
        return {"ok": bool(ok), "preset": ref} if ok else {"ok": False, "error": f"no preset {ref!r}"}

    def presets(self) -> dict:
        """The presets the mapping offers and the last one recalled (any thread; see service/live_values.py)."""
        return live_values.preset_list(self.runtime)

    def set_param(self, key: str, value: float) -> dict:
        """``set PARAM VALUE`` from the control socket (main thread; written on the control thread)."""
        return live_values.set_value(self.store, self.host.control.call, self.host.now, key, value)

    def save_preset(self, name: str) -> dict:
        """``save NAME``: the live values become a preset in the mapping's preset files (main thread)."""
        return live_values.save_live(self.runtime, self.store, name)

    def panic(self) -> dict:
        """Reset every graph's model state and let graphs muted by a failure play again."""
        store, host = self.store, self.host

        def reset() -> bool:
            for name in store.graphs:
                store.set(ParamKey("engine.reset", name), 1.0, host.now())
            return True
        host.control.call(reset)
        host.worker.unmute(host.path)
        log.warning("panic: model state reset on every graph")
        return {"ok": True, "graphs": list(store.graphs)}

    # -- queries (any thread) --------------------------------------------------------------------
    def health(self) -> tuple[bool, str]:
        """True only while the process callback advances and the worker makes progress."""
        return self._health_last if self.state == "running" else (False, f"state {self.state}")

    def _health_update(self) -> None:
        """Main thread, once a second: compare callback cycles and worker blocks with the last mark."""
        host = self.host
        cycles = host.path.cycles if host.path else 0
        progress = host.worker.on_time if host.worker else 0  # blocks in time: a hanging model is no progress
        last_cycles, last_progress, since = self._health_mark
        now = time.monotonic()
        if cycles != last_cycles and progress != last_progress:
            self._health_mark = (cycles, progress, now)
            self._health_last = (True, "")
            return
        path = host.path
        stall = max(HEALTH_STALL_S, 3.0 * path.block / path.sample_rate) if path else HEALTH_STALL_S
        if now - since < stall:
            return
        if not host.connected:
            reason = "JACK server not connected"
        elif cycles == last_cycles:
            reason = "JACK process callback not advancing"
        else:
            reason = "inference worker made no progress"
        self._health_last = (False, reason)

    def status(self) -> dict:
        """A JSON-able snapshot (see ``service/observers.py`` for the keys the tools read)."""
        host, path = self.host, self.host.path if self.host else None
        if host is None or path is None:
            return {"state": self.state}
        late, xruns = path.late_blocks, host.xruns
        control = host.control
        headroom = host.headroom_now()
        return {
            "state": "reconnecting" if self.state == "running" and not host.connected else self.state,
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "jack": {"server": host.settings.server or os.environ.get("JACK_DEFAULT_SERVER") or "default",
                     "client": host.settings.client_name,
                     "sample_rate": path.sample_rate, "period": path.period, "connected": host.connected,
                     "reconnects": host.reconnects,
                     "callback_max_ms": round(1000.0 * host.session.callback_max_s, 3) if host.session else None,
                     "callback_mean_ms": round(1000.0 * host.session.callback_total_s / max(1, path.cycles), 3)
                     if host.session else None,
                     "callback": (host.session.cycle_times.to_json(path.period / path.sample_rate)
                                  if host.session else None),
                     "realtime": {"worker": bool(host.worker and host.worker.realtime),
                                  "control": bool(control and control.realtime)}},
            "clock": self._clock_status(path.clock),
            "graphs": self._graph_status(path),
            "gate_step": self._gate_steps(path),
            "late_blocks": late, "xruns": xruns,
            "latency": {"frames": path.latency, "ms": round(1000.0 * path.latency / path.sample_rate, 2),
                        "block": path.block, "period": path.period,
                        **({"headroom": headroom.to_json()} if headroom else {})},
            "warnings": headroom.warnings() if headroom else [],
            "mapping": {"path": str(self.reloader.path) if self.reloader else None, "last_reload": self.last_reload},
            "preset": self.runtime.last_preset if self.runtime else None,
            "learn": self.learning.status() if self.learning else None,
            "record": self.recording.status() if self.recording else None,
            "osc": self.osc.status() if self.osc else ({"error": self.osc_error} if self.osc_error else None),
            "alsa_inputs": host.alsa.status() if host.alsa is not None else None,
            "params": self.store.snapshot() if self.store else {},
            "counters": {"xruns": xruns, "late_blocks": late, "midi_events": control.events if control else 0,
                         "midi_dropped": host.midi_in.dropped + host.midi_in.oversized,
                         "midi_coalesced": control.coalesced if control else 0,
                         "midi_released": control.released if control else 0,
                         **self._safety_counters(path),
                         "midi_garbage": sum(s["garbage"] for s in control.parser_stats().values()) if control else 0,
                         "control_errors": control.errors if control else 0,
                         "worker_errors": host.worker.errors if host.worker else 0,
                         "worker_skipped": host.worker.skipped if host.worker else 0,
                         "reconnects": host.reconnects},
        }

    def _clock_status(self, view) -> dict:
        if view is None:
            return {}
        follower = self.follower
        transport = follower.transport.value if follower is not None else None
        lock = view.lock  # internal, acquiring, locked, unstable, lost or conflict (clock/follower.py Lock)
        return {"tempo_bpm": round(view.display_bpm, 2), "bpm": view.bpm, "lock": lock,
                "source": "internal" if lock == "internal" else ((follower.source if follower else None) or "midi"),
                "refused": follower.refused if follower is not None else {},
                "transport": transport or ("playing" if view.running else "stopped"),
                "beat": round(view.beat_at(self.host.now()), 3)}

    def _gate_steps(self, path) -> dict:
        """Current step (1-based) of each graph's selected gate pattern, when the box has patterns."""
        patterns = self.box.gates.patterns if self.box else ()
        if not patterns or path.clock is None or self.store is None:
            return {}
        from ravebox.gates.patterns import step_index

        beat = path.clock.beat_at(self.host.now())
        steps = {}
        for g in path.graphs:
            index = int(self.store.target(ParamKey("gate.pattern", g.name)))
            pattern = patterns[min(max(index, 0), len(patterns) - 1)]
            swing = pattern.swing + self.store.target(ParamKey("gate.swing", g.name))
            steps[g.name] = step_index(beat, pattern.step_beats, swing) % len(pattern.steps) + 1
        return steps

    @staticmethod
    def _safety_counters(path) -> dict:
        """The output stages' scrub and limiter counters, summed over graphs."""
        stages = [s.counters() for s in (path.stages or ()) if hasattr(s, "counters")]
        keys = ("nonfinite_samples", "clamped_samples", "limited_samples")
        return {key: sum(int(c.get(key, 0)) for c in stages) for key in keys}

    def _graph_status(self, path) -> list[dict]:
        worker = self.host.worker
        times = worker.block_times() if worker else np.zeros(0)
        block_ms = 1000.0 * path.block / path.sample_rate
        muted = self.muted_graphs()
        out = []
        for g in path.graphs:
            spec = self._spec(g.name)
            models = [m for m in ((spec.encoder,) + tuple(spec.decoders) + (spec.prior,)) if m] if spec else []
            item = {"name": g.name, "models": list(dict.fromkeys(models)), "block_ms": round(block_ms, 2),
                    "muted": g.name in muted, "inputs": g.inputs, "outputs": g.outputs}
            rates = getattr(self.engine, "rate_status", None)
            if rates is not None:
                item["rates"] = rates().get(g.name)
            if len(times):
                item["worker_ms"] = round(1000.0 * float(np.percentile(times, 99)), 2)
                item["worker_max_ms"] = round(1000.0 * float(times.max()), 2)
            item.update(self._measured(g.name))
            item.update(self._graph_health(path, g.name))
            out.append(item)
        return out

    def _graph_health(self, path, graph: str) -> dict:
        """Why a graph is muted, whether it is degraded (late), its bad-output and safety counters."""
        engine = (self.engine.status() if hasattr(self.engine, "status") else {}).get(graph) or {}
        index = next((i for i, g in enumerate(path.graphs) if g.name == graph), None)
        stage = path.stages[index] if path.stages and index is not None else None
        out = {key: engine[key] for key in ("failed", "degraded", "bad_blocks", "mutes") if key in engine}
        if stage is not None and hasattr(stage, "counters"):
            counters = stage.counters()
            out["safety"] = {k: counters[k] for k in ("nonfinite_samples", "clamped_samples", "limited_samples",
                                                     "max_gain_reduction_db") if k in counters}
        return out

    def _measured(self, graph: str) -> dict:
        """The graph's inference time measured at load (or its last swap), the headroom and its margin."""
        cost = (getattr(self.engine, "costs", None) or {}).get(graph)
        headroom = self.host.headroom_now() if self.host else None
        if cost is None or headroom is None:
            return {}
        total = cost.total
        budget = headroom.budget_s
        return {"inference_ms": {"p50": round(1e3 * total.p50, 2), "p99": round(1e3 * total.p99, 2)},
                "headroom_ms": round(1e3 * budget, 3),
                "margin": round(1.0 - total.p99 / budget, 3) if budget > 0 else None}

    def _spec(self, name: str):
        try:
            return self.box.graph(name)
        except (KeyError, AttributeError):
            return None

    # -- shutdown (main thread) --------------------------------------------------------------------
    def shutdown(self) -> None:
        """Fade out (within 50 ms), tell observers, disconnect and close everything (idempotent)."""
        if self._closed:
            return
        self._closed = True
        failed = self.state == "failed"   # start() failed: the caller reports why, then "stopped"
        self.state = "stopping"
        host = self.host
        if host is not None:
            fade_ms = min(host.settings.fade_out_ms, 1000.0 * STOP_BUDGET_S * 0.8)
            if not host.fade_out(fade_ms, STOP_BUDGET_S):
                log.warning("fade-out did not finish within %d ms", int(STOP_BUDGET_S * 1000))
        for observer in reversed(self.observers):
            self._call(observer, "on_stopping")
        for part in (self.osc, self.recording):
            try:
                if part is not None:
                    part.close()
            except Exception:  # noqa: BLE001
                log.exception("closing %s failed", type(part).__name__)
        if host is not None:
            host.close()
        if not failed:
            log.info("stopped")

    close = shutdown

    def __enter__(self) -> "Daemon":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _call(self, observer: object, name: str) -> None:
        method = getattr(observer, name, None)
        if method is None:
            return
        try:
            method(self)
        except Exception:  # noqa: BLE001 - an observer must never take the box down
            log.exception("observer %s.%s failed", type(observer).__name__, name)
