"""MIDI clock out: 24 ticks per beat, Start/Stop/Continue and Song Position from the leading clock.

Why from the :class:`~ravebox.clock.view.ClockView`: the view is what the box
plays to (gates, loops), whoever leads it -- the internal clock, or a followed
external clock whose ticks the follower has smoothed. Re-sending the view's
grid makes the box a clock master with the same phase the audio has, and
without the input's transport jitter.

Tick ``k`` is sent at the first frame at or after the view reaches beat
``k / 24`` (``ceil(view.frame_at_beat(k / 24))``), so positions are exact to the
frame for any tempo. While the transport is stopped the ticks keep running at
the view's tempo, as hardware masters do, so followers keep their tempo lock.

Transport: when the view starts running, a new transport epoch (a Start) is
sent as Start right before tick 0; any other start of running (a Continue, or
the free-running box at boot) becomes Song Position + Continue before the next
tick on a sixteenth-note boundary (Song Position counts sixteenths, so a
follower can only resume there; the ticks before it are sent as stopped
ticks). When the view stops, Stop is sent at the frame it stopped.

A tick whose frame a cycle already passed (a late view, an xrun) is sent at
offset 0 of the next cycle, so followers never lose count; more than a beat
behind (a reconnect), the ticks resynchronise instead of bursting.

Thread: :meth:`ClockOut.cycle` runs on the JACK process thread. It keeps a few
ints and floats and writes constant or preallocated byte buffers through the
``emit`` callable (the session's MIDI output writer, host/portio.py); it never allocates a
buffer, locks, logs or raises for a full port buffer (the caller's emit may).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ravebox.clock.view import ClockView

PPQN = 24
TICKS_PER_SIXTEENTH = PPQN // 4
SPP_RANGE = 1 << 14                  # Song Position is 14 bits of sixteenths: it wraps after 1024 bars of 4/4
TICK, START, CONTINUE, STOP = b"\xf8", b"\xfa", b"\xfb", b"\xfc"
EPSILON = 1e-6                       # a tick computed a hair past a frame still belongs to that frame

Emit = Callable[[int, bytes | bytearray], None]


class ClockOut:
    """Turns the published ClockView into clock and transport messages, one process cycle at a time."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self.told_running = False        # what followers were told (Start/Continue sent, no Stop since)
        self._run_epoch: int | None = None  # the epoch (count of Starts) of the last running view
        self._k = 0                      # next tick index on the running grid
        self._begin_at: int | None = None  # tick index at which Start/Continue goes out
        self._begin_start = False        # True: Start; False: Song Position + Continue
        self._free_next = -1.0           # next stopped tick (frame), < 0: not yet placed
        self._last_tick = -1.0           # frame of the last tick sent
        self._emit: Emit = _nowhere     # this cycle's writer (set by cycle)
        self._cursor = 0                 # offsets within a cycle never go backwards (JACK refuses that)
        self._spp = bytearray(3)
        self._spp[0] = 0xF2
        self.ticks = 0                   # counters, read by status (any thread)
        self.transport_messages = 0

    # -- process thread -------------------------------------------------------------
    def cycle(self, frame: int, n: int, view: ClockView | None, emit: Emit) -> None:
        """Process thread: write this cycle's messages for frames ``[frame, frame + n)`` in order."""
        if view is None:
            return
        self._emit, self._cursor = emit, 0
        if self._run_epoch is None:           # first cycle: a pending Start (stopped view) counts as new
            self._run_epoch = view.epoch if view.running else view.epoch - 1
        if view.running:
            restarted = view.epoch != self._run_epoch
            if restarted or (not self.told_running and self._begin_at is None):
                self._plan_begin(frame, view, restarted)
            self._grid_ticks(frame, frame + n, view)
        else:
            if self.told_running:
                self._stop(frame, n, view)
            self._begin_at = None             # (stopped again before anyone was told: nothing to tell)
            self._free_ticks(frame, frame + n, view)

    def _plan_begin(self, frame: int, view: ClockView, start: bool) -> None:
        """The view (re)started running: decide where Start or Continue goes out."""
        self._run_epoch = view.epoch
        k = self._tick_index_at(view, frame)
        if start and k <= PPQN:           # a Start seen late (a followed clock) is caught up at offset 0
            self._begin_start, self._begin_at, self._k = True, 0, 0
        else:                             # far past the downbeat, say where we are instead
            self._continue_from(k)

    def _continue_from(self, k: int) -> None:
        self._begin_start = False
        self._begin_at = -(-k // TICKS_PER_SIXTEENTH) * TICKS_PER_SIXTEENTH
        self._k = k

    def _grid_ticks(self, frame: int, end: int, view: ClockView) -> None:
        behind = self._tick_index_at(view, frame) - self._k
        if behind > PPQN:                 # a reconnect or a long stall: resynchronise
            self._k += behind
            if self._begin_at is not None:
                self._continue_from(self._k)
        period = self._period(view)
        while True:
            at = view.frame_at_beat(self._k / PPQN)
            if at is None:
                return
            tick = math.ceil(at - EPSILON)
            if tick >= end:
                return
            offset = tick - frame if tick > frame else 0
            if self._begin_at is not None and self._k >= self._begin_at:
                self._send_begin(offset)
            elif self._begin_at is not None and tick - self._last_tick < period / 2:
                self._k += 1                  # a stopped tick just went out: no double tick at the hand-over
                continue
            self._send(offset, TICK)
            self._last_tick = float(frame + offset)
            self._k += 1
            self.ticks += 1

    def _send_begin(self, offset: int) -> None:
        if self._begin_start:
            self._send(offset, START)
        else:
            assert self._begin_at is not None   # a Continue is only sent with its position
            position = (self._begin_at // TICKS_PER_SIXTEENTH) % SPP_RANGE
            self._spp[1] = position & 0x7F
            self._spp[2] = position >> 7
            self._send(offset, self._spp)
            self._send(offset, CONTINUE)
        self.transport_messages += 1
        self.told_running = True
        self._begin_at = None

    def _stop(self, frame: int, n: int, view: ClockView) -> None:
        """Send the ticks still due before the held beat (the stopped view no longer places them), then Stop."""
        offset = min(max(view.anchor_frame - frame, 0), n - 1)
        period = self._period(view)
        due = min(math.floor(view.anchor_beat * PPQN + EPSILON) - self._k + 1, PPQN)
        for _ in range(max(due, 0)):
            tick = math.ceil(self._last_tick + period - EPSILON)
            self._send(min(max(tick - frame, 0), offset), TICK)
            self._last_tick = float(frame + self._cursor)
            self._k += 1
            self.ticks += 1
        self._send(offset, STOP)
        self.transport_messages += 1
        self.told_running = False
        self._free_next = -1.0

    def _free_ticks(self, frame: int, end: int, view: ClockView) -> None:
        period = self._period(view)
        if self._free_next < 0.0:
            self._free_next = self._last_tick + period if self._last_tick >= 0.0 else float(frame)
        if self._free_next < frame - PPQN * period:
            self._free_next = float(frame)    # a long gap: resynchronise
        while True:
            tick = math.ceil(self._free_next - EPSILON)
            if tick >= end:
                return
            offset = tick - frame if tick > frame else 0
            self._send(offset, TICK)
            self._last_tick = float(frame + offset)
            self._free_next += period
            self.ticks += 1

    def _send(self, offset: int, data: bytes | bytearray) -> None:
        offset = max(offset, self._cursor)
        self._emit(offset, data)
        self._cursor = offset

    # -- small helpers -------------------------------------------------------------
    def _period(self, view: ClockView) -> float:
        """Frames per tick at the view's tempo."""
        return 60.0 * self.sample_rate / (PPQN * max(view.bpm, 1.0))

    @staticmethod
    def _tick_index_at(view: ClockView, frame: int) -> int:
        """The first tick index at or after the view's beat at ``frame``."""
        return math.ceil(view.beat_at(frame) * PPQN - EPSILON)


def _nowhere(offset: int, data: bytes | bytearray) -> None:
    """The writer before the first cycle (nothing is sent outside a cycle)."""
