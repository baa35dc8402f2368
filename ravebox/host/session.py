"""One connection to a JACK server: the ``jack.Client``, ravebox's ports and its callbacks.

A session lives from ``jack_client_open`` to ``close()``; when the server dies
the main thread throws the session away and opens a new one (see
:mod:`ravebox.host.host`). Rings, engine and timeline outlive sessions.

Ports (short names): ``<graph>_in_<n>`` and ``<graph>_out_<n>`` per graph,
the MIDI inputs named by ``[jack] midi_inputs`` (default ``midi_in`` for
controllers and ``clock_in`` for MIDI clock; the index in that list is the
port index in the MIDI ring), ``midi_out`` (thru), ``<input>_feedback`` per controller
input (values sent back to that controller, see :mod:`ravebox.mapping.feedback`) and ``clock_out``
(MIDI clock from the published ClockView, see :mod:`ravebox.clock.clockout`).

Threads:
- the JACK process thread is C where it can be had (:mod:`ravebox.host.nativecycle`): it
  plays the output staged for the cycle, keeps the cycle's input and MIDI in a slot and
  signals; the Python **cycle thread** then runs :meth:`_native_work` on that slot: it
  stamps the MIDI with absolute frames into the MIDI ring, runs :meth:`AudioPath.cycle`
  for the next cycle and stages that cycle's queued MIDI and clock out. No locks, no
  logging, no model calls on either; an exception is counted and swallowed.
- the fallback, a Python process thread (:mod:`ravebox.host.processthread`), runs each
  cycle in two halves: :meth:`_deadline`, before JACK is told the cycle is done, only
  copies (MIDI in, queued MIDI and this cycle's clock out, the output computed in the
  previous cycle, this cycle's input); :meth:`_after` runs :meth:`AudioPath.cycle` on
  that input for the next cycle. Told to end (:meth:`close`), either thread plays what
  was computed, then silences its outputs and returns: libjack's thread then exits
  outside Python (see :mod:`ravebox.host.jackstop` for why it must not be cancelled
  inside). Where libjack's process-thread calls cannot be had, JACK calls
  :meth:`_process` (both halves) as a callback, which ends with ``jack.CallbackExit``.
- the shutdown, xrun, port-registration and port-connect callbacks run on
  JACK notification threads and only set flags, bump counters or append to a
  deque; the main thread acts on them (re-runs auto-connect when
  ``ports_changed``, recomputes MIDI source labels when ``connections_changed``).
- everything else runs on the main thread.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from time import monotonic_ns, perf_counter, thread_time

import jack

from ravebox.clock.clockout import ClockOut
from ravebox.config.jack import CLOCK_OUTPUT, DEFAULT_MIDI_INPUTS, FEEDBACK_SUFFIX, MIDI_OUTPUT
from ravebox.errors import HostError
from ravebox.host import jackmessages, jackstop
from ravebox.host.cycletimes import CycleTimes
from ravebox.host.audiopath import AudioPath, GraphIO
from ravebox.host.latency import LatencyReporter
from ravebox.host.nativecycle import NativeCycle
from ravebox.host.portio import AudioPorts, CycleFrames, MidiInputs, MidiOutputs
from ravebox.host.processthread import ProcessThread
from ravebox.host.rtprio import make_realtime
from ravebox.host.rings import ByteRing, MidiRing
from ravebox.host.staging import StagedPeriod
from ravebox.host.timeline import Timeline

log = logging.getLogger("ravebox.host")


@functools.lru_cache(maxsize=None)
def _say_once(message: str) -> None:
    log.info(message)


def open_client(name: str, server: str = "") -> jack.Client:
    """Main thread: connect to a running server (never start one); HostError if none answers.

    libjack's own complaints go to DEBUG (:mod:`ravebox.host.jackmessages`); the HostError is the one line.
    """
    jackmessages.silence()
    try:
        return jack.Client(name, no_start_server=True, servername=server or None)
    except jack.JackError as exc:
        for line in jackmessages.recent():
            log.debug("libjack: %s", line)
        where = f"JACK server '{server}'" if server else "the default JACK server"
        raise HostError(f"cannot connect to {where}: {exc}") from exc


def port_names(graphs: list[GraphIO]) -> tuple[list[list[str]], list[list[str]]]:
    """Short names of each graph's input and output audio ports."""
    ins = [[f"{g.name}_in_{c + 1}" for c in range(g.inputs)] for g in graphs]
    outs = [[f"{g.name}_out_{c + 1}" for c in range(g.outputs)] for g in graphs]
    return ins, outs


