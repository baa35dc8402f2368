"""Tick-time estimator: an adaptive-window line fit of tick times over tick indices.

Why not a fixed-bandwidth DLL: with ±1 ms jitter a DLL narrow enough for
0.01 BPM steadiness needs about 16 beats to settle after a tempo step, and one
wide enough to settle in 1.5 beats jitters by tenths of a BPM. A least-squares
line over the ticks since the last detected change has the smallest variance
an unbiased linear estimator can have for that data, and its window grows
while the tempo is steady (up to ``max_window`` ticks) and restarts on a step.

How a step is caught: every new tick is compared with the line's prediction;
the residual, normalised by the noise level (estimated from the fit itself)
and by the prediction's own uncertainty, drives a two-sided CUSUM. Suspicious
ticks are held back ("pending") instead of bending the line. When the CUSUM
alarms, a change-point test compares "no change" with "a kink at tick c"
(the new line anchored where the old one predicted tick c, since tick times are
continuous across a tempo change) and with "a free new line" (a phase jump).
Only a significant improvement restarts the fit; otherwise the pending ticks
are committed (outliers dropped). In a tempo ramp the line is replaced by
the tangent of a parabola through the recent ticks, once its curvature is
unmistakable.

How ticks are counted: each tick is indexed by its gap to the previous one
rounded to whole periods (2 = one tick missed; under half a period = a
duplicate, dropped). When the tempo jumps by a third or more, that rounding
misreads the gaps, so odd gaps next to a change (or two long gaps in a row,
or two duplicates within four ticks) make the estimator re-read the recent
gaps with :func:`ravebox.clock.gaps.read_gaps` and re-index them.

Thread: the control thread (through :class:`~ravebox.clock.follower.ClockFollower`),
or the render loop. Pure and deterministic: same ticks in, same lines out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ravebox.clock.gaps import read_gaps


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
class EstimatorTuning:
    """Knobs of :class:`TickEstimator`; the defaults meet the clock goals of issue 7."""

    max_window: int = 384          # ticks kept in the fit when steady (16 beats)
    cusum_drift: float = 1.0       # CUSUM slack k, in noise sigmas
    cusum_alarm: float = 4.0       # CUSUM threshold h, in noise sigmas
    change_gain: float = 16.0      # SSE improvement (in sigma^2) a change must buy
    change_z: float = 3.0          # both last residuals must reach this many sigmas, same sign
    outlier_z: float = 6.0         # |z| above which a pending tick is dropped on commit
    max_pending: int = 12          # ticks held back at most before committing
    anchor_weight: float = 8.0     # weight of the kink anchor, in ticks
    noise_prior_count: float = 8.0  # pseudo-count of the previous noise estimate
    min_noise: float = 0.5         # frames; timestamps are integers
    min_fit: int = 24              # ticks committed unconditionally after a (re)start
    history: int = 24              # raw ticks remembered for change-point search
    kink_back: int = 16            # how far before the alarm a kink is looked for
    kink_span: int = 4             # kink candidates searched either side of the detected one
    curve_window: int = 48         # ticks a ramp (parabola) is fitted over
    curve_min: int = 16            # fewest ticks before a ramp is considered
    curve_t: float = 5.0           # curvature must be this many standard errors
    reread_ticks: int = 6          # ticks after a jump over which its gaps are read again
    odd_gap_cost: float = 9.0      # cost (in squared sigmas) of reading a gap as missed or duplicate
    kink_young: int = 96           # ticks after a kink during which its location is re-fitted


@dataclass(slots=True)
class _Kink:
    """A detected tempo change: the line before it and where it may have happened."""

    old: TickLine
    candidates: list[int]
    pre: list[tuple[int, float]]  # raw ticks around the candidates
    chosen: tuple[float, float] | None = None


@dataclass(slots=True)
class _Episode:
    """Ticks around a suspected jump, read again with every new tick for a few ticks.

    Why: whether a long gap was a lost tick or a slower tempo (a short one a
    doubled message or a faster tempo) shows only in the gaps after it, and
    a wrong reading would shift the beat by whole ticks for good. So the
    state from before the jump is kept and the indexing redone as gaps arrive.
    """

    keep: int
    k: np.ndarray
    t: np.ndarray
    w: np.ndarray
    old: TickLine
    noise: float
    restarts: int
    times: list[float]
    left: int


class TickEstimator:
    """Fits tick times against tick indices; see the module docstring for why and how."""

    def __init__(self, initial_noise: float, tuning: EstimatorTuning | None = None,
                 min_period: float = 0.0) -> None:
        """``initial_noise``: tick-time sigma guess in frames; ``min_period``: frames below
        which a gap is always a duplicate (the fastest tempo ever expected)."""
        self.tuning = tuning or EstimatorTuning()
        self.min_period = float(min_period)
        cap = self.tuning.max_window + 1
        self._k = np.zeros(cap)          # committed ticks (ring, oldest first after unroll)
        self._t = np.zeros(cap)
        self._w = np.zeros(cap)
        self._n = 0
        self._noise = max(float(initial_noise), self.tuning.min_noise)
        self._prior_noise = self._noise
        self._pending: list[tuple[int, float, float]] = []  # (k, t, z)
        self._cusum_hi = 0.0
        self._cusum_lo = 0.0
        self._line: TickLine | None = None
        self._leverage_terms = (0.0, 0.0, 0.0)  # (sum w, mean k, sum w (k-mean)^2)
        self._history: list[tuple[int, float]] = []  # last raw ticks, committed or pending
        self._kink: _Kink | None = None
        self._raw: list[tuple[float, str]] = []  # last raw ticks and how their gap looked
        self._unexplained = False
        self._young_outliers = 0
        self._episode: _Episode | None = None
        self.last_k: int | None = None
        self.last_t: float | None = None
        self.prior_period: float | None = None
        self.restarts = 0
        self.rejected = 0

    # -- public -------------------------------------------------------------------
    @property
    def line(self) -> TickLine | None:
        """The current fit, or None until two ticks (or a prior tempo) define one."""
        return self._line

    @property
    def count(self) -> int:
        """Ticks in the current fit (committed, not pending)."""
        return self._n

    @property
    def lag(self) -> float:
        """Frames by which the newest held-back tick trails the line (0 when none is held).

        Why: while a change is being confirmed the line still predicts the old
        tempo; once the evidence is strong (CUSUM past half its alarm), the
        follower may shift the phase by this much so that gates do not drift
        until the fit restarts.
        """
        if not self._pending or self._line is None:
            return 0.0
        if max(self._cusum_hi, self._cusum_lo) < 0.5 * self.tuning.cusum_alarm:
            return 0.0
        k, t, _ = self._pending[-1]
        return t - self._line.time_of(k)

    @property
    def noise(self) -> float:
        """Estimated tick-time noise sigma, in frames."""
        return self._noise

    def tick(self, t: float) -> int | None:
        """Take one tick stamped at frame ``t``; returns its tick index, or None if dropped."""
        t = float(t)
        ep = self._episode
        if ep is not None:  # still re-reading the gaps around a jump: one more gap to read
            ep.times.append(t)
            ep.left -= 1
            if ep.left <= 0:
                self._episode = None
            return self._reread(ep)
        kind, k = self._classify(t)
        self._raw.append((t, kind))
        del self._raw[:-8]
        if self._needs_reacquire():
            return self._reacquire()
        if k is None:
            self.rejected += 1
            return None
        self.last_k, self.last_t = k, t
        self._history.append((k, t))
        del self._history[:-self.tuning.history]
        if self._line is None or self._n < self.tuning.min_fit:
            if self._n >= 4 and abs(self._z(k, t)) > self.tuning.outlier_z:
                self.rejected += 1
                self._young_outliers += 1
                self._unexplained = self._young_outliers >= 2  # a young fit that was wrong
                return k
            self._young_outliers = 0
            self._commit(k, t, 1.0)
            return k
        z = self._z(k, t)
        if not self._pending and abs(z) <= self.tuning.cusum_drift:
            self._cusum_hi = self._cusum_lo = 0.0
            self._commit(k, t, 1.0)
            return k
        self._cusum_hi = max(0.0, self._cusum_hi + z - self.tuning.cusum_drift)
        self._cusum_lo = max(0.0, self._cusum_lo - z - self.tuning.cusum_drift)
        self._pending.append((k, t, z))
        self._settle_pending()
        return self.last_k

    def resume(self) -> None:
        """Forget the fit but keep counting: after a dropout, the next ticks re-acquire.

        The last period is kept as a prior so that the first tick after the gap
        gets the index the master most likely sent it with.
        """
        if self._line is not None:
            self.prior_period = self._line.period
        self._prior_noise = self._noise
        self._n = 0
        self._pending.clear()
        self._cusum_hi = self._cusum_lo = 0.0
        self._line = None
        self._kink = None
        self.restarts += 1

    # -- indexing -----------------------------------------------------------------
    def _classify(self, t: float) -> tuple[str, int | None]:
        """Index a tick by its gap to the last one: "ok", "long" (ticks missed?) or "dup"."""
        if self.last_t is None or self.last_k is None:
            return "ok", 0
        period = self._line.period if self._line is not None else self.prior_period
        gap_frames = t - self.last_t
        if gap_frames < self.min_period:
            return "dup", None
        if period is None:
            return "ok", self.last_k + 1
        ratio = gap_frames / period
        if ratio < 0.5:
            return "dup", None
        gap = int(np.floor(ratio + 0.5))
        return ("long" if gap >= 2 else "ok"), self.last_k + gap

    def _needs_reacquire(self) -> bool:
        """Gaps that no longer fit the period: the tempo has moved by more than a third.

        Why: a single long gap is a missed tick and a single short one a
        duplicate, but two long gaps in a row (judged one tick later, since two
        missed ticks look the same), two duplicates in four ticks,
        or ticks the change test cannot explain mean a new tempo, so the
        recent ticks are re-indexed one apart.
        """
        kinds = [kind for _, kind in self._raw]
        if kinds[-3:-1] == ["long", "long"] or kinds[-4:].count("dup") >= 2 or self._unexplained:
            return self._n > 0 and len(self._recent_after_trusted()) >= 2
        return False

    def _odd_gap_near_pending(self) -> bool:
        """Whether a duplicate or a long gap came with (or just before) the held-back ticks.

        A lone missed tick is exactly predicted and never alarms, so an odd gap
        next to an alarm means the period itself moved past the rounding.
        """
        if not self._pending:
            return False
        times = [t for t, _ in self._raw]
        first = int(np.searchsorted(times, self._pending[0][1], "left"))
        return any(kind != "ok" for _, kind in self._raw[max(0, first - 3):])

    def _trusted(self) -> int:
        """How many committed ticks to keep: those before the first odd gap still remembered."""
        odd = [t for t, kind in self._raw if kind != "ok"]
        if not odd:
            return self._n
        return int(np.searchsorted(self._t[:self._n], odd[0], "left"))

    def _recent_after_trusted(self) -> list[float]:
        keep = self._trusted()
        if keep == 0:
            return []
        t_trusted = self._t[keep - 1]
        return [t for t, _ in self._raw if t > t_trusted]

    def _reacquire(self) -> int | None:
        """Start re-reading the ticks since the last trusted one (see :class:`_Episode`)."""
        keep = self._trusted()
        self._episode = _Episode(
            keep, self._k[:keep].copy(), self._t[:keep].copy(), self._w[:keep].copy(),
            self._line, self._noise, self.restarts, self._recent_after_trusted(), self.tuning.reread_ticks)
        return self._reread(self._episode)

    def _reread(self, ep: "_Episode") -> int | None:
        """Index the episode's ticks by the best reading of their gaps, from the saved state.

        :func:`read_gaps` decides which gaps were duplicates or missed ticks and
        where the tempo changed. With no change, the ticks are committed with
        their new indices; with one, the fit restarts from a kink there.
        """
        keep = ep.keep
        self._k[:keep], self._t[:keep], self._w[:keep] = ep.k, ep.t, ep.w
        k_tr, t_tr = int(ep.k[-1]), float(ep.t[-1])
        old = ep.old
        gaps = np.diff(np.concatenate([[t_tr], ep.times]))
        change, steps = read_gaps(gaps, old.period, ep.noise, self.tuning.odd_gap_cost)
        ks = k_tr + np.cumsum(steps)
        self._pending.clear()
        self._raw.clear()
        self._cusum_hi = self._cusum_lo = 0.0
        self._unexplained = False
        self._young_outliers = 0
        self._noise = ep.noise
        self._kink = None
        self.restarts = ep.restarts
        ticks = [(int(k), t) for k, t, m in zip(ks, ep.times, steps) if m > 0]
        if change is None:
            self._n = keep
            self._line = old
            for k, t in ticks:
                self._append(float(k), t, 1.0)
        else:
            self._prior_noise = ep.noise
            self.prior_period = None
            self._n = 0
            kc = k_tr + int(np.sum(steps[:change]))
            span = self.tuning.kink_span
            pre = [(k_tr, t_tr)] + [(k, t) for k, t in ticks if k <= kc]
            self._kink = _Kink(old, [kc + d for d in range(-span, span + 1) if kc + d >= k_tr], pre)
            self.restarts += 1
            for k, t in ticks:
                if k > kc:
                    self._append(float(k), t, 1.0)
        self._refit()
        self.last_k, self.last_t = ticks[-1] if ticks else (k_tr, t_tr)
        self._history = ticks[-self.tuning.history:]
        return self.last_k if steps[-1] > 0 else None

    def _z(self, k: int, t: float) -> float:
        """Residual of tick ``(k, t)`` in sigmas of the prediction error."""
        line = self._line
        assert line is not None
        sw, kbar, skk = self._leverage_terms
        lev = 1.0 / sw + ((k - kbar) ** 2 / skk if skk > 0 else 0.0)
        return (t - line.time_of(k)) / (self._noise * np.sqrt(1.0 + lev))

    # -- pending ticks and change detection -----------------------------------------
    def _settle_pending(self) -> None:
        tun = self.tuning
        if self._cusum_hi > tun.cusum_alarm or self._cusum_lo > tun.cusum_alarm:
            if self._odd_gap_near_pending():
                # an odd gap at a change: the tempo moved by a third or more; read the gaps
                # once a tick after the odd one shows the new spacing
                if self._raw[-1][1] == "ok" and len(self._recent_after_trusted()) >= 3:
                    self._reacquire()
                return
            if len(self._pending) >= 2 and self._try_change():
                return
            if len(self._pending) >= 3 and all(abs(z) > tun.outlier_z for *_, z in self._pending[-3:]):
                self._unexplained = True  # far off and no kink explains it: re-index on the next tick
                return
            if len(self._pending) >= 3 or abs(self._pending[-1][2]) <= tun.outlier_z:
                self._flush_pending()
            return
        if (self._cusum_hi == 0.0 and self._cusum_lo == 0.0) or len(self._pending) >= tun.max_pending:
            self._flush_pending()

    def _flush_pending(self) -> None:
        """Commit held-back ticks that were noise after all; drop the outliers."""
        pending, self._pending = self._pending, []
        self._cusum_hi = self._cusum_lo = 0.0
        for k, t, z in pending:
            if abs(z) > self.tuning.outlier_z:
                self.rejected += 1
            else:
                self._commit(k, t, 1.0)

    def _try_change(self) -> bool:
        """Test "no change" against a kink or a phase jump among the pending ticks."""
        line = self._line
        assert line is not None
        ks = np.array([p[0] for p in self._pending], dtype=np.float64)
        ts = np.array([p[1] for p in self._pending], dtype=np.float64)
        base = ts - (line.t_ref + (ks - line.k_ref) * line.period)
        zs = np.array([p[2] for p in self._pending], dtype=np.float64)
        sse0 = float(np.sum(zs * zs)) * self._noise ** 2  # the old line's own uncertainty counts
        best = (sse0, -1, None)
        for c in range(-1, len(ks) - 2):  # change after pending tick c (-1: before all)
            kc = ks[c] if c >= 0 else float(self.last_committed_k())
            tc = line.time_of(kc)
            post_k, post_t = ks[c + 1:] - kc, ts[c + 1:] - tc
            slope = float(np.dot(post_k, post_t) / np.dot(post_k, post_k))
            if not 0.25 < slope / line.period < 4.0:
                continue  # no musical tempo change; an outlier pulled the slope
            res = post_t - slope * post_k
            sse = float(np.sum(base[:c + 1] ** 2) + np.sum(res * res))
            if sse < best[0]:
                best = (sse, c, (kc, tc, True))
            if len(post_k) >= 5:  # a phase jump must beat every kink clearly
                a, b = np.polyfit(post_k, post_t, 1)
                res = post_t - (a * post_k + b)
                sse = float(np.sum(base[:c + 1] ** 2) + np.sum(res * res))
                if sse < best[0] - self.tuning.change_gain * self._noise ** 2:
                    best = (sse, c, (kc, tc, False))
        if sse0 - best[0] < self.tuning.change_gain * self._noise ** 2 or best[2] is None:
            return False
        (_, _, z1), (_, _, z2) = self._pending[-2:]
        if min(abs(z1), abs(z2)) < self.tuning.change_z or z1 * z2 < 0.0:
            return False  # ordinary jitter, or one outlier: a change moves two ticks the same way
        self._restart_at(best[1], *best[2])
        return True

    def last_committed_k(self) -> int:
        return int(self._k[self._n - 1]) if self._n else int(self.last_k or 0)

    def _restart_at(self, c: int, kc: float, tc: float, anchored: bool) -> None:
        """Start a new fit from the ticks after pending tick ``c``."""
        post = self._pending[c + 1:]
        self._pending = []
        self._line_before_restart = self._line
        self._cusum_hi = self._cusum_lo = 0.0
        self.prior_period = self._line.period if self._line is not None else None
        self._prior_noise = self._noise
        self._n = 0
        self._line = None
        self.restarts += 1
        old = self._line_before_restart
        self._kink = None
        if anchored and old is not None:
            span, back = self.tuning.kink_span, self.tuning.kink_back
            # a small step alarms many ticks late, so the kink may lie well before the alarm
            pre = [(k, t) for k, t in self._history if kc - back <= k <= kc]
            first = min([k for k, _ in pre], default=kc)
            self._kink = _Kink(old, [c for c in range(int(kc) - back, int(kc) + span + 1) if c >= first], pre)
        for k, t, _ in post:
            self._append(float(k), t, 1.0)
        self._refit()

    # -- the fit ------------------------------------------------------------------
    def _append(self, k: float, t: float, w: float) -> None:
        cap = len(self._k)
        if self._n == cap:
            self._k[:-1] = self._k[1:]
            self._t[:-1] = self._t[1:]
            self._w[:-1] = self._w[1:]
            self._n -= 1
        self._k[self._n], self._t[self._n], self._w[self._n] = k, t, w
        self._n += 1

    def _commit(self, k: int, t: float, w: float) -> None:
        self._append(float(k), t, w)
        self._refit()

    def _refit(self) -> None:
        if self._kink is not None:
            if self._n < self.tuning.kink_young and self._refit_kink(self._kink):
                self._follow_curve()
                return
            self._end_kink(self._kink)
        self._refit_free()
        self._follow_curve()

    def _follow_curve(self) -> None:
        """In a tempo ramp, use the tangent of a parabola through the recent ticks.

        Why: a line fit over a ramp lags by half its window. The parabola is
        used only when its curvature is unmistakable (``curve_t`` standard
        errors), so a steady tempo keeps the straight line and its precision.
        """
        tun = self.tuning
        n = min(self._n, tun.curve_window)
        if self._kink is not None and self._kink.chosen is not None:  # only ticks after the kink
            n = min(n, int(np.count_nonzero(self._k[:self._n] > self._kink.chosen[0])))
        if n < tun.curve_min or self._line is None:
            return
        k, t, w = self._k[self._n - n:self._n], self._t[self._n - n:self._n], self._w[self._n - n:self._n]
        x = k - k[-1]
        y = t - self._line.time_of(k[-1])
        sw = np.sqrt(w)
        basis = np.stack([np.ones(n), x, x * x], axis=1) * sw[:, None]
        coef, *_ = np.linalg.lstsq(basis, y * sw, rcond=None)
        res = y * sw - basis @ coef
        dof = max(float(w.sum()) - 3.0, 1.0)
        sigma2 = max(float(res @ res) / dof, tun.min_noise ** 2)
        cov = np.linalg.pinv(basis.T @ basis) * sigma2
        if abs(coef[2]) < tun.curve_t * np.sqrt(max(cov[2, 2], 1e-30)):
            return
        self._noise = float(np.sqrt(sigma2))  # the line's residuals would count the curve as noise
        self._forget_before(self._n - n)      # older ticks (and any kink) belong to another tempo
        period = float(coef[1])  # slope at the newest tick
        if 0.5 * self._line.period < period < 2.0 * self._line.period:
            t_last = self._line.time_of(k[-1]) + float(coef[0])
            self._line = TickLine(t_last, float(k[-1]), period)

    def _refit_kink(self, kink: "_Kink") -> bool:
        """Fit a slope from the best kink on the old line; re-choose the kink every tick.

        Why re-choose: the CUSUM alarms a few ticks after the change, and a kink
        placed one tick wrong biases the new tempo by a whole tick's drift.
        """
        n = self._n
        pk = np.array([kk for kk, _ in kink.pre], dtype=np.float64)
        pt = np.array([tt for _, tt in kink.pre], dtype=np.float64)
        k = np.concatenate([pk, self._k[:n]])
        t = np.concatenate([pt, self._t[:n]])
        old = t - (kink.old.t_ref + (k - kink.old.k_ref) * kink.old.period)
        best: tuple[float, float, float, float] | None = None  # sse, kc, tc, slope
        for kc in kink.candidates:
            post = k > kc
            if np.count_nonzero(post) < 2:
                continue
            tc = kink.old.time_of(kc)
            dk, dt = k[post] - kc, t[post] - tc
            slope = float(np.dot(dk, dt) / np.dot(dk, dk))
            res = dt - slope * dk
            sse = float(np.dot(res, res) + np.sum(old[~post] ** 2))
            if slope > 0.0 and (best is None or sse < best[0]):
                best = (sse, kc, tc, slope)
        if best is None:
            return False
        _, kc, tc, slope = best
        kink.chosen = (kc, tc)
        self._line = TickLine(tc, kc, slope)
        dk = self._k[:n] - kc
        self._leverage_terms = (1e18, kc, float(np.dot(dk, dk)))
        return True

    def _end_kink(self, kink: "_Kink") -> None:
        """The segment is old enough: keep the kink as one weighted point of a free fit."""
        self._kink = None
        if kink.chosen is not None:
            kc, tc = kink.chosen
            self._forget_before(int(np.count_nonzero(self._k[:self._n] <= kc)))  # old-tempo ticks
            n = self._n
            self._k[1:n + 1], self._t[1:n + 1], self._w[1:n + 1] = self._k[:n].copy(), self._t[:n].copy(), self._w[:n].copy()
            self._k[0], self._t[0], self._w[0] = kc, tc, self.tuning.anchor_weight
            self._n = n + 1

    def _forget_before(self, first: int) -> None:
        """Keep only committed ticks from index ``first`` on."""
        self._kink = None
        if first <= 0:
            return
        n = self._n - first
        self._k[:n], self._t[:n], self._w[:n] = self._k[first:self._n].copy(), self._t[first:self._n].copy(), self._w[first:self._n].copy()
        self._n = n

    def _refit_free(self) -> None:
        n = self._n
        k, t, w = self._k[:n], self._t[:n], self._w[:n]
        k0, t0 = k[n - 1], t[n - 1]
        dk, dt = k - k0, t - t0
        sw = float(w.sum())
        kbar = float(np.dot(w, dk) / sw)
        tbar = float(np.dot(w, dt) / sw)
        ck = dk - kbar
        skk = float(np.dot(w, ck * ck))
        if skk <= 0.0:
            if self.prior_period is not None:
                self._line = TickLine(t0 + tbar, k0 + kbar, self.prior_period)
                self._leverage_terms = (sw, k0 + kbar, 0.0)
            return
        period = float(np.dot(w, ck * (dt - tbar)) / skk)
        if period <= 0.0:
            return
        self._line = TickLine(t0 + tbar, k0 + kbar, period)
        self._leverage_terms = (sw, k0 + kbar, skk)
        self._update_noise(dk, dt, w, kbar, tbar, period)

    def _update_noise(self, dk, dt, w, kbar, tbar, period) -> None:
        dof = float(w.sum()) - 2.0
        if dof <= 0.0 or self._n < 6:
            return
        res = (dt - tbar) - period * (dk - kbar)
        sse = float(np.dot(w, res * res))
        m = self.tuning.noise_prior_count
        prior = self._prior_noise
        var = (sse + m * prior * prior) / (dof + m)
        self._noise = max(float(np.sqrt(var)), self.tuning.min_noise)

