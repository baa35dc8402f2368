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

What lives elsewhere, one job each: a reload part by part (``service/reloading.py``,
model swaps in ``service/model_reload.py``), the status snapshot gathered from each
part's own report (``service/status_report.py``), the health watch behind the systemd
watchdog (``service/health.py``), the control socket's live commands
(``service/live_values.py``: presets, set, save, panic, record) and the optional
services (``service/extras.py``: MIDI learn, recording, OSC). The daemon starts them,
runs the loop, reloads and shuts down. (Why still about 410 lines, over the house rule's 350: the start order,
the signal rules during start-up and the shutdown guarantees are written out here,
each with its reason; every other job is in the modules above.)

Threads: everything here runs on the main thread, except :meth:`status` and
:meth:`health`, which any thread may call (they read counters and immutable
snapshots only, no locks).
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ravebox.assembly import BoxParts, assemble
from ravebox.assembly.parts import EngineFactory
from ravebox.config.box import BoxConfig, load_box
from ravebox.config.jack import JackSettings
from ravebox.host.audiopath import AudioPath, GraphIO, OutputStageLike
from ravebox.host.host import Host
from ravebox.host.hosted import HostedBox
from ravebox.host.rtprio import make_normal, make_realtime
from ravebox.host.startup_timing import measure_as_worker
from ravebox.service.blockmemory import BlockMemory, box_key, remember_choice, state_folder
from ravebox.mapping.reloader import MappingReloader
from ravebox.service import extras, signals
from ravebox.service.health import HealthWatch
from ravebox.service.live_values import LiveCommands
from ravebox.service.model_reload import ModelReloader
from ravebox.service.observers import Observer, notify
from ravebox.service.offmain import OffMainThread
from ravebox.service.reloading import BoxReload, PreparedReload, ReloadRecord
from ravebox.service.status_report import StatusReport

log = logging.getLogger("ravebox.daemon")

STOP_BUDGET_S = 0.05
GIL_SWITCH_S = 0.001   # how long a thread that wants the GIL waits before it asks the holder to let go (the
#                        JACK process thread, woken, waits at most about this for another thread's Python).
#                        0.25 ms was tried (session 7): the process thread's start p99 read 0.6-0.8 ms in four
#                        full-size runs against 0.75-0.9 at 1 ms: no change measured, so not kept.
T = TypeVar("T")


