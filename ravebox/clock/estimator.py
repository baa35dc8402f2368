"""Tick-time estimator: a DLL in Kalman form whose bandwidth adapts, with outlier gating and change tests.

Why this shape (Ardour's and x42's followers are a second-order DLL; this is
the same loop written as a two-state Kalman filter, so its bandwidth is
computed rather than tuned): the state is the time ``T`` of the newest tick
and the tick period ``P``. After a (re)seed the filter is wide open and
narrows as ticks agree, which makes it a least-squares line over the ticks
since the seed; a small process noise caps its memory at about ``WINDOW``
ticks. Its gain is therefore wide when little is known and narrow when
much is, which is what a fixed-bandwidth DLL cannot be.

Ticks are **counted**: tick ``n`` after the seed has index ``n``. Counting is
right whatever the jitter (±5 ms is more than half a tick at 300 BPM, so no
gap can be rounded to a tick count there), and a tempo halved or doubled is
just a tempo change. Three things keep the line honest:

- **Gate**: a tick more than ``GATE`` sigmas from its prediction is held back
  (*pending*) rather than bending the line. When a later tick fits the line
  again, the held ones were outliers (a USB burst, a late message): their
  times are dropped, their count kept.
- **Change test**: when held ticks do not come back, or a CUSUM of the
  residuals alarms (a small tempo step), the filter is rolled back to a tick
  before the trouble and replayed under each hypothesis: a *kink* (new
  tempo, the time line continuous), a *jump* (new phase and tempo), or an
  *index shift* (a tick lost or doubled on the cable; only when the jitter is
  small enough to tell one tick from another). A hypothesis wins only if the
  newest ticks fit it and it explains the ticks clearly better.
- **Resume** after a dropout: the master is assumed to have played on, so
  the first ``RESUME_TICKS`` ticks are held and their index offset chosen
  from all of them (one tick alone could round the wrong way).

The jitter sigma is measured from second differences of tick times (their
median absolute deviation), which no tempo step or lone outlier can inflate.

Thread: the control thread (through :class:`~ravebox.clock.follower.ClockFollower`),
or the render loop. Pure and deterministic: same ticks in, same lines out.

Why one module of about 480 lines (over the house rule's 350): the filter, its outlier gate, the change
tests and the roll-back replay share one tick log and one fit; each piece is
small, and they are only correct together (bench/clock_torture.py holds them to it).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

GATE = 3.5            # sigmas of the prediction error a tick may be off and still count
CUSUM_DRIFT = 0.5     # CUSUM slack, in sigmas
CUSUM_ALARM = 6.0     # CUSUM threshold, in sigmas
CUSUM_TICKS = 6       # fewest ticks a change found by the CUSUM is fitted over
CHANGE_COST = 20.0    # squared sigmas a change must explain better than no change
WINDOW = 384          # ticks of memory while the tempo is steady (16 beats)
MAX_PENDING = 24      # held ticks before the filter gives up and re-seeds on them
RESUME_TICKS = 6      # ticks after a dropout read together to find where the master is
RESUME_PHASE = 0.3    # prior sigma of the phase after a dropout, in periods
LOG = 64              # ticks kept for rolling back
NOISE_TICKS = 64      # second differences the jitter estimate looks at
WIDE = 8.0            # prior sigma of a new tempo, in periods: any tempo from 0 to 29 times the last
GRID_LOST = 3         # most ticks counted as lost between the first two after a Start (see reseed)
GRID_SLACK = 0.01     # ... when their gap is that many old periods within this fraction of one (jitter included)
GRID_MATCHED = 8      # ... and the old line had met this many ticks in a row


@dataclass(frozen=True, slots=True)
class TickLine:
    """Tick index as a line of frames: ``k(frame) = k_ref + (frame - t_ref) / period``."""

    t_ref: float
    k_ref: float
    period: float  # frames per tick

    def time_of(self, k: float) -> float:
        return self.t_ref + (k - self.k_ref) * self.period

    def index_at(self, frame: float) -> float:
        return self.k_ref + (frame - self.t_ref) / self.period


@dataclass(frozen=True, slots=True)
class _Fit:
    """Kalman state at tick ``k``: time ``T``, period ``P`` and their covariance."""

    k: int
    T: float
    P: float
    tt: float
    tp: float
    pp: float

    def predict(self, k: int, q: float) -> "_Fit":
        n = k - self.k
        return _Fit(k, self.T + n * self.P, self.P,
                    self.tt + 2 * n * self.tp + n * n * self.pp + q * n ** 3 / 3.0,
                    self.tp + n * self.pp + q * n * n / 2.0, self.pp + q * n)

    def z(self, t: float, r: float) -> float:
        """Residual of a tick at ``t`` (this fit predicted to its index) in sigmas."""
        return (t - self.T) / math.sqrt(self.tt + r)

    def update(self, t: float, r: float) -> "_Fit":
        s = self.tt + r
        e = t - self.T
        kt, kp = self.tt / s, self.tp / s
        return _Fit(self.k, self.T + kt * e, self.P + kp * e,
                    self.tt * (1 - kt), self.tp * (1 - kt), self.pp - kp * self.tp)


def _mad(values: Iterable[float]) -> float:
    """Median absolute deviation, scaled to a sigma for Gaussian data."""
    x = np.fromiter(values, dtype=np.float64)
    return 1.4826 * float(np.median(np.abs(x - np.median(x))))


def _seeded(k: int, t: float, period: float, r: float) -> _Fit:
    """A fit that knows where tick ``k`` fell and hardly anything about the tempo."""
    return _Fit(k, t, period, r, 0.0, (WIDE * period) ** 2)


@dataclass(slots=True)
class _Tick:
    k: int
    t: float
    before: _Fit | None   # the fit before this tick (for rolling back)


class _Replay(NamedTuple):
    """What running the filter again over logged ticks under one hypothesis gave."""

    fit: _Fit
    cost: float              # squared residuals in sigmas, each clipped at the gate
    newest_fit: bool         # the last two ticks met their predictions
    befores: list[_Fit]      # the fit before each replayed tick
    misses: int              # ticks that did not meet their prediction (dropped as outliers)


class TickEstimator:
    """Follows tick times; see the module docstring for why and how."""

    def __init__(self, initial_noise: float, min_period: float = 1.0, max_period: float = math.inf,
                 initial_period: float | None = None) -> None:
        """``initial_noise``: jitter sigma guess (frames) until measured; ``min_period`` /
        ``max_period``: the fastest and slowest tempo a change may be read as (frames per tick);
        ``initial_period``: the tempo guess before the first two ticks."""
        self.min_period = float(min_period)
        self.max_period = float(max_period)
        self._d2: deque[float] = deque(maxlen=NOISE_TICKS)
        self._gaps: deque[int] = deque(maxlen=NOISE_TICKS)  # whole-frame gaps, for their common quantum
        self._noise = max(float(initial_noise), 0.5)
        self._fit: _Fit | None = None
        self._log: deque[_Tick] = deque(maxlen=LOG)
        self._pending = 0               # newest ticks in the log held back
        self._cusum = [0.0, 0.0, 0]     # high, low, tick index where it left zero
        self._resume: list[float] | None = None
        self._resume_from = 0           # index of the first tick after a dropout, before any shift
        self.prior_period = initial_period
        self.last_k: int | None = None
        self.matched = 0                # ticks in a row that met their prediction
        self.age = 0                    # ticks since the last seed
        self.restarts = 0
        self.rejected = 0
        self.shifts = 0
        self._moves: list[tuple[int, int]] = []  # (first index moved, by how much), not yet taken
        self._grid: float | None = None  # the period before a Start, for the ticks lost right after it

    # -- public -------------------------------------------------------------------
    @property
    def line(self) -> TickLine | None:
        """The current line, or None until a tick seeds one."""
        f = self._fit
        return None if f is None else TickLine(f.T, float(f.k), max(f.P, 1.0))

    @property
    def noise(self) -> float:
        """Measured tick jitter sigma, in frames."""
        return self._noise

    @property
    def period_sigma(self) -> float:
        """Standard error of the period, in frames (inf before two ticks)."""
        f = self._fit
        return math.inf if f is None or self.matched < 2 else math.sqrt(max(f.pp, 0.0))

    def overdue(self, frame: float) -> bool:
        """Whether the next tick should have come by ``frame`` and has not: the line no longer
        predicts the clock (a slower tempo, a stall), whatever the ticks so far said."""
        f = self._fit
        if f is None or self.last_k is None:
            return False
        nxt = f.predict(self.last_k + 1, self._q())
        return frame > nxt.T + GATE * math.sqrt(nxt.tt + self._r())

    @property
    def held(self) -> int:
        """Newest ticks held back: their place on the line is not decided yet."""
        return self._pending + len(self._resume or ())

    def take_moves(self) -> list[tuple[int, int]]:
        """Index corrections since the last call: ``(k, shift)`` = every index from ``k`` on
        (as handed out before) moved by ``shift``. Whoever kept an index adds the shift."""
        moves, self._moves = self._moves, []
        return moves

    def tick(self, t: float) -> int:
        """Take one tick stamped at frame ``t``; returns its (counted) index."""
        t = float(t)
        self._measure_noise(t)
        if self._resume is not None:
            return self._resume_tick(t)
        k = 0 if self.last_k is None else self.last_k + 1
        fit = self._fit
        if self._grid is not None and fit is not None and self.age == 1:
            k += self._lost_after_seed(t - fit.T, self._grid)
        self._grid = None if fit is not None else self._grid
        self.last_k = k
        self._log.append(_Tick(k, t, fit))
        if fit is None:
            self._seed(k, t)
            return k
        pred = fit.predict(k, self._q())
        z = pred.z(t, self._r())
        if self._pending == 0 and abs(z) <= GATE:
            self._accept(pred.update(t, self._r()), z)
            if max(self._cusum[:2]) > CUSUM_ALARM:  # a small change needs more ticks to show its slope
                self._test_change(self._position_of(int(self._cusum[2])), after=CUSUM_TICKS)
            return k
        self._pending += 1
        self.matched = 0
        self._resolve()
        return k

    def reseed(self, same_tempo: bool = False) -> None:
        """Forget the fit (keep the period as a prior and the jitter): the next tick starts anew.

        For Start and a new source: whatever came before says nothing about
        where the next tick falls.

        ``same_tempo`` (a Start from the source followed so far): when the second tick comes two to
        four of the old periods after the first, the ticks between were lost (an xrun in the cycles
        right after Start; jack_midi_clock sends the first clock with the Start) and are counted.
        Read as a tempo, that gap said a half or a third of it (132 BPM read 44.0 after a Start) and
        the beat stayed behind by the lost ticks. A Start into a new song at exactly a half or a third
        of the old tempo (within ``GRID_SLACK`` of a period, which only a clock of sample-accurate stamps
        can show) is read as lost ticks instead: its next ticks correct the tempo (a change test), and
        the count may stay ahead by those ticks.
        """
        good = self._fit is not None and self.matched >= GRID_MATCHED
        self._grid = self._fit.P if same_tempo and good and self._fit is not None else None
        if self._fit is not None:
            self.prior_period = self._fit.P
        self._fit = None
        self._pending = 0
        self._resume = None
        self._cusum = [0.0, 0.0, 0]
        self.matched = 0
        self.age = 0
        self._log.clear()
        self.restarts += 1

    def resume(self) -> None:
        """After a dropout: the master played on; the next ticks re-find their place on the line."""
        self.matched = 0
        self._pending = 0
        self._cusum = [0.0, 0.0, 0]
        if self._fit is not None:
            self._resume = []
            self._resume_from = (self.last_k if self.last_k is not None else self._fit.k) + 1  # held ticks count
        self.restarts += 1

    # -- the filter ---------------------------------------------------------------
    def _r(self) -> float:
        return self._noise * self._noise

    def _q(self) -> float:
        """Process noise on the period: caps the memory at about WINDOW ticks."""
        return self._r() / float(WINDOW) ** 4

    def _lost_after_seed(self, gap: float, grid: float) -> int:
        """Ticks lost between the first two after a Start, judged on the period before it (0: none)."""
        m = round(gap / grid)
        slack = GRID_SLACK * grid
        if not 2 <= m <= GRID_LOST + 1 or GATE * math.sqrt(2.0 * self._r()) > slack:
            return 0   # no whole number of periods, or a jitter that cannot tell a lost tick from a new tempo
        return m - 1 if abs(gap - m * grid) <= slack else 0

    def _seed(self, k: int, t: float) -> None:
        self._fit = _seeded(k, t, self.prior_period or 1000.0, self._r())
        self.matched = 0
        self.age = 1
        self._pending = 0
        self._cusum = [0.0, 0.0, k + 1]

    def _accept(self, fit: _Fit, z: float) -> None:
        self._fit = fit
        self.matched += 1
        self.age += 1
        hi, lo, start = self._cusum
        hi, lo = max(0.0, hi + z - CUSUM_DRIFT), max(0.0, lo - z - CUSUM_DRIFT)
        if hi == 0.0 and lo == 0.0:
            start = fit.k + 1
        self._cusum = [hi, lo, start]

    def _position_of(self, k: int) -> int:
        """Log position of the tick with index ``k`` (clamped to the log)."""
        for i, tick in enumerate(self._log):
            if tick.k >= k:
                return i
        return len(self._log) - 1

    def _measure_noise(self, t: float) -> None:
        """Jitter sigma: the larger of two robust measures (median absolute deviations).

        Second differences of tick times ignore tempo steps and lone outliers but
        miss errors that change slowly from tick to tick (timestamps floored to the
        JACK period make a sawtooth, and a median of mostly equal gaps is blind to
        it). So when every recent gap is a multiple of one quantum that could be a
        JACK period (a power of two from 16 frames, under half a tick), the jitter is
        at least that of a uniform error over the quantum.
        """
        log = self._log
        if len(log) >= 2 and self._resume is None:
            self._d2.append(t - 2.0 * log[-1].t + log[-2].t)
        if len(log) >= 1 and self._resume is None and t.is_integer() and log[-1].t.is_integer():
            self._gaps.append(int(t - log[-1].t))
        if len(self._d2) >= 8:
            quantum = math.gcd(*self._gaps) if len(self._gaps) >= 8 else 1
            if quantum < 16 or quantum & (quantum - 1) or quantum > 0.5 * float(np.median(self._gaps)):
                quantum = 1  # not a JACK period (a power of two, smaller than a tick): regular ticks
            self._noise = max(0.5, _mad(self._d2) / math.sqrt(6.0), quantum / math.sqrt(12.0))

    # -- held ticks and changes -----------------------------------------------------
    def _resolve(self) -> None:
        """Decide what the held-back ticks were, if the ticks so far tell."""
        first = len(self._log) - self._pending
        newest = self._log[-1]
        base, fit = self._log[first].before, self._fit
        assert base is not None and fit is not None   # ticks are held only against a fit
        if abs(fit.predict(newest.k, self._q()).z(newest.t, self._r())) <= GATE:
            self._adopt(first, self._replay(base, first, 0, None))   # outliers after all
            return
        if self._test_change(first):
            return
        if self._pending >= MAX_PENDING:
            jump = self._replay(base, first, 0, "jump")
            if jump is None:
                self._restart_on_newest()
            else:
                self._adopt(first, jump, restart=True)

    def _restart_on_newest(self) -> None:
        """Start anew from the newest tick, the period kept as the prior.

        For held ticks no reading places (every replay gives a period outside
        ``min_period`` .. ``max_period``: a loaded machine or a USB stall bunched
        them): holding them longer cannot help, and a hold that outgrows the log
        would lose the ticks it rolls back to.
        """
        newest = self._log[-1]
        if self._fit is not None:  # within the tempo range: a fit of ticks bunched into one frame has P near 0,
            # and a prior of 0 would seed every later line at 0 (stuck, the follower holding for good)
            self.prior_period = min(max(self._fit.P, self.min_period), self.max_period)
        self._log.clear()
        self._log.append(_Tick(newest.k, newest.t, None))
        self._seed(newest.k, newest.t)
        self.restarts += 1

    def _test_change(self, since: int, after: int = 2) -> bool:
        """Roll back to before ``since`` (or a few ticks earlier) and try each hypothesis
        on at least ``after`` ticks."""
        log = self._log
        since = max(1, min(since, len(log) - 1))
        best = None
        for c in range(max(1, since - 4), min(len(log) + 1 - after, since + 12)):
            base = log[c].before
            if base is None:
                continue
            old = self._replay(base, c, 0, None)
            for how, shift in self._hypotheses():
                trial = self._replay(base, c, shift, how)
                if trial is None or not trial.newest_fit:
                    continue
                gain = (old.cost if old else math.inf) - trial.cost
                if gain > CHANGE_COST and (best is None or trial.cost < best[1].cost):
                    best = (c, trial, shift)
        self._cusum = [0.0, 0.0, log[-1].k + 1]
        if best is None:
            return False
        c, trial, shift = best
        self._adopt(c, trial, restart=True, shift=shift)
        return True

    def _hypotheses(self) -> list[tuple[str | None, int]]:
        fit = self._fit
        hyps: list[tuple[str | None, int]] = [("kink", 0), ("jump", 0)]
        if fit is not None and fit.P > 4.0 * GATE * self._noise:  # one tick is told from another
            hyps += [(None, s) for s in (-2, -1, 1, 2)]
        return hyps

    def _replay(self, base: _Fit, first: int, shift: int, how: str | None) -> _Replay | None:
        """Run the filter from ``base`` over logged ticks ``first``.. with indices moved by
        ``shift`` after a ``how`` ("kink", "jump" or None) at ``first``; None when the
        reading is no tempo at all (outside ``min_period`` .. ``max_period``)."""
        q, r = self._q(), self._r()
        fit = base
        ticks = list(self._log)[first:]
        if how == "kink":
            fit = replace(fit, pp=max(fit.pp, (WIDE * fit.P) ** 2), tp=0.0)
        cost, fits, befores = 0.0, [], []
        for i, tick in enumerate(ticks):
            k = tick.k + shift
            befores.append(fit)
            if how == "jump" and i == 0:
                fit = _seeded(k, tick.t, base.P, r)
                fits.append(True)
                cost += GATE * GATE  # a new phase must earn its keep like an outlier
                continue
            if k <= fit.k:  # a doubled message read away by the shift
                fits.append(False)
                continue
            pred = fit.predict(k, q)
            z = pred.z(tick.t, r)
            ok = abs(z) <= GATE
            fits.append(ok)
            cost += min(z * z, GATE * GATE)
            if ok:
                fit = pred.update(tick.t, r)
        if not self.min_period <= fit.P <= self.max_period:
            return None
        used = len(ticks) - (1 if how == "jump" else 0)
        newest_fit = used >= 2 and all(fits[-2:])
        return _Replay(fit, cost, newest_fit, befores, fits.count(False))

    def _adopt(self, first: int, result: _Replay | None, restart: bool = False, shift: int = 0) -> None:
        """Take a replay's outcome as the truth from logged tick ``first`` on."""
        if result is None:
            return
        fit, _, _, befores, misses = result
        ticks = list(self._log)[first:]
        if shift and ticks:
            self._moves.append((ticks[0].k, shift))
        for tick, before in zip(ticks, befores):
            tick.before = before
            tick.k += shift
        self.rejected += misses
        self.last_k = ticks[-1].k if ticks else self.last_k
        self._fit = fit
        self._pending = 0
        self._cusum = [0.0, 0.0, fit.k + 1]
        if restart:
            self.matched = 0
            self.age = len(ticks)
            self.restarts += 1
            self.shifts += shift != 0
        else:
            self.matched = len(ticks) - misses

    # -- after a dropout --------------------------------------------------------------
    def _resume_tick(self, t: float) -> int:
        """Hold ticks after a dropout until ``RESUME_TICKS`` of them came at a normal spacing,
        then place them all by how far those lie from the line the master kept playing.

        Why the spacing: a USB stall longer than the dropout delivers its ticks in one
        burst; those were late, not lost, so they are counted. Ticks lost on a silent
        cable show instead as normally spaced ticks a whole number of periods late.
        """
        held = self._resume
        fit = self._fit
        assert held is not None and fit is not None
        held.append(t)
        k0 = self._resume_from
        self.last_k = k0 + len(held) - 1
        normal = [i for i in range(1, len(held)) if held[i] - held[i - 1] >= 0.5 * fit.P]
        if len(normal) < RESUME_TICKS and len(held) < MAX_PENDING:
            return self.last_k
        use = np.asarray(normal or range(len(held)))
        late = np.asarray(held)[use] - (fit.T + (k0 - fit.k + use) * fit.P)
        shift = max(0, round(float(np.mean(late)) / fit.P))
        if shift:
            self._moves.append((k0, shift))
        self._resume = None
        self._log.clear()
        for i in use:  # a burst's ticks are counted but say nothing of where the grid is
            self._log.append(_Tick(k0 + shift + int(i), held[i], None))
        # the master may also have paused and come back off its old grid: the phase is re-measured
        fit = replace(fit, tt=fit.tt + (RESUME_PHASE * fit.P) ** 2)
        self._log[0].before = fit
        self._pending = len(use)
        result = self._replay(fit, 0, 0, None)
        if result is not None and result.newest_fit:
            self._adopt(0, result)
        else:
            placed = self._replay(fit, 0, 0, "kink") or self._replay(fit, 0, 0, "jump")
            if placed is None:
                self._restart_on_newest()
            else:
                self._adopt(0, placed, restart=True)
        self.last_k = k0 + shift + len(held) - 1  # every held tick counts, used or not
        return self.last_k
