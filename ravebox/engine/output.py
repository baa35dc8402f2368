"""OutputStage: per-sample wet/dry, gain, gate, mute fade and the safety stage of one graph.

Thread: the JACK process callback live (one call per JACK period) and the
render loop offline -- the same code, so a render is what the PA would hear.
Allocation-free in steady state: every buffer is preallocated for
``max_block`` samples and every numpy call writes with ``out=``; parameter
glides are read through :class:`~ravebox.engine.params.SampleParam`.

Signal flow, per sample::

    wet (scrubbed: NaN/Inf -> 0, counted) --+
                                            +-- mix.wet --> * out.gain --> DC blocker --> * gate * mute --> limiter --> out
    dry (delayed by latency_frames) --------+

When the inference worker is late (``wet is None``: the whole period; or ``late``,
a bool per sample: the part of ``wet`` a late block left without the model's output),
``late_block`` decides: ``"dry"`` plays the delayed dry input in place of the wet
signal, ``"silence"`` plays nothing; either way the block goes through the same gain,
gate and safety stage and ``late_blocks`` counts each wholly late period. Each switch
between the wet and the fallback is declicked (:mod:`ravebox.engine.declick`): the
output never steps at a late block's edges.
"""

from __future__ import annotations

import numpy as np

from ravebox.clock.view import ClockView
from ravebox.config.graphs import OutputSettings
from ravebox.engine.declick import Declicker
from ravebox.engine.params import SampleParam
from ravebox.gates.sequencer import GateSequencer
from ravebox.engine.safety import DCBlocker, Limiter, Scrubber
from ravebox.errors import EngineError
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey

_LN10_20 = np.log(10.0) / 20.0


class DelayLine:
    """A fixed delay of ``delay`` frames per channel (ring buffer, allocation-free)."""

    def __init__(self, channels: int, delay: int, max_block: int) -> None:
        self.delay = int(delay)
        self._ring = np.zeros((channels, self.delay + max_block))
        self._write = 0

    def process(self, x: np.ndarray | None, out: np.ndarray) -> None:
        """Push ``x`` (channels, n) or silence, write the delayed block into ``out``."""
        size = self._ring.shape[1]
        n = out.shape[1]
        self._span(self._write, n, size, x, write=True)
        self._span((self._write - self.delay) % size, n, size, out, write=False)
        self._write = (self._write + n) % size

    def _span(self, pos: int, n: int, size: int, buf: np.ndarray | None, write: bool) -> None:
        first = min(n, size - pos)
        parts = ((pos, 0, first), (0, first, n - first))
        for ring_at, buf_at, count in parts:
            if count <= 0:
                continue
            ring = self._ring[:, ring_at:ring_at + count]
            if not write:
                assert buf is not None   # a read always has a buffer to read into
                np.copyto(buf[:, buf_at:buf_at + count], ring)
            elif buf is None:
                ring.fill(0.0)
            else:
                np.copyto(ring, buf[:, buf_at:buf_at + count])