def started(part: T | None, name: str) -> T:
    """A part :meth:`Daemon.start` builds (the box, its parts, the host, the reload, the health watch).

    Why Optional until then: a daemon is made before its box is read (the CLI, the tests), and
    a failed start shuts down whatever it had built; the main loop, a reload and the status
    run only after a start, so a missing part there is a bug, said plainly.
    """
    if part is None:
        raise RuntimeError(f"the daemon is not started: no {name}")
    return part


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
    """One running box: :meth:`start`, :meth:`run`, :meth:`reload`, :meth:`shutdown` (a context manager too).

    ``engine_factory(box, sample_rate, seed)`` builds the engine (tests pass a
    stand-in); ``server`` and ``client_name`` override the ``[jack]`` table.
    """

    def __init__(self, config: str | Path, *, observers: Sequence[Observer] = (), server: str | None = None,
                 client_name: str | None = None, engine_factory: EngineFactory | None = None) -> None:
        self.config_path = Path(config)
        self.observers = list(observers)
        self._server = server
        self._client_name = client_name
        self._engine_factory = engine_factory
        self.box: BoxConfig | None = None
        self.parts: BoxParts | None = None
        self.host: Host | None = None
        self.graphs: list[GraphIO] = []
        self.reloads = ReloadRecord()
        self.reloading: BoxReload | None = None
        self.offmain = OffMainThread()   # a reload's reading, a learn's writing (service/offmain.py)
        self.model_reloader: ModelReloader | None = None
        self.report: StatusReport | None = None
        self.watch: HealthWatch | None = None
        self.commands: LiveCommands | None = None
        self.learning: Any = None     # MIDI learn (service/learning.py)
        self.recording: Any = None    # recording on the box (service/recording.py)
        self.osc: Any = None          # OSC control, only with [osc] port (service/osc.py)
        self.state = "starting"
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._reload_requested = False
        self._exit_code = 0
        self._closed = False
        self._engine_events = 0

    # the parts tests and tools read by name
    engine = property(lambda self: self.parts.engine if self.parts else None)
    store = property(lambda self: self.parts.store if self.parts else None)
    follower = property(lambda self: self.parts.follower if self.parts else None)
    runtime = property(lambda self: self.parts.mapping if self.parts else None)

    @property
    def last_reload(self) -> dict | None:
        """The mapping's last reload outcome (``{"ok", "message", "at"}``), None before the first."""
        outcome = self.reloads.get("mapping")
        return outcome.to_json() if outcome is not None else None

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
        self._install_signals()  # a SIGHUP or SIGTERM during start-up is deferred, never fatal
        self.box = box = load_box(self.config_path)
        jack_settings = self._jack_settings(box)
        self.host = host = Host(jack_settings)
        rate = server_rate(jack_settings)
        self.parts = parts = assemble(box, rate, seed=box.output.seed, engine_factory=self._engine_factory)
        # time the warm models now, as the worker will run them, not while a JACK client waits for its ports;
        # an auto block multiple starts from the last start's choice (sticky within a band, engine/autoblock.py)
        memory, key = BlockMemory(state_folder()), box_key(box, rate)
        measure_as_worker(parts.engine, jack_settings.worker_rt_priority, memory.recall(key))
        remember_choice(memory, key, parts.engine)
        host.open()  # the client opens only once the models are loaded, warm and timed
        hosted = HostedBox.from_parts(parts)
        # output stages from the current parts: a JACK restart at another rate replaces them (_rate_changed)
        hosted = replace(hosted, stages=self._output_stages)
        self.graphs = hosted.graphs
        mapping = MappingReloader(parts.mapping, box.mapping.path)
        log.info("mapping '%s' from %s: %d rules", box.mapping.mapping.name, box.mapping.path,
                 len(box.mapping.mapping.rules))
        self.model_reloader = ModelReloader(parts.engine, box)
        self.reloading = BoxReload(self.config_path, mapping, host, self.model_reloader, dict(parts.store.graphs),
                                   self.reloads, self.offmain)
        host.on_rate_change = self._rate_changed
        host.start(hosted)
        self._start_services(parts, host, mapping)
        self._tune_runtime(jack_settings)
        if self._stop.is_set():  # asked to stop from another thread while starting
            raise StopDuringStart()
        self.state = "running"
        started(self.watch, "health watch").restart()
        notify(self.observers, lambda o: o.on_ready(self))
        return self

    def _output_stages(self, path: AudioPath) -> list[OutputStageLike]:
        """One output stage per graph for ``path``, from the parts in force (a rate change replaces them)."""
        return list(started(self.parts, "parts").output_stages(path.latency, path.max_period))

    def _start_services(self, parts: BoxParts, host: Host, mapping: MappingReloader) -> None:
        """The optional services, the live commands, the status report and the health watch."""
        self.learning = extras.learning(parts, started(self.reloading, "reload"), self.offmain)
        self.recording = extras.recording(parts, host)
        self.osc, osc_error = extras.osc(parts, host, self.learning)
        self.commands = LiveCommands(parts.mapping, parts.store, host, self.recording)
        reporters = {"learn": self.learning, "record": self.recording,
                     "osc": self.osc or (extras.Unavailable(osc_error) if osc_error else None),
                     **{o.status_key: o for o in self.observers if o.status_key}}
        self.report = StatusReport(lambda: started(self.parts, "parts"), host, started(self.model_reloader, "model reloader"),
                                   self.reloads, lambda: mapping.path,
                                   reporters, lambda: self.state, self.started_at)
        self.watch = HealthWatch(host)

    def _rate_changed(self, rate: int) -> None:
        """Main thread, from the host (worker stopped): JACK came back at another sample rate. The
        engine rebuilds its rate domains around the loaded models; the store, the clock follower
        and the output stages follow the new rate (the clock re-acquires its tempo)."""
        from ravebox.clock.follower import ClockFollower

        parts = started(self.parts, "parts")
        parts.engine.retarget(rate)
        parts.store.sample_rate = rate
        follower = ClockFollower(rate, started(self.box, "box").clock)
        parts.router.follower = follower
        self.parts = replace(parts, sample_rate=rate, follower=follower)   # the output stages read self.parts

    def _jack_settings(self, box: BoxConfig) -> JackSettings:
        """``[jack]`` with the server and client name the caller overrides."""
        jack = box.jack
        return replace(jack, server=jack.server if self._server is None else self._server,
                       client_name=jack.client_name if self._client_name is None else self._client_name)

    def _tune_runtime(self, settings: JackSettings) -> None:
        """Keep Python's pauses off the audio path: short GIL switch interval, frozen gc."""
        sys.setswitchinterval(GIL_SWITCH_S)
        if settings.gc == "default":
            return
        gc.collect()
        if settings.gc == "off":
            gc.disable()
        else:
            gc.freeze()
            gc.set_threshold(50_000, 50, 1000)

    # -- main loop (main thread) -------------------------------------------------------------
    def _main_realtime(self) -> bool:
        """The main loop at the control thread's realtime priority (below JACK's and the worker's).

        Why: the main loop runs Python every 20 ms, so it takes the GIL; at normal priority,
        preempted by the kernel while holding it (on a box whose model fills a core, the other
        core is shared by everything else), it kept the process callback from the GIL past
        its period: xruns (``bench/fullsize.py`` prints the callback's start delay).
        Model loads for a reload run on their own threads (``service/model_reload.py``).
        """
        return self.host is not None and make_realtime(self.host.settings.control_rt_priority, "main thread")

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or :meth:`request_stop`); returns the process exit code."""
        self._install_signals()  # again, in case start() ran on another thread's behalf
        lifted = self._main_realtime()
        try:
            return self._main_loop()
        finally:
            if lifted:  # the calling thread (a test's, say) goes on at normal priority
                make_normal()

    def _main_loop(self) -> int:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self._stop.wait(0.02)
            if self._stop.is_set():
                break
            self._turn()
            if self._reload_requested:
                self._reload_requested = False
                self.offmain.submit(self.prepare_reload, self.apply_reload)   # read off this thread
            self.offmain.poll()
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + 1.0
                self._each_second()
        self.shutdown()
        return self._exit_code

    def _turn(self) -> None:
        """Every loop turn: the host's faults, the engine's news, the services' own work."""
        try:
            started(self.host, "host").poll()
        except Exception:  # noqa: BLE001 - the main loop must outlive any one JACK hiccup
            log.exception("host poll failed; continuing")
        self._log_engine_events()
        for part in (self.learning, self.recording, self.osc):
            try:
                if part is not None:
                    part.poll()
            except Exception:  # noqa: BLE001 - a learn or a take must never stop the box
                log.exception("%s failed; continuing", type(part).__name__)

    def _each_second(self) -> None:
        if started(self.box, "box").mapping.watch:
            started(self.reloading, "reload").watch()
        started(self.watch, "health watch").update()
        notify(self.observers, lambda o: o.on_tick(self))

    def _log_engine_events(self) -> None:
        """Main thread: log what the engine recorded on the worker (mutes, resets, swaps), once each."""
        new, self._engine_events = started(self.parts, "parts").engine.events.since(self._engine_events)
        for text in new:
            (log.error if "muted" in text else log.info)("%s", text)

    def request_stop(self, *args: object) -> None:
        """Any thread or a signal handler: end :meth:`run` (fade, disconnect, exit 0).

        As a signal handler during start-up (model loading can take a minute on a Pi),
        it raises :class:`StopDuringStart` at once: the start is abandoned, never READY.
        """
        self._stop.set()
        if args and self.state == "starting" and threading.current_thread() is threading.main_thread():
            raise StopDuringStart()

    def _install_signals(self) -> None:
        signals.install(self.request_stop, self._on_sighup)

    def _on_sighup(self, *_: object) -> None:
        self._reload_requested = True

    # -- reload (main thread) ------------------------------------------------------------------
    def reload(self) -> dict:
        """Read and apply a reload now, on the calling thread (tests, tools): :meth:`apply_reload`."""
        return self.apply_reload(self.prepare_reload())

    def prepare_reload(self) -> PreparedReload | None:
        """Any thread (the ``ravebox-reload`` thread, a socket thread): read the box and its mapping, once."""
        try:
            return started(self.reloading, "reload").prepare()
        except Exception as exc:  # noqa: BLE001 - reported by apply_reload; the old state keeps playing
            log.error("reload could not read its files: %s: %s", type(exc).__name__, exc)
            return None

    def apply_reload(self, prepared: PreparedReload | None) -> dict:
        """Reload the mapping, the box's connect rules and changed model files (SIGHUP, socket).

        Each part on its own (``service/reloading.py``): a bad mapping keeps the old
        mapping; a bad box config keeps the old rules and models; a changed model file
        is loaded off the audio path and crossfaded in, a failed load keeps the old one.
        Graph shapes and engine settings need a restart. Whatever a part raises, the
        old state keeps playing; the reply says what each part did.
        """
        try:
            if prepared is None:
                raise RuntimeError("the reload could not read its files (see the log)")
            return started(self.reloading, "reload").apply(prepared)
        except Exception as exc:  # noqa: BLE001 - no input file may stop the show
            message = f"reload failed, keeping everything as it was: {type(exc).__name__}: {exc}"
            self.reloads.note("box", False, message)
            return {"ok": False, "error": message, "message": message}

    # -- queries (any thread) --------------------------------------------------------------------
    def status(self) -> dict:
        """A JSON-able snapshot (see ``service/observers.py`` for the keys the tools read)."""
        return self.report.snapshot() if self.report is not None else {"state": self.state}

    def health(self) -> tuple[bool, str]:
        """True only while the process callback advances and the worker makes progress."""
        if self.state != "running" or self.watch is None:
            return False, f"state {self.state}"
        return self.watch.health()

    def debug_hang_worker(self) -> None:
        """Main thread, the watchdog test hook (``$RAVEBOX_DEBUG_HANG_FILE``): hold the worker for good."""
        worker = started(self.host, "host").worker
        if worker is not None:
            worker.paused = True

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
        notify(self.observers[::-1], lambda o: o.on_stopping(self))
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

