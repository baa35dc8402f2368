"""The JACK cycle in two threads: a C thread meets the deadline, a Python thread does the work.

Why: with the Python process thread (:mod:`ravebox.host.processthread`) the copies
before ``jack_cycle_signal`` are few, but they are Python, so the thread must take
the GIL first -- and the inference worker holds the GIL between its torch calls
(a full-size model's glue runs cache-cold, tens of microseconds per call), as do
the control and main loops. So the deadline half waited for other threads'
Python now and then, and jackd blamed ravebox "still running" more often than a
bare client (docs/dedicated-box.md: 211 vs 123 over eight 300-s runs; a bare
client merely hosting the model's work in its process read 12 vs 5). The brief's
rule says it outright: the callback never takes a lock that inference holds.

Here JACK's process thread is C (``native/rtcycle.c``, built by
:mod:`ravebox.host.nativebuild`) and never enters Python: each cycle it plays the
output staged for it, keeps this cycle's audio and MIDI input in one slot of a ring of
:data:`SLOTS`, signals JACK and wakes the **cycle thread**. That Python thread
(SCHED_FIFO just below JACK's thread, above ravebox's own) runs ``work`` for the
cycle: it reads the slot's input and writes the next cycle's output slot (audio and
MIDI), which it then publishes. So the work has the whole period to the next
cycle's start, as it had after the signal on the Python process thread, and the
latency is the same (one period more than a callback, declared to JACK). An output
not ready when its cycle starts is waited for, on a semaphore, until half of that
cycle's period has passed (:data:`WAIT_PERMILLE`): the Python process thread
tolerated as much (its next cycle simply began late), and in a noisy 300-s run on
this VM the cycle thread finished 301 outputs past their cycle's start, most of
them within a millisecond or two. Later than that, the cycle plays a 5-ms fade to
silence on ravebox's own ports, counted (``unready``), instead of holding the whole
graph past its deadline (an xrun); the MIDI staged for it goes out in the next one.

Where the library cannot be had (no compiler, ``RAVEBOX_NATIVE=0``, a JACK-Client
without its private pointers) the session uses the Python process thread, as before.

Threads: construction, :meth:`install`, :meth:`stop`, :meth:`close` on the main
thread; the counters on any; ``work`` and everything it calls on the cycle thread; the C
thread touches only the arrays made here.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jack
import numpy as np

from ravebox.host import jackstop, libjack, nativebuild
from ravebox.host.libjack import c_address
from ravebox.host.rtprio import make_realtime

log = logging.getLogger("ravebox.host")

SLOTS = 8                 # cycles the cycle thread may fall behind before a slot is reused (it then skips ahead)
MAX_PERIOD = 8192         # longer periods play silence (the host opens a new session for a new period)
MIDI_EVENTS = 512         # per slot and direction
MIDI_BYTES = 16384        # per slot and direction
MAX_MIDI_OUTS = 64        # rtcycle.c's MAX_MIDI_OUTS
WAIT_PERMILLE = 500       # a late output is waited for until half its period has passed (see the module docstring)
WAIT_MS = 100             # the cycle thread looks up this often when no cycle comes (a dead server)

INFO_FRAME, INFO_N, INFO_LATE, INFO_T0_NS, INFO_RUN_NS, INFO_CPU_NS, INFO_FIELDS = range(7)
EV_PORT, EV_TIME, EV_OFFSET, EV_SIZE, EV_FIELDS = range(5)
(SH_PUBLISHED, SH_UNREADY, SH_MIDI_IN_LOST, SH_MIDI_OUT_LOST, SH_STOP, SH_ENDED, SH_TID, SH_OVERSIZE,
 SH_FIELDS) = range(9)

_FUNCTIONS = ("jack_cycle_wait", "jack_cycle_signal", "jack_port_get_buffer", "jack_frames_since_cycle_start",
              "jack_last_frame_time", "jack_midi_get_event_count", "jack_midi_event_get",
              "jack_midi_clear_buffer", "jack_midi_event_write")

_vp = ctypes.c_void_p


class Layout(ctypes.Structure):
    """rtcycle.c's ``rb_layout``: the counts and the shared arrays' addresses."""
    _fields_ = [("slots", ctypes.c_uint32), ("max_period", ctypes.c_uint32),
                ("audio_ins", ctypes.c_uint32), ("audio_outs", ctypes.c_uint32),
                ("midi_ins", ctypes.c_uint32), ("midi_outs", ctypes.c_uint32),
                ("midi_events", ctypes.c_uint32), ("midi_bytes", ctypes.c_uint32),
                ("lift_priority", ctypes.c_int32), ("sample_rate", ctypes.c_uint32), ("wait_permille", ctypes.c_uint32),
                ("audio_in_ports", _vp), ("audio_out_ports", _vp), ("midi_in_ports", _vp), ("midi_out_ports", _vp),
                ("audio_in", _vp), ("audio_out", _vp), ("info", _vp),
                ("midi_in_events", _vp), ("midi_in_bytes", _vp), ("midi_in_count", _vp),
                ("midi_out_events", _vp), ("midi_out_bytes", _vp), ("midi_out_count", _vp),
                ("ready", _vp), ("shared", _vp), ("last_out", _vp), ("played", _vp)]


def _declare(lib: ctypes.CDLL, gil_free: ctypes.CDLL) -> None:
    lib.rb_new.restype, lib.rb_new.argtypes = _vp, [_vp, _vp, ctypes.POINTER(Layout)]
    lib.rb_free.restype, lib.rb_free.argtypes = None, [_vp]
    lib.rb_publish.restype, lib.rb_publish.argtypes = None, [_vp, ctypes.c_uint32, ctypes.c_uint64]
    lib.rb_stop.restype, lib.rb_stop.argtypes = None, [_vp]
    gil_free.rb_wait.restype, gil_free.rb_wait.argtypes = ctypes.c_int64, [_vp, ctypes.c_uint64, ctypes.c_int]


def _libraries() -> tuple[Any, Any, Any] | str:
    """(rtcycle keeping the GIL, rtcycle letting it go, libjack's set_process_thread), or why not."""
    built, why = nativebuild.load()
    if built is None:
        return why
    keeping = ctypes.PyDLL(built._name)    # short calls: the GIL stays (no other thread cuts in)
    releasing = ctypes.CDLL(built._name)   # rb_wait blocks: the GIL is let go
    _declare(keeping, releasing)
    jacklib = libjack.load({"jack_set_process_thread": (ctypes.c_int, [_vp, _vp, _vp]),
                            "jack_client_real_time_priority": (ctypes.c_int, [_vp]),
                            **{name: (None, []) for name in _FUNCTIONS}}, keep_gil=True)
    if jacklib is None:
        return "libjack lacks the process-thread calls"
    return keeping, releasing, jacklib


class NativeCycle:
    """A JACK client's process thread in C, and the Python cycle thread it feeds (module docstring)."""

    _libs: tuple[Any, Any, Any] | str | None = None

    @classmethod
    def unavailable(cls, client: jack.Client) -> str:
        """Why this client cannot have the native cycle ('' when it can). Loads (may build) the library."""
        if cls._libs is None:
            cls._libs = _libraries()
        if isinstance(cls._libs, str):
            return cls._libs
        return "" if hasattr(client, "_ptr") else "JACK-Client keeps no client pointer"

    def __init__(self, client: jack.Client, audio_ins: Sequence[jack.Port], audio_outs: Sequence[jack.Port],
                 midi_ins: Sequence[jack.Port], midi_outs: Sequence[jack.Port],
                 groups: tuple[Sequence[int], Sequence[int]],
                 work: Callable[[NativeCycle], None], on_error: Callable[[], None], own_priority: int) -> None:
        """``work(self)`` computes one cycle from ``jack_frame``, ``n``, :meth:`views`, :meth:`read_midi`
        and :meth:`write_midi`; ``groups``: the audio inputs' and outputs' channels per graph (:meth:`views`
        groups them so); ``own_priority``: the highest SCHED_FIFO priority of ravebox's own threads (0:
        none), which both threads here stay above."""
        assert isinstance(self._libs, tuple), "call NativeCycle.unavailable(client) first"
        if len(midi_outs) > MAX_MIDI_OUTS:
            raise ValueError(f"at most {MAX_MIDI_OUTS} MIDI outputs")
        self._lib, self._wait_lib, self._jack = self._libs
        self._client, self._work, self._on_error = client, work, on_error
        self._groups = groups
        self._own_priority = own_priority
        s, p = SLOTS, MAX_PERIOD
        self.audio_in = np.zeros((s, len(audio_ins), p), np.float32)
        self.audio_out = np.zeros((s, len(audio_outs), p), np.float32)
        self.info = np.zeros((s, INFO_FIELDS), np.int64)
        self.midi_in_events = np.zeros((s, MIDI_EVENTS, EV_FIELDS), np.uint32)
        self.midi_in_bytes = np.zeros((s, MIDI_BYTES), np.uint8)
        self.midi_in_count = np.zeros(s, np.uint32)
        self.midi_out_events = np.zeros((s, MIDI_EVENTS, EV_FIELDS), np.uint32)
        self.midi_out_bytes = np.zeros((s, MIDI_BYTES), np.uint8)
        self.midi_out_count = np.zeros(s, np.uint32)
        self.ready = np.zeros(s, np.uint64)
        self.shared = np.zeros(SH_FIELDS, np.uint64)
        self.last_out = np.zeros(max(1, len(audio_outs)), np.float32)
        self.played = np.zeros(s, np.uint64)
        self._ports = [np.array([c_address(port) for port in ports] or [0], np.uintp)
                       for ports in (audio_ins, audio_outs, midi_ins, midi_outs)]
        addr = lambda a: a.ctypes.data  # noqa: E731
        self._layout = Layout(s, p, len(audio_ins), len(audio_outs), len(midi_ins), len(midi_outs),
                              MIDI_EVENTS, MIDI_BYTES, self._lift_priority(), client.samplerate, WAIT_PERMILLE,
                              *(addr(a) for a in self._ports),
                              addr(self.audio_in), addr(self.audio_out), addr(self.info),
                              addr(self.midi_in_events), addr(self.midi_in_bytes), addr(self.midi_in_count),
                              addr(self.midi_out_events), addr(self.midi_out_bytes), addr(self.midi_out_count),
                              addr(self.ready), addr(self.shared), addr(self.last_out), addr(self.played))
        functions = (_vp * len(_FUNCTIONS))(*(ctypes.cast(getattr(self._jack, name), _vp).value
                                              for name in _FUNCTIONS))
        self._state = self._lib.rb_new(c_address(client), functions, ctypes.byref(self._layout))
        if not self._state:
            raise MemoryError("rb_new failed")
        self._views: dict[tuple[int, int], tuple[list[list[np.ndarray]], list[list[np.ndarray]]]] = {}
        self._thread: threading.Thread | None = None
        self._quit = False
        self.skipped = 0          # cycles the cycle thread skipped, having fallen SLOTS behind
        self.midi_carried = 0     # MIDI events staged for a cycle that played silence, sent in a later one
        self._staged_for: int | None = None   # the cycle whose output slot the cycle thread wrote last
        self.cycle_tid: int | None = None
        # the cycle being worked on (cycle thread)
        self.jack_frame = 0
        self.n = 0
        self.late_frames = 0
        self.started_ns = 0       # time.monotonic_ns() when the C thread woke for it
        self.run_s = 0.0
        self.cpu_s = 0.0
        self._slot = 0
        self._out_slot = 0
        self._out_used = 0

    # -- main thread ------------------------------------------------------------------
    def _lift_priority(self) -> int:
        """The SCHED_FIFO priority the C thread takes if JACK left it at normal scheduling: above the
        cycle thread, which is above ravebox's own threads (0: none of ravebox's threads is realtime)."""
        return self._own_priority + 2 if self._own_priority > 0 else 0

    def install(self) -> None:
        """Before ``activate``: JACK runs the C thread as this client's process thread."""
        thread_fn = ctypes.cast(self._lib.rb_thread, _vp)
        if self._jack.jack_set_process_thread(c_address(self._client), thread_fn, _vp(self._state)):
            raise jack.JackError("jack_set_process_thread failed (a process callback was set already?)")
        self._thread = threading.Thread(target=self._loop, name="ravebox-cycle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the C thread to play what was computed, then silence and end; True once it has ended."""
        self._lib.rb_stop(self._state)
        return jackstop.wait_until(lambda: bool(self.shared[SH_ENDED]), timeout)

    def close(self, timeout: float = 2.0) -> None:
        """After the client closed (its C thread gone): end the cycle thread, free the C state."""
        self._quit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the cycle thread did not end within %g s", timeout)
                return    # it may still read the state: leave it allocated
        if self._state:
            self._lib.rb_free(self._state)
            self._state = None

    # -- any thread (plain counters) ----------------------------------------------------
    @property
    def unready(self) -> int:
        """Cycles that played silence because the cycle thread had not finished their output."""
        return int(self.shared[SH_UNREADY])

    @property
    def midi_lost(self) -> int:
        """MIDI events beyond a slot's room (incoming) or JACK's (outgoing): dropped, counted."""
        return int(self.shared[SH_MIDI_IN_LOST] + self.shared[SH_MIDI_OUT_LOST])

    @property
    def tid(self) -> int | None:
        """The C thread's kernel id, once it ran a cycle."""
        return int(self.shared[SH_TID]) or None

    # -- cycle thread -------------------------------------------------------------------
    def _cycle_priority(self) -> int:
        """Just below JACK's process thread and above ravebox's own threads, where they allow it."""
        if self._own_priority <= 0:
            return 0
        jack_priority = self._jack.jack_client_real_time_priority(c_address(self._client))
        if jack_priority <= 0:          # JACK not realtime: the C thread lifts itself to own + 2
            return self._own_priority + 1
        return max(1, min(self._own_priority + 1, jack_priority - 1))

    def _loop(self) -> None:
        """Cycle thread: wait for each signalled cycle and run ``work`` on it, in order."""
        self.cycle_tid = threading.get_native_id()
        priority = self._cycle_priority()
        if priority:
            make_realtime(priority, "cycle thread", quiet=True)
        wait, state, seen = self._wait_lib.rb_wait, self._state, 0
        while not self._quit:
            published = wait(state, seen, WAIT_MS)
            if published < 0:
                return                     # the C thread ended (stop)
            while seen < published:
                now = int(self.shared[SH_PUBLISHED])   # the C thread fills slot now % SLOTS meanwhile
                if now - seen > SLOTS - 1:             # seen's slot is being written again: go to the newest
                    self.skipped += now - 1 - seen
                    seen, published = now - 1, now
                self._one(seen)
                seen += 1

    def _one(self, cycle: int) -> None:
        slot, out_slot = cycle % SLOTS, (cycle + 1) % SLOTS
        info = self.info[slot]
        self._slot, self._out_slot = slot, out_slot
        self.jack_frame, self.n = int(info[INFO_FRAME]), int(info[INFO_N])
        self.late_frames, self.started_ns = int(info[INFO_LATE]), int(info[INFO_T0_NS])
        self.run_s, self.cpu_s = info[INFO_RUN_NS] * 1e-9, info[INFO_CPU_NS] * 1e-9
        self._carry_unplayed_midi(out_slot)
        try:
            self._work(self)
        except Exception:  # noqa: BLE001 - the next cycle plays silence; the count says so
            self._on_error()
            self.audio_out[out_slot].fill(0.0)
        self._lib.rb_publish(self._state, out_slot, cycle + 1)
        self._staged_for = cycle + 1

    def _carry_unplayed_midi(self, out_slot: int) -> None:
        """Start the next cycle's MIDI with what the last written slot held if the C thread played silence
        instead (that slot's output was late): a clock follower loses no tick, a controller no feedback; the
        events go out a few periods late, at offset 0. The C thread has passed that cycle by now (the cycle
        thread works on a cycle only once it is signalled), so ``played`` is final."""
        staged, self._staged_for = self._staged_for, None
        source, count = out_slot, 0
        if staged is not None and int(self.played[staged % SLOTS]) != staged + 1:   # it was not played
            source = staged % SLOTS
            count = int(self.midi_out_count[source])
        used = 0
        if count:
            last = self.midi_out_events[source, count - 1]
            used = int(last[EV_OFFSET] + last[EV_SIZE])
            if source != out_slot:
                self.midi_out_bytes[out_slot, :used] = self.midi_out_bytes[source, :used]
                self.midi_out_events[out_slot, :count] = self.midi_out_events[source, :count]
            self.midi_out_events[out_slot, :count, EV_TIME] = 0
            self.midi_carried += count
        self.midi_out_count[out_slot] = count
        self._out_used = used

    def views(self) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
        """Cycle thread: per graph, this cycle's input rows and the next cycle's output rows, ``n`` frames
        each; made once per slot and period size."""
        key = (self._slot, self.n)
        views = self._views.get(key)
        if views is None:
            n = min(self.n, MAX_PERIOD)
            views = self._views[key] = (_grouped(list(self.audio_in[self._slot, :, :n]), self._groups[0]),
                                        _grouped(list(self.audio_out[self._out_slot, :, :n]), self._groups[1]))
        return views

    def read_midi(self, push: Callable[[int, int, memoryview], object], frame: int) -> None:
        """Cycle thread: every MIDI event this cycle brought, as ``push(frame + offset, port index, data)``."""
        count = int(self.midi_in_count[self._slot])
        if not count:
            return
        data = memoryview(self.midi_in_bytes[self._slot])
        for port, time, offset, size in self.midi_in_events[self._slot, :count].tolist():
            push(frame + time, port, data[offset:offset + size])

    def write_midi(self, port: int, offset: int, data: bytes | bytearray | memoryview) -> bool:
        """Cycle thread: one event for the next cycle on MIDI output ``port`` at frame ``offset`` (False:
        the slot is full; the caller keeps it for later)."""
        slot, count, used, size = self._out_slot, int(self.midi_out_count[self._out_slot]), self._out_used, len(data)
        if count >= MIDI_EVENTS or used + size > MIDI_BYTES:
            return False
        self.midi_out_bytes[slot, used:used + size] = np.frombuffer(data, np.uint8)
        self.midi_out_events[slot, count] = (port, offset, used, size)
        self.midi_out_count[slot] = count + 1
        self._out_used = used + size
        return True


def _grouped(rows: list[np.ndarray], sizes: Sequence[int]) -> list[list[np.ndarray]]:
    out, i = [], 0
    for size in sizes:
        out.append(rows[i:i + size])
        i += size
    return out