class OutputStage:
    """The last stage before a graph's output ports; owns its counters."""

    def __init__(self, graph: str, channels: int, sample_rate: int, settings: OutputSettings,
                 latency_frames: int, max_block: int, dry_channels: int = 1, gates: GateSequencer | None = None) -> None:
        self.graph = graph
        self.channels = channels
        self.max_block = max_block
        self.settings = settings
        self.gates = gates
        self._wet = np.zeros((channels, max_block))
        self._dry = np.zeros((channels, max_block))
        self._dry_map = [min(c, max(dry_channels, 1) - 1) for c in range(channels)]
        self._dry_in = np.zeros((channels, max_block))
        self._delay = DelayLine(channels, latency_frames, max_block)
        self._mix = SampleParam(ParamKey("mix.wet", graph), max_block)
        self._gain = SampleParam(ParamKey("out.gain_db", graph), max_block)
        self._mute = SampleParam(ParamKey("graph.mute", graph), max_block)
        self._gate = np.ones(max_block)
        self._fade = np.empty(max_block)
        self._ramp = np.arange(1, max_block + 1, dtype=np.float64)
        self._fade_step = 1.0 / max(1.0, settings.mute_fade_ms * sample_rate / 1000.0)
        self._fade_gain = 1.0
        self.scrub = Scrubber(channels, max_block)
        self.declick = Declicker(channels, sample_rate, max_block=max_block)
        self.dc = DCBlocker(channels, sample_rate, settings.dc_hz)
        self.limiter = Limiter(channels, sample_rate, settings.ceiling_db, settings.release_ms, max_block)
        self.late_blocks = 0
        self.blocks = 0

    def process(self, wet: np.ndarray | None, dry: np.ndarray | None, start_frame: int,
                store: ParamStore, clock: ClockView, out: np.ndarray, late: np.ndarray | None = None) -> None:
        """Write ``n = out.shape[1]`` safe samples into ``out`` (channels, n).

        ``wet`` None: the whole period is late; ``late`` (bool, n): the samples of ``wet`` that are."""
        n = out.shape[1]
        if n > self.max_block:
            raise EngineError(f"output stage of {self.graph}: block of {n} frames exceeds max_block {self.max_block}")
        w, d = self._wet[:, :n], self._dry[:, :n]
        self._delay.process(self._dry_input(dry, n), d)
        self._take_wet(wet, late, d, w)
        self._mix_dry(w, d, store, start_frame, n)
        self._apply_gain(w, store, start_frame, n)
        self.dc.process(w)
        self._apply_gate_and_mute(w, store, clock, start_frame, n)
        self.limiter.process(w)
        np.copyto(out, w, casting="same_kind")
        self.blocks += 1

    def _dry_input(self, dry: np.ndarray | None, n: int) -> np.ndarray | None:
        if dry is None:
            return None
        buf = self._dry_in[:, :n]
        for c, src in enumerate(self._dry_map):
            np.copyto(buf[c], dry[min(src, dry.shape[0] - 1)], casting="same_kind")
        self.scrub.process(buf)
        return buf

    def _take_wet(self, wet: np.ndarray | None, late: np.ndarray | None, d: np.ndarray, w: np.ndarray) -> None:
        """The model's wet, or the fallback where it is late; declicked at each switch between them."""
        if wet is None:
            self.late_blocks += 1
            self._fallback(w, d, None)
            self.declick.process(w, True)
            return
        for c in range(self.channels):
            np.copyto(w[c], wet[min(c, wet.shape[0] - 1)], casting="same_kind")
        if late is not None:
            self._fallback(w, d, late)
        self.scrub.process(w)
        self.declick.process(w, False if late is None else late)

    def _fallback(self, w: np.ndarray, d: np.ndarray, where: np.ndarray | None) -> None:
        """The late policy's samples into ``w`` (all of it, or ``where`` is True)."""
        if self.settings.late_block == "dry":
            np.copyto(w, d, where=True if where is None else where)
        else:
            np.copyto(w, 0.0, where=True if where is None else where)

    def _mix_dry(self, w: np.ndarray, d: np.ndarray, store: ParamStore, start: int, n: int) -> None:
        amount, constant = self._mix.fill(store, start, n)
        if constant and amount[0] == 1.0:
            return
        np.subtract(w, d, out=w)          # dry + amount * (wet - dry)
        np.multiply(w, amount, out=w)
        np.add(w, d, out=w)

    def _apply_gain(self, w: np.ndarray, store: ParamStore, start: int, n: int) -> None:
        gain, constant = self._gain.fill(store, start, n)
        if not (constant and gain[0] == 0.0):
            np.multiply(gain, _LN10_20, out=gain)
            np.exp(gain, out=gain)
            np.multiply(w, gain, out=w)

    def _apply_gate_and_mute(self, w: np.ndarray, store: ParamStore, clock: ClockView, start: int, n: int) -> None:
        """After the DC blocker, so a closing gate or a mute leaves no filter tail behind."""
        if self.gates is not None:
            gate = self._gate[:n]
            self.gates.gains_into(gate, start, clock, store, self.graph)
            np.multiply(w, gate, out=w)
        fade = self._mute_fade(store, start, n)
        if fade is not None:
            np.multiply(w, fade, out=w)

    def _mute_fade(self, store: ParamStore, start: int, n: int) -> np.ndarray | None:
        """Slew toward ``1 - graph.mute`` at ``mute_fade_ms``; None while fully open."""
        mute, constant = self._mute.fill(store, start, n)
        if constant and mute[0] == 0.0 and self._fade_gain == 1.0:
            return None
        fade = self._fade[:n]
        if constant:
            self._slew(fade, 1.0 - mute[0], self._fade_gain)
        else:  # a toggle inside this block: slew per segment (rare, may allocate)
            edges = np.flatnonzero(np.diff(mute)) + 1
            bounds = [0, *edges.tolist(), n]
            for a, b in zip(bounds[:-1], bounds[1:]):
                self._slew(fade[a:b], 1.0 - mute[a], self._fade_gain if a == 0 else float(fade[a - 1]))
        self._fade_gain = float(fade[-1])
        return fade

    def _slew(self, out: np.ndarray, target: float, start: float) -> None:
        ramp = self._ramp[:out.shape[0]]
        if target >= start:
            np.multiply(ramp, self._fade_step, out=out)
            np.add(out, start, out=out)
            np.minimum(out, target, out=out)
        else:
            np.multiply(ramp, -self._fade_step, out=out)
            np.add(out, start, out=out)
            np.maximum(out, target, out=out)

    def counters(self) -> dict[str, float | int]:
        """Safety and activity counters (render summary, status). Not for the process thread."""
        return {
            "blocks": self.blocks,
            "late_blocks": self.late_blocks,
            "nonfinite_samples": self.scrub.nonfinite,
            "clamped_samples": self.scrub.clamped,
            "limited_samples": self.limiter.limited_samples,
            "max_gain_reduction_db": round(-20.0 * float(np.log10(max(self.limiter.min_gain, 1e-12))), 3),
        }
