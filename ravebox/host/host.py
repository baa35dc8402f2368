"""The JACK host: sessions, audio path, worker, control thread, auto-connect and reconnect.

What it owns and in which order it starts them (and stops them in reverse):
JACK session (ports, callbacks) -> control thread -> inference worker -> activate
-> auto-connect. What it runs -- engine, parameter store, event router (over the
clock follower and mapping), output stages -- comes in one :class:`HostedBox`,
which the composition root (``service/daemon.py``) makes from the assembly's
parts (:meth:`HostedBox.from_parts`); host tests build one around a stand-in
engine. :class:`~ravebox.host.hosted.HostedEngine` is all the host and its
worker ask of an engine (both in :mod:`ravebox.host.hosted`).

Fault handling, all driven by :meth:`Host.poll` on the main thread (never
blocking for long, so signals and the watchdog stay responsive):

- **server lost** (shutdown callback): close the dead session, then try to open
  a new one with backoff (``reconnect_backoff_s``, last value repeated),
  logging each attempt; on success re-register the same ports, continue the
  frame timeline by wall-clock time, re-apply rules and remembered connections;
  a server back at **another sample rate** has the composition root rebuild the
  rate domains (``on_rate_change``) and gets a new audio path and worker;
- **a port appeared, connections changed**: :class:`~ravebox.host.connections.ConnectionFollower`
  re-runs auto-connect (an unplugged controller is reconnected by name when it
  returns), learns the player's own patching and relabels each MIDI input's source;
- **a swapped-in model was timed**: re-size a measured headroom (a new audio path, faded);
- **direct-ALSA inputs** (only with ``[jack] alsa_inputs``): re-scan and
  reopen them (:mod:`ravebox.host.alsa_inputs`), independent of the JACK session.

Why one class of about 540 lines (over the 350 of the house rule): the session,
the audio path, the worker, the headroom and the reconnect state change
together -- a new server may bring a new period or rate, so a new path and
headroom, the same control loop, a worker rebuilt around the retargeted engine;
a re-sized headroom swaps the path under the running worker -- and splitting
them would pass that state back and forth. The jobs that need none of it live
beside it: following connections (``connections.py``), auto-connect rules
(``autoconnect.py``), the headroom policy (``headroom.py``), ALSA inputs, the
session's callbacks (``session.py``), the audio path (``audiopath.py``).

Thread: main thread, except where a method says otherwise.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace

from ravebox.assembly.router import EventRouter
from ravebox.clock.clockout import ClockOut
from ravebox.config.jack import JackSettings, feedback_inputs
from ravebox.host.alsa_inputs import AlsaInputs, FrameStamp
from ravebox.host.audiopath import AudioPath
from ravebox.host.autoconnect import AutoConnector
from ravebox.host.connections import ConnectionFollower
from ravebox.host.control import ControlLoop
from ravebox.host.headroom import SETTLE_BLOCKS, Dropouts, Headroom, choose, follow
from ravebox.host.hosted import HostedBox, HostedEngine, ParserFactory, StagesFactory
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.host.session import Session, open_client
from ravebox.host.startup_timing import measure_as_worker
from ravebox.host.timeline import Timeline
from ravebox.host.worker import InferenceWorker, Progress
from ravebox.params.store import ParamStore

log = logging.getLogger("ravebox.host")


class Host:
    """One ravebox JACK client that survives server restarts. A context manager; ``close()`` is idempotent."""

    def __init__(self, settings: JackSettings, alsa_factory: Callable[[], object] | None = None) -> None:
        self.settings = settings
        self.alsa: AlsaInputs | None = None      # only with [jack] alsa_inputs
        self._alsa_factory = alsa_factory        # an ALSA MidiIn factory (tests inject a fake)
        self._stamp: FrameStamp | None = None
        self.midi_in = MidiRing()
        self.midi_out = ByteRing(slots=1024)
        self.clock_out: ClockOut | None = None   # built once the rate is known; outlives sessions
        self.feedback_inputs = feedback_inputs(settings.midi_inputs, settings.clock_from)
        self.timeline: Timeline | None = None
        self.session: Session | None = None
        self.path: AudioPath | None = None
        self.worker: InferenceWorker | None = None
        self.control: ControlLoop | None = None
        self.connections = ConnectionFollower(settings.connect, settings.midi_inputs, settings.clock_from,
                                              self.feedback_inputs)
        self.headroom: Headroom | None = None
        self.headroom_resizes = 0         # times the headroom was re-sized while playing (a swap, the worker's times)
        self._p99_seen: float | None = None
        self.follow_worker = True         # a measured headroom follows the playing worker's block times
        self._follow_from = SETTLE_BLOCKS  # worker progress at the last headroom change (its times count from there)
        self._late_seen = 0
        self._dropouts = Dropouts()       # late blocks seen while following, grouped (headroom.follow)
        self._retired: list[AudioPath] = []   # paths replaced while running, until no thread can touch them
        self.parallel_graphs = True   # two or more graphs: one worker thread per graph (per core)
        self.reconnects = 0
        self.xruns_before = 0          # xruns of sessions that ended
        self.callback_errors_before = 0
        self.unready_before = 0        # periods the native cycle played silence for, in sessions that ended
        self.midi_lost_before = 0      # MIDI events the native cycle had no room for, in sessions that ended
        self._client = None
        # main thread, worker stopped: (new rate) -> None, rebuilds what depends on the box rate
        # (engine domains, store, clock follower, output stages); None: another rate is refused
        self.on_rate_change: Callable[[int], None] | None = None
        self._new_worker: Callable[[], InferenceWorker] | None = None
        self._path_args: dict = {}
        self._engine: HostedEngine | None = None
        self._stages_factory: StagesFactory | None = None
        self._next_attempt = 0.0
        self._attempt = 0
        self._closed = False

    # -- start-up ------------------------------------------------------------------------
    def open(self) -> tuple[int, int]:
        """Connect to the server; returns ``(sample_rate, period)`` so the engine can be built for them."""
        self._client = open_client(self.settings.client_name, self.settings.server)
        self.timeline = Timeline(self._client.samplerate)
        self.clock_out = ClockOut(self._client.samplerate)
        log.info("connected to JACK as '%s' at %d Hz, period %d", self._client.name,
                 self._client.samplerate, self._client.blocksize)
        return self._client.samplerate, self._client.blocksize

    def start(self, hosted: HostedBox) -> None:
        """Build the audio path, start control thread and worker, activate, auto-connect.

        The output stages are built per audio path (its latency and largest period),
        so a new server with another period gets new ones.
        """
        engine, store, graphs = hosted.engine, hosted.store, hosted.graphs
        router = hosted.router or EventRouter(None, None)
        session = self._session(self._client)
        session.check_rate(hosted.sample_rate, "the models")
        self.headroom = self._headroom(engine, session)
        self._p99_seen = self.headroom.p99_s
        self._engine = engine
        self._path_args = dict(graphs=graphs, sample_rate=session.sample_rate, block=engine.block_size,
                               headroom_periods=self.headroom.periods, engine_latency=engine.latency_frames,
                               late_policy=hosted.late_policy, mute_fade_ms=hosted.mute_fade_ms)
        self._stages_factory = hosted.stages
        self.path = self._new_path(session.period, hosted.stages, store)
        self.path.master.set_target(1.0)
        self.connections.warn_unconnectable_inputs()
        self.control = ControlLoop(self.midi_in, self.midi_out, list(self.settings.midi_inputs),
                                   hosted.parser_factory, router, self.timeline.now, self._publish_clock,
                                   self.settings.control_interval_ms, self.settings.clock_from,
                                   self.settings.midi_thru, self.settings.control_rt_priority)
        self.control.feedback = self._feedback_sender(store, session.sample_rate)
        self.connections.control = self.control
        if router.follower is not None:
            self.path.clock = router.follower.view()
        self._new_worker = lambda: InferenceWorker(lambda: self.path, engine, store, lambda: self.path.clock,
                                                   rt_priority=self.settings.worker_rt_priority,
                                                   parallel_graphs=self.parallel_graphs)
        self.worker = self._new_worker()
        session.bind(self.path)
        self.control.start()
        self.worker.start()
        session.activate()
        self.session = session
        self.connections.autoconnect(session)
        self._start_alsa(session, hosted.parser_factory)
        log.info("running: %d graph(s), engine block %d, latency %d frames (%.1f ms)", len(graphs),
                 self.path.block, self.path.port_latency, 1000.0 * self.path.port_latency / session.sample_rate)

    def _headroom(self, engine: HostedEngine, session: Session) -> Headroom:
        """Main thread, before the worker starts: time the warm models and size the headroom.

        One worker runs the graphs in turn (the block costs the sum of theirs) or, with
        graphs in parallel, one per core (about the slowest graph's).
        """
        lanes = self._lanes(engine)
        p99 = engine.block_p99(lanes)
        if p99 is None:  # the daemon times the models before it opens its client; otherwise now
            measure_as_worker(engine, self.settings.worker_rt_priority)
            p99 = engine.block_p99(lanes)
        headroom = choose(self.settings.headroom_periods, p99, session.period, session.sample_rate,
                          engine.block_size)
        if p99 is not None:
            log.info("measured inference p99 %.1f ms per %.1f ms block; headroom %d period(s) (%s)",
                     1e3 * p99, 1e3 * headroom.block_s, headroom.periods, headroom.source)
        for warning in headroom.warnings():
            log.warning("%s", warning)
        return headroom

    def _feedback_sender(self, store, rate: int):
        """Values back to each controller: ``<input>_feedback`` gets what the rules for that input's device show."""
        from ravebox.mapping.feedback import RESEND_WINDOW_S, FeedbackSender

        inputs = list(self.settings.midi_inputs)
        index = [inputs.index(name) for name in self.feedback_inputs]
        control, ring = self.control, self.midi_out
        return FeedbackSender(store, int(0.01 * rate), lambda out, data: ring.push(0, out + 1, data),
                              lambda: [control.labels[i] for i in index], xruns=lambda: self.xruns,
                              resend_window=int(RESEND_WINDOW_S * rate))

    def _start_alsa(self, session: Session, parser_factory: ParserFactory) -> None:
        """Open the direct-ALSA inputs, if any are configured (none: nothing is created)."""
        if not self.settings.alsa_inputs:
            return
        self._stamp = FrameStamp(self.timeline)
        self._stamp.attach(session.client)
        self.alsa = AlsaInputs(self.settings.alsa_inputs, self._stamp, self._publish_alsa, parser_factory,
                               midi_in_factory=self._alsa_factory, retire=self._retire_alsa)
        self.alsa.scan()

    def _publish_alsa(self, sources: tuple) -> None:
        """Main thread: hand the open ALSA sources to the control loop (one reference assignment)."""
        self.control.alsa_sources = sources

    def _retire_alsa(self, source: tuple) -> None:
        """Main thread: an ALSA port vanished; the control thread releases what it held."""
        control = self.control
        control.post(lambda: control.retire_source(*source))

    def _session(self, client) -> Session:
        """A session with the configured MIDI inputs (the same names after every reconnect)."""
        return Session(client, self.timeline, self.midi_in, self.midi_out, self.settings.midi_inputs,
                       self.clock_out, self.feedback_inputs, self.settings.control_rt_priority)

    def _new_path(self, period: int, stages: StagesFactory | None, store: ParamStore) -> AudioPath:
        path = AudioPath(period=period, **self._path_args)
        path.stages = stages(path) if stages is not None else None
        path.store = store
        return path

    def _publish_clock(self, view) -> None:
        """Control thread: hand a new ClockView to the process callback and worker."""
        self.path.clock = view

    # -- main loop -----------------------------------------------------------------------
    def poll(self) -> None:
        """Main thread, every few tens of ms: reconnect, auto-connect, learn connections, re-scan ALSA."""
        if self.alsa is not None:
            self.alsa.poll()
        session = self.session
        if session is None or session.lost or session.format_changed:
            self._recover()
            return
        self._follow_costs(session)
        self._release_retired()
        self.connections.follow(session)

    def _recover(self) -> None:
        now = time.monotonic()
        if self.session is not None:
            self._drop_session()
        if now < self._next_attempt:
            return
        backoff = self.settings.reconnect_backoff_s
        self._attempt += 1
        try:
            self._reopen()
        except Exception as exc:  # noqa: BLE001 - keep trying; the server may come back
            delay = backoff[min(self._attempt - 1, len(backoff) - 1)]
            self._next_attempt = now + delay
            log.warning("reconnect attempt %d failed: %s; next in %.2f s", self._attempt, exc, delay)
            return
        log.info("reconnected to JACK after %d attempt(s); connections restored", self._attempt)
        self._attempt = 0
        self.reconnects += 1

    def _drop_session(self) -> None:
        session, self.session = self.session, None
        self.connections.connector.forget_declined()
        if self._stamp is not None:
            self._stamp.detach()
        reason = session.lost_reason or ("buffer size or sample rate changed" if session.format_changed else "")
        log.warning("JACK session ended (%s); closing client and reconnecting", reason or "server gone")
        self._count_ended(session)
        try:
            session.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("closing the dead JACK client failed: %s", exc)
        self._next_attempt = time.monotonic() + self.settings.reconnect_backoff_s[0]

    def _reopen(self) -> None:
        client = open_client(self.settings.client_name, self.settings.server)
        session = self._session(client)
        try:
            if session.sample_rate != self._path_args["sample_rate"] and self.on_rate_change is not None:
                self._retarget(session)
            session.check_rate(self._path_args["sample_rate"], "the running engine")
            if session.period != self.path.period:
                log.info("JACK period changed %d -> %d; rebuilding the audio path", self.path.period,
                         session.period)
                old = self.path
                self.path = self._new_path(session.period, self._stages_factory, old.store)
                self.path.clock = old.clock
                self.path.late_blocks = old.late_blocks
                self.path.tap = old.tap      # a recording goes on
                self._retired.append(old)    # closed once the worker is off it
            self.timeline.new_session(session.sample_rate)
            session.bind(self.path)
            session.activate()
        except Exception:
            session.close()
            raise
        self.session = session
        if self._stamp is not None:
            self._stamp.attach(session.client)
        self.connections.autoconnect(session)

    def _retarget(self, session: Session) -> None:
        """Main thread: the server came back at another sample rate. Stop the worker, let the
        composition root rebuild what depends on the rate (``on_rate_change``), then build the
        clock out, headroom, audio path and worker for it; the caller binds and activates."""
        rate, was = session.sample_rate, self._path_args["sample_rate"]
        log.warning("JACK now runs at %d Hz (was %d Hz): rebuilding the rate domains", rate, was)
        self.worker.stop()
        engine, old = self._engine, self.path
        assert engine is not None   # set by start()
        self.on_rate_change(rate)
        self.clock_out = session.clock_out = ClockOut(rate)
        self.headroom = self._headroom(engine, session)
        self._p99_seen = self.headroom.p99_s
        self._path_args.update(sample_rate=rate, block=engine.block_size, headroom_periods=self.headroom.periods,
                               engine_latency=engine.latency_frames)
        self.path = self._new_path(session.period, self._stages_factory, old.store)
        self.path.clock = old.clock          # the control thread publishes the new follower's views
        self.path.late_blocks = old.late_blocks
        self.path.master.set_target(1.0)
        self.control.feedback = self._feedback_sender(old.store, rate)
        self.worker = self._new_worker()
        self._follow_from = SETTLE_BLOCKS
        self.worker.start()
        log.info("rebuilt for %d Hz: engine block %d, latency %d frames (%.1f ms)", rate, self.path.block,
                 self.path.port_latency, 1000.0 * self.path.port_latency / rate)

    # -- headroom while playing (main thread) -------------------------------------------------
    def _follow_costs(self, session: Session) -> None:
        """Re-size a measured headroom to what the playing worker needs (``headroom.follow``), or
        after a swapped-in model was timed (``Engine.prepare_swap``)."""
        self._follow_swap(session)
        worker, headroom = self.worker, self.headroom
        if not self.follow_worker or worker is None or headroom is None or worker.progress <= self._follow_from:
            self._late_seen = self.path.late_blocks   # a settling worker's late blocks are not followed either
            return
        self._dropouts.note(worker.progress, self.path.late_blocks - self._late_seen)
        self._late_seen = self.path.late_blocks
        wanted = follow(headroom, worker.times_since(self._follow_from), self._dropouts.recent(worker.progress))
        if wanted.periods != headroom.periods:
            self._resize_headroom(session, wanted, "the worker's block times")
        else:
            self.headroom = wanted

    def _follow_swap(self, session: Session) -> None:
        """A swapped-in model was timed (``Engine.prepare_swap``): re-size a measured headroom.

        More periods as soon as the new p99 needs them (else every block would be late);
        fewer only when it needs at most half as many (a swap's timing runs beside the
        playing worker and reads high, so small decreases are noise, not worth a cut).
        """
        engine = self._engine
        if engine is None or self.headroom is None or self.headroom.source == "box":
            return
        p99 = engine.block_p99(self._lanes(engine))
        if p99 is None or p99 == self._p99_seen:
            return
        self._p99_seen = p99
        wanted = choose(None, p99, self.path.period, self.path.sample_rate, engine.block_size)
        if wanted.periods > self.headroom.periods or 2 * wanted.periods <= self.headroom.periods:
            self._resize_headroom(session, wanted, "a model swap")

    def _release_retired(self) -> None:
        """Main thread: close and drop the paths a re-size replaced, once no thread can touch them.

        Why: each holds its rings and a wake pipe (two fds); kept until the host closed, a
        headroom that follows the worker on a busy machine (a re-size every minute or so)
        grew the daemon without bound. Safe when the process callback has run two cycles on
        the current path (so none on an old one is in flight) and the worker has drained the
        current one (it takes the newest path on every turn, so it never returns to an old one).
        """
        path, worker = self.path, self.worker
        if not self._retired or path is None or path.cycles < 2:
            return
        if worker is not None and not worker.drained(path):
            return
        for old in self._retired:
            old.close()
        self._retired.clear()

    def _resize_headroom(self, session: Session, headroom: Headroom, why: str, fade_ms: float = 10.0) -> None:
        """Main thread: play a new audio path with ``headroom`` (fade out, switch, fade in).

        Why a new path: the headroom sets where each block's wet output plays, so a change
        shifts the output in time (a gap or a cut of the difference); the fade keeps that
        from clicking. The rings start empty, so the first blocks would play the late
        fallback and then step to wet: the new path stays silent until its own wet plays,
        then fades in (``AudioPath.fade_in_on_wet``) -- a gap of about one latency."""
        old = self.path
        self._path_args["headroom_periods"] = headroom.periods
        new = self._new_path(old.period, self._stages_factory, old.store)
        new.clock, new.late_blocks, new.tap = old.clock, old.late_blocks, old.tap
        for was, now in zip(old.mutes, new.mutes):
            now.gain = now.target = was.target
        new.fade_in_on_wet(fade_ms)   # silent until its own wet plays (its rings start empty), then a fade in
        old.master.set_target(0.0, fade_ms, old.sample_rate)
        deadline = time.monotonic() + 1.0    # a bound for a stalled callback; 10 ms of audio normally
        while not old.master.settled and time.monotonic() < deadline:
            time.sleep(0.002)
        self.path = new
        session.use_path(new)
        self._retired.append(old)
        log.info("headroom re-sized after %s: %d -> %d period(s) (p99 %.1f ms per block); latency %d frames",
                 why, self.headroom.periods, headroom.periods, 1e3 * (headroom.tail_s or 0.0), new.port_latency)
        self.headroom = headroom
        self.headroom_resizes += 1
        self._follow_from = self.worker.progress if self.worker is not None else 0
        self._late_seen = new.late_blocks
        self._dropouts.clear()

    def set_connect_rules(self, rules: tuple) -> bool:
        """Main thread (reload): new ``[[jack.connect]]`` rules, applied at the next poll; False if unchanged."""
        rules = tuple(rules)
        if not self.connections.set_rules(rules):
            return False
        self.settings = replace(self.settings, connect=rules)
        if self.session is not None:
            self.session.ports_changed = True  # the main loop re-applies them at once
        log.info("connect rules reloaded: %d rule(s)", len(rules))
        return True

    def on_control(self, fn: Callable[[], object], timeout: float = 1.0) -> object:
        """Main thread: run ``fn`` on the control thread (the parameter store's one writer); its result."""
        return self.control.call(fn, timeout)

    def post_control(self, fn: Callable[[], object]) -> None:
        """Any thread: queue ``fn`` for the control thread without waiting."""
        self.control.post(fn)

    def unmute(self) -> None:
        """Main thread (panic): let graphs the worker muted after an exception play again."""
        self.worker.unmute(self.path)

    # -- queries (any thread) --------------------------------------------------------------
    def status(self) -> dict[str, object]:
        """Any thread: the host's own status -- JACK (server, rate, period, connection, callback times),
        latency, late blocks, xruns, each graph's ports and safety counters -- with its control loop's,
        worker's and direct-ALSA inputs' own. Plain values read once; no locks."""
        path, session, control, worker = self.path, self.session, self.control, self.worker
        if path is None:
            return {}
        headroom = self.headroom_now()
        return {
            "jack": {"server": self.settings.server or os.environ.get("JACK_DEFAULT_SERVER") or "default",
                     "client": self.settings.client_name, "sample_rate": path.sample_rate, "period": path.period,
                     "connected": self.connected, "reconnects": self.reconnects,
                     "callback_max_ms": round(1000.0 * session.callback_max_s, 3) if session else None,
                     "callback_mean_ms": round(1000.0 * session.callback_total_s / max(1, path.cycles), 3)
                     if session else None,
                     "callback": session.cycle_times.to_json(path.period / path.sample_rate) if session else None},
            "latency": {"frames": path.port_latency, "ms": round(1000.0 * path.port_latency / path.sample_rate, 2),
                        "block": path.block, "period": path.period, "resizes": self.headroom_resizes,
                        **({"headroom": headroom.to_json()} if headroom else {})},
            "warnings": headroom.warnings() if headroom else [],
            "late_blocks": path.late_blocks, "xruns": self.xruns, "unready_cycles": self.unready_cycles,
            "cycles": path.cycles,
            "midi_dropped": self.midi_in.dropped + self.midi_in.oversized + self.midi_lost_before
            + (session.midi_lost if session else 0),
            "graphs": {g.name: {"inputs": g.inputs, "outputs": g.outputs,
                                **({"safety": stage.counters()} if stage is not None else {})}
                       for g, stage in zip(path.graphs, path.stages or [None] * len(path.graphs))},
            "control": control.status() if control else {},
            "worker": worker.status() if worker else {},
            "alsa_inputs": self.alsa.status() if self.alsa is not None else None,
        }

    def progress(self) -> Progress:
        """Any thread, for the health watch (``service/health.py``): callback cycles, blocks the worker
        finished and those committed in time, the last finished block's duration, the engine block in
        seconds, and whether the server is connected."""
        path, worker = self.path, self.worker
        cycles = path.cycles if path else 0
        block_s = path.block / path.sample_rate if path else 0.0
        if worker is None:
            return Progress(cycles, 0, 0, 0.0, block_s, self.connected)
        return Progress(cycles, worker.progress, worker.on_time, worker.last_block_s(), block_s, self.connected)

    def headroom_now(self) -> Headroom | None:
        """The headroom in force, judged by the latest measured costs (a hot swap re-measures its model)."""
        engine = self._engine
        p99 = engine.block_p99(self._lanes(engine)) if engine is not None else None
        if self.headroom is None or p99 is None:
            return self.headroom
        return replace(self.headroom, p99_s=p99)

    def _lanes(self, engine: HostedEngine) -> int:
        return engine.parallel_lanes if self.parallel_graphs else 1

    @property
    def connector(self) -> AutoConnector:
        """The connect rules and the connections it remembers (tests read what it learned)."""
        return self.connections.connector

    @property
    def connected(self) -> bool:
        return self.session is not None and not self.session.lost

    @property
    def xruns(self) -> int:
        return self.xruns_before + (self.session.xruns if self.session else 0)

    @property
    def unready_cycles(self) -> int:
        """Periods ravebox's ports played silence because the cycle thread had not finished their output
        (:mod:`ravebox.host.nativecycle`): ravebox's own dropouts, where an xrun is the whole graph's."""
        return self.unready_before + (self.session.unready_cycles if self.session else 0)

    def _count_ended(self, session: Session) -> None:
        self.xruns_before += session.xruns
        self.callback_errors_before += session.callback_errors
        self.unready_before += session.unready_cycles
        self.midi_lost_before += session.midi_lost

    def now(self) -> int:
        return self.timeline.now() if self.timeline else 0

    # -- shutdown --------------------------------------------------------------------------
    def fade_out(self, ms: float, timeout: float = 0.05) -> bool:
        """Main thread: ramp every output to silence over ``ms``; True once silent (waits <= timeout)."""
        path = self.path
        if path is None or not self.connected:
            return True
        path.cancel_fade_in()
        path.master.set_target(0.0, ms, path.sample_rate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.master.settled:
                return True
            time.sleep(0.002)
        return path.master.settled

    def close(self) -> None:
        """Stop threads and close the client, in reverse start order (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.alsa is not None:
            self.alsa.close()
        if self._stamp is not None:
            self._stamp.detach()
        session, self.session = self.session, None
        if session is not None:
            self._count_ended(session)
            try:
                session.close()
            except Exception as exc:  # noqa: BLE001
                log.warning("closing JACK client failed: %s", exc)
        elif self._client is not None:
            self._client.close()
        for part in (self.worker, self.control):
            if part is not None:
                part.stop()
        for path in (*self._retired, self.path):
            if path is not None:
                path.close()

    def __enter__(self) -> "Host":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
