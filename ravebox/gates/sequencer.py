"""Per-sample gate gains from the clock phase: the output stage's rhythmic gate.

How a gain is made: the block's beats come from the :class:`ClockView`; the
steps the block touches (a handful: a step is at least 1/64 note) are looked
up one by one, and each step's samples get the step's shape: an attack ramp
from the step's start (or from the start of the step a tie continues), the
level while open, a release ramp after the gate closes, and the previous
step's release tail still sounding (``max`` of the two, so the gain is
continuous). Ramps are in ms, converted to beats at the view's tempo; the
release is shortened to the shortest step so a tail never spans two steps.
Depth then scales the closing: ``gain = 1 - depth * (1 - pattern_gain)``.

A pattern switch (``gate.pattern``) crossfades from the old pattern to the new
over ``max(attack, release)`` so that a switch cannot click either.

Thread: :meth:`GateSequencer.gains_into` runs in the JACK process callback
(and in the render loop): it allocates no arrays in steady state (scratch
buffers are preallocated, numpy ops use ``out=``), takes no lock and does not
log. :meth:`gains_at_beats` (the latent-domain variant) is for the inference
worker and may allocate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ravebox.clock.view import ClockView
from ravebox.gates.patterns import GatePattern, step_index, step_start
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey


@dataclass(frozen=True, slots=True)
class _StepShape:
    """Where one step's gate opens, closes and how loud it is, in absolute beats."""

    start: float
    end: float          # next step's start
    open_end: float     # where the gate closes (== end when the next step is a tie)
    level: float
    attack_origin: float
    close_level: float  # the gain the release starts from (0 when tied into the next step)


class _GraphState:
    __slots__ = ("pattern", "previous", "fade_left", "keys")

    def __init__(self, graph: str) -> None:
        self.pattern = -1
        self.previous = -1
        self.fade_left = 0
        self.keys = tuple(ParamKey(n, graph) for n in ("gate.pattern", "gate.depth", "gate.swing"))