class Session:
    """An open JACK client with ravebox's ports registered and its callbacks set.

    ``client`` is opened by the caller (to learn rate and period first, so the
    engine can be built for them); :meth:`bind` registers ports and callbacks,
    :meth:`activate` starts processing. ``close()`` is idempotent.
    """

    def __init__(self, client: jack.Client, timeline: Timeline, midi_in: MidiRing, midi_out: ByteRing,
                 midi_inputs: Sequence[str] = DEFAULT_MIDI_INPUTS, clock_out: ClockOut | None = None,
                 feedback_inputs: Sequence[str] = (), notify_rt_priority: int = 0) -> None:
        """``notify_rt_priority``: SCHED_FIFO priority libjack's notification thread takes on its
        first callback (0: left as libjack made it; see :meth:`_notified`)."""
        self.client = client
        self._frames = CycleFrames(client)   # the cycle's frame times, read in the process callback
        self._notify_rt_priority = notify_rt_priority
        self._notify_thread: int | None = None
        self._process_tid: int | None = None   # the Python process thread's native id, noted (and its
        #                                        scheduling checked) in its first cycle
        self.midi_inputs = tuple(midi_inputs)  # short names; position = port index in the MIDI ring
        self.name = client.name
        self.sample_rate = client.samplerate
        self.period = client.blocksize
        self.timeline = timeline
        self.midi_in = midi_in
        self.midi_out = midi_out
        self.clock_out = clock_out         # outlives sessions (it keeps the tick count), like the rings
        self.feedback_inputs = tuple(feedback_inputs)   # ring port index i + 1 -> "<input>_feedback"
        self.path: AudioPath | None = None
        self.lost = False                  # set by the shutdown callback
        self.lost_reason = ""
        self.format_changed = False        # buffer size or sample rate changed under us
        self.xruns = 0
        self.callback_errors = 0
        self.callback_max_s = 0.0          # longest process callback so far (seconds)
        self.callback_total_s = 0.0
        self.cycle_times = CycleTimes()    # when in its period the callback starts, how long it runs
        self.ports_changed = True          # a port came or went: the main thread re-runs auto-connect
        self.connections_changed = True    # a connection or port came or went: the main thread relabels sources
        self.connection_events: collections.deque = collections.deque(maxlen=1024)
        self.vanished_ports: collections.deque = collections.deque(maxlen=1024)   # names of ports unregistered
        self._in_ports: list[list[jack.OwnPort]] = []
        self._out_ports: list[list[jack.OwnPort]] = []
        self._in_arrays: list[list] = []
        self._out_arrays: list[list] = []
        self._midi_ports: list[jack.OwnMidiPort] = []
        self._midi_sources: MidiInputs | None = None
        self._midi_out_port: jack.OwnMidiPort | None = None
        self._out_ports_by_index: tuple[jack.OwnMidiPort, ...] = ()   # midi_out, then each feedback port
        self._clock_port: jack.OwnMidiPort | None = None
        self._clock_emit: Callable[[int, bytes | bytearray], object] | None = None   # the clock port's writer
        self._midi_outs: MidiOutputs | None = None
        self._audio: AudioPorts | None = None
        self._latency: LatencyReporter | None = None
        self._started: AudioPath | None = None   # the path the callback started (start_at) last
        self._active = False
        self._closed = False
        self._ending = False               # close(): the process thread's next cycles are its last
        self._staged: StagedPeriod | None = None   # this cycle's input and the next cycle's output
        self._cycle: tuple[int, int] | None = None   # (frame, n) of the cycle whose output _after computes
        self._native: NativeCycle | None = None      # the C process thread and the Python cycle thread
        self._thread: ProcessThread | None = None    # else the Python process thread; neither: a callback
        self._native_clock_emit: Callable[[int, bytes | bytearray], object] | None = None
        self._ended_tid: int | None = None  # the process thread's native id, set in that last cycle

    # -- main thread -----------------------------------------------------------------
    def check_rate(self, expected: int, what: str) -> None:
        """HostError with both rates when the server's rate is not the models' rate."""
        if self.sample_rate != expected:
            raise HostError(f"JACK runs at {self.sample_rate} Hz but {what} needs {expected} Hz; "
                            f"restart jackd with -r {expected} or use models trained at {self.sample_rate} Hz")

    def bind(self, path: AudioPath) -> None:
        """Register every port and callback for ``path``'s graphs (before :meth:`activate`)."""
        self.path = path
        ins, outs = port_names(path.graphs)
        self._in_ports = [[self.client.inports.register(n) for n in names] for names in ins]
        self._out_ports = [[self.client.outports.register(n) for n in names] for names in outs]
        self._in_arrays = [[None] * len(p) for p in self._in_ports]
        self._out_arrays = [[None] * len(p) for p in self._out_ports]
        # the process callback fills each slot from its port's buffer, one flat walk per cycle
        self._audio = AudioPorts((arrays, c, port)
                                 for ports, lists in ((self._in_ports, self._in_arrays), (self._out_ports, self._out_arrays))
                                 for g_ports, arrays in zip(ports, lists) for c, port in enumerate(g_ports))
        self._midi_ports = [self.client.midi_inports.register(n) for n in self.midi_inputs]
        self._midi_sources = MidiInputs(tuple(enumerate(self._midi_ports)))   # (ring index, port), never rebuilt
        self._midi_out_port = self.client.midi_outports.register(MIDI_OUTPUT)
        feedback = [self.client.midi_outports.register(n + FEEDBACK_SUFFIX) for n in self.feedback_inputs]
        self._out_ports_by_index = (self._midi_out_port, *feedback)
        self._clock_port = self.client.midi_outports.register(CLOCK_OUTPUT)
        # every MIDI output's buffer is cleared each cycle (the clock's too: its events follow the audio)
        self._midi_outs = MidiOutputs((*self._out_ports_by_index, self._clock_port))
        self._clock_emit = functools.partial(self._midi_outs.write, len(self._out_ports_by_index))
        self._staged = StagedPeriod([len(p) for p in self._in_ports], [len(p) for p in self._out_ports])
        self._latency = LatencyReporter(self.client, list(zip(self._in_ports, self._out_ports)),
                                        lambda: self.path.port_latency)
        self._latency.install()
        self._install_process_thread()
        self.client.set_shutdown_callback(self._on_shutdown)
        self.client.set_xrun_callback(self._on_xrun)
        self.client.set_blocksize_callback(self._on_blocksize)
        self.client.set_samplerate_callback(self._on_samplerate)
        self.client.set_port_registration_callback(self._on_port_registration, only_available=False)
        self.client.set_port_connect_callback(self._on_port_connect, only_available=False)

    def _install_process_thread(self) -> None:
        """Main thread, in :meth:`bind`: the native cycle where it can be had, else the Python process
        thread, else a process callback (module docstring)."""
        why = NativeCycle.unavailable(self.client)
        if not why:
            midi_outs = (*self._out_ports_by_index, self._clock_port)
            self._native = NativeCycle(
                self.client, [p for ports in self._in_ports for p in ports],
                [p for ports in self._out_ports for p in ports], self._midi_ports, midi_outs,
                ([len(p) for p in self._in_ports], [len(p) for p in self._out_ports]),
                self._native_work, self._count_error, self._notify_rt_priority)
            self._native_clock_emit = functools.partial(self._native.write_midi, len(self._out_ports_by_index))
            self._native.install()
            return
        _say_once(f"the JACK cycle runs in Python ({why})")
        if ProcessThread.available(self.client):
            self._thread = ProcessThread(self.client, self._deadline, self._after, self._count_error)
            self._thread.install()
        else:
            self.client.set_process_callback(self._process)

    @property
    def process_tid(self) -> int | None:
        """The JACK process thread's native id, once it ran a cycle."""
        return self._native.tid if self._native is not None else self._process_tid

    @property
    def cycle_tid(self) -> int | None:
        """The Python cycle thread's native id (the native cycle only)."""
        return self._native.cycle_tid if self._native is not None else None

    @property
    def midi_lost(self) -> int:
        """MIDI events the native cycle had no room for (a slot's or JACK's buffer full)."""
        return self._native.midi_lost if self._native is not None else 0

    @property
    def unready_cycles(self) -> int:
        """Periods the native cycle played silence for: the cycle thread had not finished their output."""
        return self._native.unready if self._native is not None else 0

    def use_path(self, path: AudioPath) -> None:
        """Main thread: the process callback plays ``path`` from its next cycle (same graphs and
        ports; another headroom), and JACK is told the new latency."""
        self.path = path
        if self._active:
            self._latency.recompute()

    def activate(self) -> None:
        self.client.activate()
        self._active = True
        self.client.get_ports()  # let JACK-Client know existing ports (see its registration callback notes)
        self._latency.recompute()

    def own_ports(self) -> list[jack.Port]:
        """Every port of ours: audio ins, audio outs, MIDI ins, MIDI out, clock out."""
        flat = [p for ports in self._in_ports + self._out_ports for p in ports]
        outs = [*self._out_ports_by_index, *([self._clock_port] if self._clock_port else [])]
        return flat + self._midi_ports + outs

    def close(self) -> None:
        """Deactivate and close the client (safe after the server died; idempotent).

        The JACK threads leave Python first (:mod:`ravebox.host.jackstop`): libjack cancels them
        asynchronously, and one cancelled inside Python takes the GIL with it (the whole process hangs).
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._active and not self.lost:
                self._leave_python()
                self.client.deactivate()
        finally:
            try:
                self.client.close()
            finally:
                if self._native is not None:   # its C thread is gone with the client
                    self._native.close()

    def _leave_python(self) -> None:
        """Main thread: the process thread ends itself; the notification thread is back in libjack."""
        self._ending = True
        wait = jackstop.LEAVE_PYTHON_S
        if self._native is not None:
            ended = self._native.stop(wait)
        else:
            ended = jackstop.wait_until(lambda: jackstop.ended(self._ended_tid), wait)
        if not ended:
            log.warning("the JACK process thread did not end within %g s; deactivating anyway", wait)
        notify = self._notify_thread
        if notify is not None and not jackstop.wait_until(lambda: jackstop.outside_python(notify), wait):
            log.warning("the JACK notification thread stayed in Python for %g s; closing anyway", wait)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- JACK process thread -----------------------------------------------------------
    def _process(self, n: int) -> None:
        """Process thread, where JACK calls a callback (no process thread to be had, bench/callback.py):
        both halves of the cycle in one call. Never raises, but on purpose in its last cycle (:meth:`close`)."""
        if not self._deadline(n):
            raise jack.CallbackExit
        self._after()

    def _deadline(self, n: int) -> bool:
        """Process thread, before JACK is told the cycle is done: copies only. Stamp incoming MIDI, send queued
        MIDI and this cycle's clock, play the output the previous cycle computed and keep this cycle's input
        for :meth:`_after`. False: the last cycle (:meth:`close`); never raises."""
        if self._ending:
            return self._ending_cycle(n)
        if self._process_tid is None:
            self._process_tid = threading.get_native_id()
            self._above_own_threads()
        t0, c0 = perf_counter(), thread_time()
        late = self._frames.since_start()   # wake-up and GIL wait, in frames
        try:
            frame = self.timeline.on_cycle(self._frames.last_frame_time(), n)
            self._midi_sources.read_into(self.midi_in, frame, n)
            self._midi_outs.clear(n)
            if self.midi_out.head != self.midi_out.tail:
                self._send_midi(self._midi_outs.write)
            self._audio.fetch(n)
            self._staged.swap(n, self._in_arrays, self._out_arrays)
            self._cycle = (frame, n)
            if self.clock_out is not None:
                self.clock_out.cycle(frame, n, self.path.clock, self._clock_emit)
        except Exception:  # noqa: BLE001 - see module docstring
            self.callback_errors += 1
            self._cycle = None
            self._staged.silence()   # the next cycle plays silence, not this period's output again
        spent = perf_counter() - t0
        if spent > self.callback_max_s:
            self.callback_max_s = spent
        self.callback_total_s += spent
        self.cycle_times.record(late / self.sample_rate, spent, thread_time() - c0)
        return True

    def _after(self) -> None:
        """Process thread, after JACK was told the cycle is done: the audio path computes the output the next
        cycle plays, from this cycle's input (one period of latency more, declared; gates and parameters are
        evaluated at the frames where it will play). Never raises."""
        cycle, self._cycle = self._cycle, None
        if cycle is not None:
            frame, n = cycle
            self._compute(frame, n, *self._staged.views(n))

    def _compute(self, frame: int, n: int, ins: list[list], outs: list[list]) -> None:
        """Process or cycle thread: the audio path writes into ``outs`` the output the next cycle plays,
        from this cycle's ``ins``. Never raises: a failure is counted and plays silence."""
        t0, c0 = perf_counter(), thread_time()
        try:
            path = self.path
            if self._started is not path:     # the first cycle, or a new path (``use_path``)
                path.start_at(frame)
                self._started = path
            elif frame > path.written:
                path.gap(frame)
            elif frame < path.written:
                path.start_at(frame)
            path.cycle(frame, n, ins, outs, plays_at=frame + n)
        except Exception:  # noqa: BLE001 - see module docstring
            self.callback_errors += 1
            for rows in outs:
                for row in rows:
                    row.fill(0.0)
        self.cycle_times.record_after(perf_counter() - t0, thread_time() - c0)

    def _native_work(self, cycle: NativeCycle) -> None:
        """Cycle thread, once per cycle the C thread signalled (:mod:`ravebox.host.nativecycle`): what
        :meth:`_deadline` and :meth:`_after` do on the Python process thread, from the cycle's slot. MIDI
        out (queued and the clock's) goes into the next cycle's slot, timed within that cycle, as its audio.
        """
        n = cycle.n
        frame = self.timeline.on_cycle(cycle.jack_frame, n)
        self.cycle_times.record(cycle.late_frames / self.sample_rate, cycle.run_s, cycle.cpu_s)
        if cycle.run_s > self.callback_max_s:
            self.callback_max_s = cycle.run_s
        self.callback_total_s += cycle.run_s
        cycle.read_midi(self.midi_in.push, frame)
        if self.midi_out.head != self.midi_out.tail:
            self._send_midi(cycle.write_midi)
        if self.clock_out is not None:
            self.clock_out.cycle(frame + n, n, self.path.clock, self._native_clock_emit)
        self._compute(frame, n, *cycle.views())
        self.cycle_times.record_ready(cycle.late_frames / self.sample_rate
                                      + (monotonic_ns() - cycle.started_ns) * 1e-9)

    def _count_error(self) -> None:
        """Process thread: an exception that escaped a half of the cycle (each catches its own)."""
        self.callback_errors += 1

    def _above_own_threads(self) -> None:
        """Process thread, first cycle: a JACK that is not realtime (no ``-R``) leaves this thread at normal
        scheduling, below the daemon's own realtime threads (worker, control, notification: SCHED_FIFO up to
        ``notify_rt_priority``), which then preempt the audio for the length of a model call. Lift it just
        above them; a realtime JACK's own priority (its ``-P`` minus 5 or so) is left alone."""
        if self._notify_rt_priority > 0 and sys.platform == "linux" and os.sched_getscheduler(0) == os.SCHED_OTHER:
            make_realtime(self._notify_rt_priority + 1, "JACK process thread", quiet=True)

    def _ending_cycle(self, n: int) -> bool:
        """Process thread, told to end: the first such cycle plays what the previous one computed (the end
        of a fade-out), the next silences every output and ends the thread (False)."""
        self._audio.fetch(n)
        self._midi_outs.clear(n)
        if not self._staged.drained:
            self._staged.swap(n, self._in_arrays, self._out_arrays)
            self._staged.drained = True
            return True
        for ports in self._out_arrays:
            for arr in ports:
                arr.fill(0.0)
        self._ended_tid = threading.get_native_id()
        return False

    def _send_midi(self, write: Callable[[int, int, memoryview], bool]) -> None:
        """Process or cycle thread: the queued outgoing MIDI at offset 0 (buffers cleared by the caller)."""
        ports = len(self._out_ports_by_index)
        out = self.midi_out
        view = out.peek_view()
        while view is not None:
            index = out.peek_port()
            if index < ports and not write(index, 0, view):
                break  # buffer full: the rest goes next cycle
            out.advance()
            view = out.peek_view()

    # -- JACK notification threads -----------------------------------------------------
    def _notified(self) -> None:
        """Notification thread, on every callback: on the first, take ``notify_rt_priority``.

        Why: each callback runs Python, so it holds the GIL; a thread of normal priority
        that the kernel preempts while holding it (a busy box: a model block fills a
        core) keeps the process callback waiting for the GIL past its period -- an xrun,
        whose own notification then does the same. At the control thread's realtime
        priority (below JACK's) it runs its few lines and lets go.

        Called only by the callbacks libjack runs on its notification thread (shutdown, xrun,
        port registration and connection): it also calls the sample-rate callback on the thread
        that sets it (``bind``) and the buffer-size callback on the process thread as it starts,
        and either, taken for the notification thread, left the real one at normal priority (and
        :meth:`close` watching the wrong thread).
        """
        if self._notify_thread is None:
            self._notify_thread = threading.get_native_id()
            make_realtime(self._notify_rt_priority, "JACK notification thread")

    def _on_shutdown(self, status: jack.Status, reason: str) -> None:
        self._notified()
        self.lost_reason = reason
        self.lost = True

    def _on_xrun(self, delayed_usecs: float) -> None:
        self._notified()
        self.xruns += 1

    def _on_blocksize(self, blocksize: int) -> None:
        if self._active and blocksize != self.period:
            self.format_changed = True

    def _on_samplerate(self, samplerate: int) -> None:
        if self._active and samplerate != self.sample_rate:
            self.format_changed = True

    def _on_port_registration(self, port: jack.Port | None, register: bool) -> None:
        self._notified()
        self.ports_changed = True  # a port gone matters too: a declined pair is released (autoconnect)
        if not register and port is not None:   # JACK notifies a port's disconnects before its unregistration
            try:
                self.vanished_ports.append(port.name)
            except jack.JackError:
                pass
        self.connections_changed = True

    def _on_port_connect(self, a: jack.Port | None, b: jack.Port | None, connect: bool) -> None:
        self._notified()
        self.connection_events.append((a.name if a else None, b.name if b else None, connect))
        self.connections_changed = True
