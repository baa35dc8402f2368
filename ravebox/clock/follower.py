"""MIDI clock follower: ticks and transport messages in, continuous ClockViews out.

Why this shape: the tempo comes from :class:`~ravebox.clock.estimator.TickEstimator`
(an adaptive line fit of tick times over tick indices), and everything else is
bookkeeping in tick units. A *source line* maps frames to a continuous tick
index: the estimator's fit when an external clock leads, an internal
:class:`TickLine` at ``internal_bpm`` otherwise. The transport maps that index to
a song position: ``beat = (song_base + index(frame - offset) - k_base) / 24``.
That target is never published directly: :meth:`advance` publishes a view that
starts where the previous view is at that frame and slews towards the target
(bounded to ``max_slew`` of the tempo), so the beat is continuous and never runs
backwards, except at the explicit relocations Start and Song Position.

MIDI 1.0 transport: Start relocates to beat 0 and runs from the next clock;
Continue runs from the held position at the next clock; Stop holds; Song
Position is honoured while stopped (ignored while running). Ticks while stopped
keep the tempo locked without moving the position. Until the first transport
message is seen, ticks alone run the transport (devices that only send clock,
or joining a master mid-song), continuing the current beat. After
``dropout_ms`` without ticks the external clock is *lost*: the phase freewheels
on the last line, and with the "open" policy the view asks the gates to open.
The next ticks re-acquire without a transport restart.

Thread: the control thread (or the render loop) calls :meth:`feed` and
:meth:`advance`; any thread reads :meth:`view` (one reference swap, no lock).

Why one module of about 480 lines (over the house rule's 350): source picking, transport and lock state
each read and write the same follower state on every tick (which input leads,
whether it runs, the published line); the tick-time estimation itself, the
part that is pure arithmetic, is ``estimator.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from ravebox.clock.estimator import TickEstimator, TickLine
from ravebox.clock.interleave import SecondClock
from ravebox.clock.settings import ClockSettings, DropoutPolicy
from ravebox.clock.view import ClockView
from ravebox.midi.events import MidiEvent

if TYPE_CHECKING:
    import mido

PPQN = 24
MAX_BPM = 600.0       # the fastest tempo a change is read as
MIN_BPM = 5.0         # the slowest
LOCK_BPM_SIGMA = 0.1  # locked only when the tempo is known this well (one standard error)
LOCK_BEATS = 0.02     # ... and the published beat is this close to the followed line

log = logging.getLogger(__name__)


class Lock(str, Enum):
    """What the follower can truthfully say about the clock it follows."""

    INTERNAL = "internal"    # no external clock leads (none seen, or clock_follow off)
    ACQUIRING = "acquiring"  # ticks since a (re)seed: tempo or phase not yet pinned down
    LOCKED = "locked"        # the last lock_ticks ticks met their predictions; see is_locked
    UNSTABLE = "unstable"    # ticks stopped meeting the predictions (a change, outliers)
    LOST = "lost"            # the external clock went silent: freewheeling
    CONFLICT = "conflict"    # the router sees clock from more than one source


CLOCK_MESSAGES = frozenset({"clock", "start", "stop", "continue", "songpos"})


def input_of(label: str) -> str:
    """The input part of an event label: ``midi_in <- TR-8`` -> ``midi_in`` (a device may come and go)."""
    return label.split(" <- ", 1)[0]


class SourcePicker:
    """Which input the clock is followed from: the first that sends clock or transport.

    Why in the follower: MIDI on every input may carry clock (a drum machine on
    ``midi_in``, a DAW on ``clock_in``), and two sources at once would be read
    as one clock at twice the tempo. The first input keeps the clock until it
    is silent for the dropout time; another input's clock messages meanwhile
    are refused and counted, and :meth:`conflict` says so until it too is
    silent that long. Identity is the input (the part of the label before
    ``<-``), so a second device plugged into the same input does not count as
    a new source. Pure; the follower's thread.
    """

    def __init__(self, hold_frames: float, on_new: Callable[[str, str | None], None]) -> None:
        self.hold = float(hold_frames)
        self.current: str | None = None
        self.label: str | None = None
        self.refused: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._on_new = on_new

    def admit(self, label: str, frame: int) -> bool:
        source = input_of(label)
        current = self.current
        if current is not None and source != current and frame - self._seen.get(current, frame) <= self.hold:
            self._seen[source] = frame
            self.refused[label] = self.refused.get(label, 0) + 1
            return False
        if source != current:
            previous, self.current = self.label, source
            self._on_new(label, previous)
        self.label = label
        self._seen[source] = frame
        return True

    def note(self, source: str, label: str, frame: int) -> None:
        """A second source found by other means (a clock interleaved on the same input)."""
        self._seen[source] = frame
        self.refused[label] = self.refused.get(label, 0) + 1

    def others(self, frame: int) -> list[str]:
        """Other inputs that sent clock within the hold time before ``frame``."""
        return sorted(s for s, seen in self._seen.items() if s != self.current and frame - seen <= self.hold)

    def conflict(self, frame: int) -> bool:
        return bool(self.others(frame))


class Transport(str, Enum):
    FREE = "free"                    # no transport message seen: ticks run the position
    STOPPED = "stopped"
    WAIT_START = "wait_start"        # Start received, runs from the next clock
    WAIT_CONTINUE = "wait_continue"  # Continue received, runs from the next clock
    RUNNING = "running"


class ClockFollower:
    """Follows MIDI clock and transport (or runs an internal clock); publishes ClockViews."""

    def __init__(self, sample_rate: int, settings: ClockSettings | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.settings = settings or ClockSettings()
        s = self.settings
        self._estimator = TickEstimator(initial_noise=1e-3 * self.sample_rate,
                                        min_period=self._period_of(MAX_BPM),
                                        max_period=self._period_of(MIN_BPM),
                                        initial_period=self._period_of(s.internal_bpm))
        self._offset = s.offset_ms * 1e-3 * self.sample_rate
        self._internal = TickLine(0.0, 0.0, self._period_of(s.internal_bpm))
        self._external = False       # an external clock leads (ticks seen, maybe lost since)
        self._lost = False
        self._last_tick: float | None = None
        self._freewheel: TickLine | None = None
        self._second = SecondClock()
        self._rebase_next = False    # the next tick re-bases the beat (the count was wrong)
        self._sources = SourcePicker(s.dropout_ms * 1e-3 * self.sample_rate, self._new_source)
        self._lock = Lock.INTERNAL
        self._was_locked = False     # locked since the last seed: trouble now is "unstable"
        self._transport = Transport.FREE
        self._song_base = 0.0        # song tick at source index k_base
        self._k_base = 0.0
        self._position = 0           # song tick of the next clock while not running
        self._hold = 0.0             # beat shown while not running
        self._last_run_k: float | None = None
        self._waiting_since = 0.0
        self._relocated = False      # Song Position moved the held beat on purpose
        self._epoch = 0
        self._now = 0
        self._display = s.internal_bpm
        self._view = ClockView.internal(s.internal_bpm, self.sample_rate)
        self._view = self._make_view(0)

    # -- public API -----------------------------------------------------------------
    def view(self) -> ClockView:
        """The latest published view (immutable; safe to read from any thread)."""
        return self._view

    def status(self, frame: int) -> dict[str, object]:
        """Any thread: tempo, lock, source, transport and the position at ``frame`` as beat and bar:beat.

        Reads the published view and plain attributes once; no locks."""
        view = self._view
        lock = view.lock  # internal, acquiring, locked, unstable, lost or conflict
        beat = view.beat_at(frame)
        bar, into = divmod(max(beat, 0.0), view.beats_per_bar)
        return {"tempo_bpm": round(view.display_bpm, 2), "bpm": view.bpm, "lock": lock,
                "source": "internal" if lock == "internal" else (self.source or "midi"), "refused": self.refused,
                "transport": self._transport.value, "beat": round(beat, 3),
                "bar_beat": f"{int(bar) + 1}:{int(into) + 1}"}

    def feed(self, event: MidiEvent) -> None:
        """Take one MIDI event (clock, start, stop, continue, songpos); others are ignored.

        Events must come in frame order; each is applied at its own frame.
        """
        kind = event.message.type
        frame = int(event.frame)
        if kind in CLOCK_MESSAGES and not self._sources.admit(event.port, frame):
            return  # clock from a second source: refused (and shown as a conflict)
        if kind == "clock" and self._second_clock(event.port, frame):
            return
        if kind == "clock":
            self._on_clock(frame)
        elif self.settings.transport_follow and kind in ("start", "stop", "continue", "songpos"):
            self._on_transport(kind, frame, event.message)

    def advance(self, frame: int) -> ClockView:
        """Bring the clock to ``frame`` and publish a view continuous with the last one.

        ``frame`` should be the first frame the new view will be used for (the
        host's next process period). Detects dropouts; returns the new view.
        """
        frame = max(int(frame), self._now)
        self._check_dropout(frame)
        self._now = frame
        self._view = self._make_view(frame)
        return self._view

    def set_offset_ms(self, offset_ms: float) -> None:
        """Change the sync delay (the ``clock.offset_ms`` parameter); the phase slews to it."""
        self._offset = float(offset_ms) * 1e-3 * self.sample_rate

    def set_internal_bpm(self, bpm: float, frame: int | None = None) -> None:
        """Change the internal clock's tempo (``clock.bpm``) from ``frame`` on, without a jump."""
        at = float(self._now if frame is None else frame)
        self._internal = TickLine(at, self._internal.index_at(at), self._period_of(bpm))

    @property
    def lost(self) -> bool:
        """True while an external clock that was ticking has been silent for ``dropout_ms``."""
        return self._lost

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def estimator(self) -> TickEstimator:
        return self._estimator

    @property
    def lock(self) -> Lock:
        """The lock state of the last published view."""
        return self._lock

    @property
    def source(self) -> str | None:
        """The label (``input <- device``) of the events the clock is followed from, if any."""
        return self._sources.label

    @property
    def refused(self) -> dict[str, int]:
        """Clock messages refused per other source (they sent clock while one was followed)."""
        return dict(self._sources.refused)

    def _second_clock(self, label: str, frame: int) -> bool:
        """Whether this tick is a second clock merged into the followed input (see clock/interleave.py)."""
        known = self._second.detected
        if self._second.is_second(frame, " <- " not in label):
            self._sources.note(f"{input_of(label)} (a second clock)", label, frame)
            if not known:
                log.warning("clock: two clocks interleave on %s; following one", label)
                self._estimator.reseed()   # what was counted so far was both
                self._rebase_next = True
            return True
        return False

    def _new_source(self, label: str, previous: str | None) -> None:
        """A first or replacing clock source: what came from another one says nothing of it."""
        if previous is not None:
            log.warning("clock now follows %s (%s went silent)", label, previous)
            self._estimator.reseed()
            self._was_locked = False
        else:
            log.info("clock follows %s", label)

    # -- ticks ----------------------------------------------------------------------
    def _on_clock(self, frame: int) -> None:
        if not self.settings.clock_follow:
            return  # the internal clock leads; Start and Continue already began at once
        self._lost = False
        k = self._estimator.tick(frame)
        for first, shift in self._estimator.take_moves():  # a lost or doubled tick found late
            if self._k_base >= first:
                self._k_base += shift
            if self._last_run_k is not None and self._last_run_k >= first:
                self._last_run_k += shift
        self._last_tick = float(frame)
        if not self._external or self._rebase_next:
            self._rebase_to_source(frame, float(k))
            self._external, self._rebase_next = True, False
        self._on_transport_tick(float(k), frame)

    def _on_transport_tick(self, k: float, frame: int) -> None:
        if self._transport is Transport.WAIT_START:
            self._begin(0.0, k)
        elif self._transport is Transport.WAIT_CONTINUE:
            self._begin(float(self._position), k)
        if self._transport in (Transport.RUNNING, Transport.FREE):
            self._last_run_k = k

    def _begin(self, song_tick: float, k: float) -> None:
        self._transport = Transport.RUNNING
        self._song_base, self._k_base = song_tick, k
        self._last_run_k = k

    def _check_dropout(self, frame: int) -> None:
        limit = self.settings.dropout_ms * 1e-3 * self.sample_rate
        waiting = self._transport in (Transport.WAIT_START, Transport.WAIT_CONTINUE)
        if waiting and frame - self._waiting_since > limit:
            self._run_internal_from(self._waiting_since + limit)
            return
        if not self._external or self._lost or self._last_tick is None:
            return
        if frame - self._last_tick > limit:
            self._lost = True
            self._freewheel = self._estimator.line
            self._estimator.resume()

    # -- transport ------------------------------------------------------------------
    def _on_transport(self, kind: str, frame: int, message: mido.Message) -> None:
        if kind == "start":
            if self.settings.clock_follow:
                self._estimator.reseed(same_tempo=True)  # Start re-anchors: the next tick is where the beat is
                self._was_locked = False
            self._epoch += 1
            self._stop_at(frame)
            self._position, self._hold = 0, 0.0
            self._transport = Transport.WAIT_START
            self._start_now_if_internal(frame)
        elif kind == "continue":
            if self._transport is Transport.RUNNING:
                return
            self._stop_at(frame)
            self._transport = Transport.WAIT_CONTINUE
            self._start_now_if_internal(frame)
        elif kind == "stop":
            self._stop_at(frame)
        elif kind == "songpos" and self._transport is not Transport.RUNNING:
            self._stop_at(frame)
            self._position = int(message.pos) * (PPQN // 4)
            self._hold = self._position / PPQN
            self._relocated = True

    def _stop_at(self, frame: int) -> None:
        """Halt: hold the beat the published view shows at ``frame``; remember the next clock."""
        if self._transport in (Transport.RUNNING, Transport.FREE):
            self._hold = self._view.beat_at(frame)
            if self._external and self._last_run_k is not None:
                self._position = int(round(self._song_base + self._last_run_k - self._k_base)) + 1
            else:
                self._position = int(math.ceil(self._hold * PPQN - 1e-9))
        self._transport = Transport.STOPPED

    def _start_now_if_internal(self, frame: int) -> None:
        """With the internal clock there is no next clock to wait for: run from ``frame``.

        While following clock, a Start waits for the next tick instead (many
        masters only begin to send clock with Start); :meth:`_check_dropout`
        gives up waiting after ``dropout_ms`` and runs the internal clock.
        """
        self._waiting_since = float(frame)
        if not self.settings.clock_follow:
            self._run_internal_from(frame)

    def _run_internal_from(self, frame: float) -> None:
        self._external, self._lost = False, False
        k = self._internal.index_at(frame - self._offset)
        song = 0.0 if self._transport is Transport.WAIT_START else float(self._position)
        self._begin(song, k)

    # -- the target line and the published view --------------------------------------
    def _source_line(self) -> TickLine | None:
        if not (self.settings.clock_follow and self._external):
            return self._internal
        return self._estimator.line or self._freewheel

    def _rebase_to_source(self, frame: int, k: float) -> None:
        """Switch source (internal -> external) keeping the beat where the view has it."""
        if self._transport not in (Transport.FREE, Transport.RUNNING):
            return
        song = round(self._view.beat_at(frame) * PPQN)
        self._song_base, self._k_base = float(song), k

    def _target(self, frame: int) -> tuple[float, float] | None:
        """(beat, beats per frame) the transport and source put at ``frame``; None if halted."""
        if self._transport not in (Transport.RUNNING, Transport.FREE):
            return None
        line = self._source_line()
        if line is None:
            return None
        est = self._estimator
        if line == est.line and not self._lost and est.last_k is not None and (
                est.age < 2 or est.last_k - self._k_base < est.held
                or not est.min_period <= line.period <= est.max_period):
            # the transport began at a tick the line cannot place yet (one tick says where,
            # not how fast; a held-back tick may be a new tempo), or the line is no tempo at all
            # (ticks bunched into one period by a late sender fit a period near 0 frames: followed,
            # the beat would race hundreds of beats ahead, then wait minutes for the clock): hold
            return self._song_base / PPQN, 0.0
        index = line.index_at(frame - self._offset)
        return (self._song_base + index - self._k_base) / PPQN, 1.0 / (PPQN * line.period)

    def _make_view(self, frame: int) -> ClockView:
        s = self.settings
        line = self._source_line()
        bpm = self._bpm_of(line.period) if line is not None else self._view.bpm
        self._display = self._displayed(bpm)
        target = self._target(frame)
        prev = self._view
        near = target is None or not prev.running or abs(target[0] - prev.beat_at(frame)) <= LOCK_BEATS
        self._update_lock(bpm, near, frame)
        common: dict[str, Any] = dict(
            locked=self._lock is Lock.LOCKED, lock=self._lock.value, bpm=bpm, display_bpm=self._display,
            beats_per_bar=s.beats_per_bar, epoch=self._epoch, gates_open=self._gates_open(),
        )
        relocated, self._relocated = self._relocated, False
        if target is None:
            if prev.running and prev.epoch == self._epoch and not relocated:
                # a Stop learnt late: readers already saw the beat up to this frame
                self._hold = max(self._hold, prev.beat_at(frame))
            return ClockView(frame, float(self._hold), 0.0, running=False, **common)
        beat, slope = target
        if not prev.running or prev.epoch != self._epoch:
            start = max(beat, self._hold if prev.epoch != self._epoch else prev.beat_at(frame))
            return ClockView(frame, float(start), slope, running=True, **common)
        return self._slewed(frame, prev.beat_at(frame), beat, slope, common)

    def _slewed(self, frame: int, now: float, beat: float, slope: float, common: dict[str, Any]) -> ClockView:
        """A view from ``now`` that meets the target line, tempo bounded to ±max_slew."""
        now, beat = float(now), float(beat)
        error = beat - now
        if slope <= 0.0:  # the target holds (a tick not yet placed): so does the view
            return ClockView(frame, max(now, beat), 0.0, running=True, **common)
        if abs(error) <= 1e-12:
            return ClockView(frame, now, slope, running=True, **common)
        tau = max(self.settings.slew_ms * 1e-3 * self.sample_rate, 1.0)
        # locked, a correction stays inaudible; otherwise catch up at up to twice the tempo, or wait
        limit = (self.settings.max_slew if self._lock is Lock.LOCKED else 1.0) * slope
        fast = slope + min(max(error / tau, -limit), limit)
        knee = error / (fast - slope)
        return ClockView(frame, now, fast, running=True, slew_frames=knee,
                         tempo_beats_per_frame=slope, **common)

    # -- small helpers -------------------------------------------------------------
    def _update_lock(self, bpm: float, near: bool, frame: int) -> None:
        """Set the lock state (logged when it changes).

        Locked means: the last ``lock_ticks`` ticks each arrived within the
        estimator's gate (3.5 sigmas of the measured jitter) of where the line
        predicted them, nothing is held back, the next tick is not overdue
        (later than the gate), the tempo's standard error is at
        most ``LOCK_BPM_SIGMA`` and the published beat is within ``LOCK_BEATS``
        of the line.
        """
        est = self._estimator
        if not (self.settings.clock_follow and self._external):
            state = Lock.INTERNAL
        elif self._lost:
            state = Lock.LOST
        elif self._sources.conflict(self._now):
            state = Lock.CONFLICT
        elif (est.matched >= self.settings.lock_ticks and not est.held and near
              and not est.overdue(frame) and (line := est.line) is not None
              and bpm * est.period_sigma / max(line.period, 1.0) <= LOCK_BPM_SIGMA):
            state = Lock.LOCKED
            self._was_locked = True
        else:
            state = Lock.UNSTABLE if self._was_locked else Lock.ACQUIRING
        if state is not self._lock:
            if state is Lock.CONFLICT:
                log.warning("clock conflict: %s also sends clock; following %s only",
                            ", ".join(self._sources.others(self._now)), self._sources.label)
            else:
                log.info("clock %s at %.2f BPM (jitter %.2f ms)", state.value, bpm,
                         1e3 * est.noise / self.sample_rate)
            self._lock = state

    def _gates_open(self) -> bool:
        return self._lost and self.settings.dropout_policy is DropoutPolicy.OPEN

    def _displayed(self, bpm: float) -> float:
        """Tempo for people: rounded to ``display_step_bpm``; it moves only once the tempo is
        more than half a step plus the hysteresis away from what is shown, so it never flickers."""
        s = self.settings
        candidate = round(round(bpm / s.display_step_bpm) * s.display_step_bpm, 6)
        if candidate != self._display and abs(bpm - self._display) > s.display_step_bpm / 2 + s.display_hysteresis_bpm:
            return candidate
        return self._display

    def _period_of(self, bpm: float) -> float:
        return 60.0 * self.sample_rate / (PPQN * float(bpm))

    def _bpm_of(self, period: float) -> float:
        return 60.0 * self.sample_rate / (PPQN * period)