class GateSequencer:
    """Rhythmic gates for every graph of a box; see the module docstring."""

    def __init__(self, patterns: Sequence[GatePattern], sample_rate: int, max_block: int = 4096) -> None:
        self.patterns = tuple(patterns)
        self.sample_rate = int(sample_rate)
        self._states: dict[str, _GraphState] = {}
        self._alloc(max_block)

    def _alloc(self, n: int) -> None:
        self._ramp = np.arange(n, dtype=np.float64)
        self._beats = np.empty(n)
        self._gain = np.empty(n)
        self._other = np.empty(n)
        self._tmp = np.empty(n)

    # -- the process-callback path ------------------------------------------------
    def gains_into(self, out: np.ndarray, start_frame: int, clock: ClockView,
                   store: ParamStore, graph: str) -> None:
        """Write gains (1 = open) for frames ``start_frame .. start_frame + len(out)`` into ``out``."""
        n = len(out)
        state = self._state(graph)
        p_key, d_key, s_key = state.keys
        d0 = store.value(d_key, start_frame)
        d1 = store.value(d_key, start_frame + n)
        if (d0 <= 0.0 and d1 <= 0.0) or clock.gates_open or not self.patterns:
            out.fill(1.0)
            return
        if n > len(self._ramp):
            self._alloc(n)  # only when the host's period grows
        beats, gain = self._beats[:n], self._gain[:n]
        clock.beats_into(beats, start_frame, self._ramp[:n])
        swing = store.value(s_key, start_frame)
        index = self._select(state, int(store.value(p_key, start_frame)))
        bpf = clock.bpm / 60.0 / self.sample_rate
        self._pattern_into(gain, beats, self._tmp[:n], self.patterns[index], swing, bpf)
        if state.fade_left > 0:
            self._crossfade(state, gain, beats, swing, bpf)
        self._apply_depth(out, gain, d0, d1)

    def _state(self, graph: str) -> _GraphState:
        state = self._states.get(graph)
        if state is None:
            state = self._states[graph] = _GraphState(graph)
        return state

    def _select(self, state: _GraphState, wanted: int) -> int:
        index = self._clamp(wanted)
        if state.pattern >= 0 and index != state.pattern:
            state.previous = state.pattern
            pat = self.patterns[index]
            state.fade_left = max(1, int(max(pat.attack_ms, pat.release_ms) * 1e-3 * self.sample_rate))
        state.pattern = index
        return index

    def _crossfade(self, state: _GraphState, gain: np.ndarray, beats: np.ndarray, swing: float,
                   bpf: float) -> None:
        """Blend the old pattern into the new over the fade (linear, continuous at both ends)."""
        n = len(gain)
        other, w = self._other[:n], self._tmp[:n]
        self._pattern_into(other, beats, w, self.patterns[state.previous], swing, bpf)
        total = max(1, int(max(self.patterns[state.pattern].attack_ms,
                               self.patterns[state.pattern].release_ms) * 1e-3 * self.sample_rate))
        done = total - state.fade_left
        np.add(self._ramp[:n], float(done), out=w)
        w *= 1.0 / total
        np.minimum(w, 1.0, out=w)
        gain -= other
        gain *= w
        gain += other
        state.fade_left = max(0, state.fade_left - n)

    @staticmethod
    def _apply_depth_scalar(out: np.ndarray, gain: np.ndarray, depth: float) -> None:
        np.subtract(1.0, gain, out=gain)
        gain *= depth
        np.subtract(1.0, gain, out=gain)
        np.copyto(out, gain, casting="same_kind")  # a ufunc casting into float32 would buffer

    def _apply_depth(self, out: np.ndarray, gain: np.ndarray, d0: float, d1: float) -> None:
        """``out = 1 - depth * (1 - gain)``, depth linear from block start to block end.

        Why linear: it is exact for the store's glides except in the one block
        where a glide starts or ends, where it is off by at most that block's share
        of the glide (sub-dB for the 10 ms ``gate.depth`` smoothing).
        """
        if d0 == d1:
            self._apply_depth_scalar(out, gain, d0)
            return
        n = len(gain)
        depth = self._tmp[:n]
        np.multiply(self._ramp[:n], (d1 - d0) / n, out=depth)
        depth += d0
        np.subtract(1.0, gain, out=gain)
        gain *= depth
        np.subtract(1.0, gain, out=gain)
        np.copyto(out, gain, casting="same_kind")

    # -- status (any thread) ---------------------------------------------------------
    def current_step(self, beat: float, store: ParamStore, graph: str) -> int | None:
        """The step (1-based) of ``graph``'s selected pattern that holds ``beat``, as the gains place it
        (same pattern clamp and live swing); None without patterns. Reads targets; allocates a little."""
        if not self.patterns:
            return None
        pattern = self.patterns[self._clamp(int(store.target(ParamKey("gate.pattern", graph))))]
        swing = _swing(pattern, store.target(ParamKey("gate.swing", graph)))
        return step_index(beat, pattern.step_beats, swing) % len(pattern.steps) + 1

    def _clamp(self, index: int) -> int:
        return min(max(index, 0), len(self.patterns) - 1)

    # -- shapes -------------------------------------------------------------------
    def _pattern_into(self, gain: np.ndarray, beats: np.ndarray, tmp: np.ndarray, pat: GatePattern,
                      live_swing: float, bpf: float) -> None:
        """Pattern gain (0..1, before depth) at each of ``beats`` (non-decreasing) into ``gain``."""
        swing = _swing(pat, live_swing)
        L = pat.step_beats
        attack = pat.attack_ms * 1e-3 * self.sample_rate * bpf
        release = min(pat.release_ms * 1e-3 * self.sample_rate * bpf, L * (1.0 - swing))
        first = step_index(float(beats[0]), L, swing)
        last = step_index(float(beats[-1]), L, swing)
        prev = self._shape(pat, first - 1, swing, attack)
        j0 = 0
        for s in range(first, last + 1):
            shape = self._shape(pat, s, swing, attack)
            j1 = len(beats) if s == last else int(np.searchsorted(beats, shape.end, "left"))
            if j1 > j0:
                self._segment(gain[j0:j1], beats[j0:j1], tmp[j0:j1], shape, prev, attack, release)
            j0, prev = j1, shape

    def _shape(self, pat: GatePattern, s: int, swing: float, attack: float) -> _StepShape:
        L = pat.step_beats
        start, end = step_start(s, L, swing), step_start(s + 1, L, swing)
        src = pat.source(s)
        level = 1.0 if src is None else (pat.steps[src % len(pat.steps)].level if pat.fires(src) else 0.0)
        origin = start if src is None else step_start(src, L, swing)
        tied_on = pat.steps[(s + 1) % len(pat.steps)].tie
        open_end = end if tied_on else start + pat.length * (end - start)
        reached = 1.0 if attack <= 0.0 else min(1.0, (open_end - origin) / attack)
        close = 0.0 if tied_on else level * reached
        return _StepShape(start, end, open_end, level, origin, close)

    @staticmethod
    def _segment(gain: np.ndarray, beats: np.ndarray, tmp: np.ndarray, shape: _StepShape,
                 prev: _StepShape, attack: float, release: float) -> None:
        """One step's samples: attack/hold until ``open_end``, release after; max with the tail."""
        k = int(np.searchsorted(beats, shape.open_end, "left"))
        if k > 0:
            _ramp_up(gain[:k], beats[:k], shape.attack_origin, attack, shape.level)
        if k < len(gain):
            _ramp_down(gain[k:], beats[k:], shape.open_end, release, shape.close_level)
        if prev.close_level > 0.0 and release > 0.0 and beats[0] < prev.open_end + release:
            _ramp_down(tmp, beats, prev.open_end, release, prev.close_level)
            np.maximum(gain, tmp, out=gain)

    # -- latent-domain variant -----------------------------------------------------------
    def gains_at_beats(self, beats: np.ndarray, clock: ClockView, store: ParamStore, graph: str,
                       frame: int) -> np.ndarray:
        """Gains (1 = open) at arbitrary non-decreasing ``beats``, with parameters read at ``frame``.

        For gating latent frames before the decoder (softer than gating audio):
        the engine passes the beat of each latent frame. Allocates its result.
        """
        beats = np.asarray(beats, dtype=np.float64)
        out = np.ones(beats.shape)
        p_key, d_key, s_key = (ParamKey(n, graph) for n in ("gate.pattern", "gate.depth", "gate.swing"))
        depth = store.value(d_key, frame)
        if depth <= 0.0 or clock.gates_open or not self.patterns or beats.size == 0:
            return out
        index = self._clamp(int(store.value(p_key, frame)))
        gain, tmp = np.empty(beats.shape), np.empty(beats.shape)
        self._pattern_into(gain, beats, tmp, self.patterns[index], store.value(s_key, frame),
                           clock.bpm / 60.0 / self.sample_rate)
        self._apply_depth_scalar(out, gain, depth)
        return out


def _swing(pattern: GatePattern, live_swing: float) -> float:
    """The pattern's swing plus the live ``gate.swing``, kept where steps stay ordered (0..0.9)."""
    return min(max(pattern.swing + live_swing, 0.0), 0.9)


def _ramp_up(gain: np.ndarray, beats: np.ndarray, origin: float, attack: float, level: float) -> None:
    """``level * clip((beat - origin) / attack, 0, 1)`` in place."""
    if attack <= 0.0 or level <= 0.0:
        gain.fill(level)
        return
    np.subtract(beats, origin, out=gain)
    gain *= level / attack
    np.clip(gain, 0.0, level, out=gain)


def _ramp_down(gain: np.ndarray, beats: np.ndarray, edge: float, release: float, level: float) -> None:
    """``level * clip(1 - (beat - edge) / release, 0, 1)`` in place."""
    if release <= 0.0 or level <= 0.0:
        gain.fill(0.0)
        return
    np.subtract(edge + release, beats, out=gain)
    gain *= level / release
    np.clip(gain, 0.0, level, out=gain)
