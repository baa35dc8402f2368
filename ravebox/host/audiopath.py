"""The realtime audio path: what the JACK process callback does with audio, and its worker seam.

Timing (all in absolute 64-bit frames, see :mod:`ravebox.host.timeline`):

- engine block ``k`` takes input frames ``[k*B, k*B + B)`` (``B`` = engine block
  size, a multiple of every model's ratio);
- its wet output is played at frames ``[k*B + H, k*B + B + H)`` where
  ``H = B + headroom * period``; so the worker has about ``headroom + 1`` periods
  of wall time from the cycle that completes a block to the cycle that plays it;
- the dry signal is read ``H + E`` frames back (``E`` = the engine's own model
  latency), so dry and wet line up;
- the session computes each period's output after telling JACK its cycle is done
  and plays it in the next cycle (:mod:`ravebox.host.staging`), so the latency
  declared to JACK is ``H + E + period`` (``port_latency``).

A block whose wet output is not in the ring when the callback needs it is
*late*: that block plays the delayed dry signal or silence (``late_policy``),
without waiting, and is counted once. Validity is tracked per block (a stamp
array), so a skipped block can never replay stale samples.

Threads: :meth:`AudioPath.cycle` runs on the JACK process thread (copies, one
output-stage call, gain ramps; no locks, no logging, no allocation beyond the
small view objects numpy slicing makes). :meth:`read_block` and
:meth:`write_wet` run on the inference worker. Counters are plain ints written
by one thread and read by others.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ravebox.host.rings import AudioRing

if TYPE_CHECKING:
    from ravebox.clock.view import ClockView
    from ravebox.params.store import ParamStore
    from ravebox.recording.tap import RecordTap


@dataclass(frozen=True, slots=True)
class GraphIO:
    """Audio shape of one graph: its name and channel counts (0 inputs = prior only)."""

    name: str
    inputs: int
    outputs: int


class OutputStageLike(Protocol):
    """The engine's per-graph, per-sample output stage (``ravebox.engine.output.OutputStage``).

    ``wet`` is None for a late period; ``late`` (a bool per sample, or None: none) marks the
    samples of a partly late period that hold no wet; the stage plays its fallback there and
    declicks each switch. ``dry`` is the current (undelayed) input, which the stage delays by
    the latency it was built with; it writes ``out``.
    """

    def process(self, wet: np.ndarray, dry: np.ndarray, start_frame: int, store: ParamStore, clock: ClockView,
                out: np.ndarray, late: np.ndarray | None = None) -> None: ...


class GainRamp:
    """A per-sample linear gain toward a target (mute fades, the shutdown fade).

    Process thread only (``apply``); other threads only call :meth:`set_target`.
    """

    def __init__(self, sample_rate: int, max_frames: int, ms: float, gain: float = 1.0) -> None:
        self.gain = gain
        self.target = gain
        self.step = 1.0 / max(1.0, ms * sample_rate / 1000.0)
        self._steps = np.arange(1, max_frames + 1, dtype=np.float32)
        self._buf = np.empty(max_frames, dtype=np.float32)

    def set_target(self, target: float, ms: float | None = None, sample_rate: int = 48000) -> None:
        if ms is not None:
            self.step = 1.0 / max(1.0, ms * sample_rate / 1000.0)
        self.target = target

    @property
    def settled(self) -> bool:
        return self.gain == self.target

    def apply(self, block: np.ndarray, n: int) -> None:
        """Multiply ``block[:, :n]`` in place by the ramp (nothing to do at unity)."""
        if self.gain == self.target:
            if self.gain != 1.0:
                block[:, :n] *= self.gain
            return
        buf = self._buf[:n]
        np.multiply(self._steps[:n], self.step if self.target > self.gain else -self.step, out=buf)
        buf += self.gain
        lo, hi = min(self.gain, self.target), max(self.gain, self.target)
        np.clip(buf, lo, hi, out=buf)
        block[:, :n] *= buf
        self.gain = float(buf[n - 1])


def port_latency(block: int, headroom_periods: int, period: int, engine_latency: int) -> int:
    """Frames from a graph's input port to its output port, as declared to JACK: the engine block, the
    headroom, the models' own latency and the period each output waits between the cycle that computes
    it and the one that plays it (:mod:`ravebox.host.staging`). ``ravebox fit`` reports the same figure."""
    return block + headroom_periods * period + engine_latency + period


class AudioPath:
    """Rings, per-graph scratch buffers and counters shared by process callback and worker."""

    def __init__(self, graphs: Sequence[GraphIO], sample_rate: int, block: int, period: int,
                 headroom_periods: int, engine_latency: int, late_policy: str = "dry",
                 max_period: int = 8192, mute_fade_ms: float = 10.0) -> None:
        self.graphs = list(graphs)
        self.sample_rate = sample_rate
        self.block = block
        self.period = period
        self.delay = block + headroom_periods * period           # H
        self.engine_latency = engine_latency                     # E
        self.latency = self.delay + engine_latency               # input to output, as the path computes it
        self.port_latency = port_latency(block, headroom_periods, period, engine_latency)   # declared to JACK
        self.late_policy = late_policy
        self.max_period = max(max_period, period)
        span = self.latency + 2 * block + 4 * self.max_period
        capacity = 1 << int(np.ceil(np.log2(span)))
        self.inputs = [AudioRing(max(g.inputs, 1), capacity) for g in self.graphs]
        self.wet = [AudioRing(g.outputs, capacity) for g in self.graphs]
        self._stamps = np.full(capacity // block + 2, -1, dtype=np.int64)
        self._wet = [np.zeros((g.outputs, self.max_period), np.float32) for g in self.graphs]
        self._dry = [np.zeros((max(g.inputs, 1), self.max_period), np.float32) for g in self.graphs]
        self._late_frames = [0] * len(self.graphs)   # late frames of this period, per graph (all: n)
        self._late_mask = [np.zeros(self.max_period, dtype=bool) for _ in self.graphs]   # for the stage's declick
        self._out = [np.zeros((g.outputs, self.max_period), np.float32) for g in self.graphs]
        self.mutes = [GainRamp(sample_rate, self.max_period, mute_fade_ms) for _ in self.graphs]
        self.master = GainRamp(sample_rate, self.max_period, 20.0)
        self.stages: list[OutputStageLike] | None = None  # one per graph, or None: plain copy
        self.tap: RecordTap | None = None   # while recording (ravebox.recording.tap), set by the main thread
        self.store = None
        self.clock = None  # a ClockView, replaced by the control thread
        self.written = 0        # input frames written (process thread)
        self.played = 0         # output frames played (process thread)
        self.first_block = 0    # blocks before this are start-up, not late
        self.late_blocks = 0
        self.cycles = 0
        self.stage_errors = 0
        self._last_late = -1
        self._fade_in_ms: float | None = None   # see fade_in_on_wet
        self._clean = True                        # this cycle played only this path's own wet
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def fade_in_on_wet(self, ms: float) -> None:
        """Main thread, before the path plays: silent until it plays its own wet, then fade in.

        Why: a path that replaces another (a headroom re-size) starts with empty rings, so
        its first periods play the late fallback -- silence, or the dry signal starting
        mid-wave once the ring has one latency of it -- and then step to the wet signal at
        the first block in time. A fade-in at the switch covered only the first 10 ms of
        that: each re-size while playing clicked (a full-scale step). The master gain stays
        at 0 until a whole period was played from blocks in time whose input came after the
        switch (``first_block`` on), and ramps up from the next one."""
        self.master.gain = self.master.target = 0.0
        self._fade_in_ms = ms

    def cancel_fade_in(self) -> None:
        """Main thread (the shutdown fade): a path still waiting for its wet stays silent."""
        self._fade_in_ms = None

    # -- process thread ------------------------------------------------------------
    def start_at(self, frame: int) -> None:
        """Process thread, first cycle (or after a reconnect): nothing before ``frame`` is late."""
        self.first_block = -(-frame // self.block) + 1
        self.written = frame
        self.played = frame

    def gap(self, frame: int) -> None:
        """Process thread: frames ``[written, frame)`` never arrived (xrun, reconnect): zero them."""
        for ring in self.inputs:
            ring.fill(self.written, frame - self.written)
            ring.publish(frame)
        self.written = frame

    def cycle(self, frame: int, n: int, ins: Sequence[Sequence[np.ndarray]],
              outs: Sequence[Sequence[np.ndarray]], plays_at: int | None = None) -> None:
        """Process thread: one JACK period of ``n`` frames starting at absolute ``frame``.

        ``ins[g][c]`` / ``outs[g][c]`` are graph ``g``'s input of this period and its output.
        ``plays_at``: the frame where ``outs`` will be heard (the session plays them one period
        later, :mod:`ravebox.host.staging`), at which the output stages evaluate parameters and
        gates; ``frame`` when None.
        """
        for g, ring in enumerate(self.inputs):
            for c, arr in enumerate(ins[g]):
                ring.write_channel(frame, c, arr)
            ring.publish(frame + n)
        self.written = frame + n
        completes_block = (frame + n) // self.block != frame // self.block
        self._clean = True
        for g in range(len(self.graphs)):
            self._graph_out(g, frame, n)
        self._run_stages(frame if plays_at is None else plays_at, n, ins)
        for g, ports in enumerate(outs):
            out = self._out[g]
            self.mutes[g].apply(out, n)
            self.master.apply(out, n)
            for c, arr in enumerate(ports):
                arr[:] = out[c, :n]
        tap = self.tap
        if tap is not None:
            tap.push(n, self._out, ins)
        self.played = frame + n
        self.cycles += 1
        if self._fade_in_ms is not None and self._clean and self.master.target == 0.0:
            self.master.set_target(1.0, self._fade_in_ms, self.sample_rate)
            self._fade_in_ms = None
        if completes_block:
            # last: woken, the worker wants the GIL at once for its Python between torch calls, and
            # after one switch interval (1 ms) takes it from a callback still running its outputs
            self._wake()

    def _graph_out(self, g: int, frame: int, n: int) -> None:
        """Gather the wet signal for ``[frame, frame + n)``; late segments get the fallback.

        With an output stage, a wholly late period is handed over as ``wet=None``
        (the stage plays its own delayed dry or silence); a period that is only
        partly late (a block edge inside it) is handed over with its late samples
        marked (``_late_mask``): the stage plays its fallback there and declicks
        each switch. Without a stage (host tests) the fallback is filled in here.
        """
        wet, mask = self._wet[g], self._late_mask[g]
        pos, end = frame, frame + n
        late = 0
        while pos < end:
            k = (pos - self.delay) // self.block
            seg_end = min(end, (k + 1) * self.block + self.delay)
            a, b = pos - frame, seg_end - frame
            in_time = self._stamps[k % len(self._stamps)] == k
            mask[a:b] = not in_time
            if in_time:
                self.wet[g].read(pos, wet[:, a:b])
                if k < self.first_block:
                    self._clean = False
            else:
                self._clean = False
                self._late(k)
                late += b - a
                self._fallback(g, frame, a, b)
            pos = seg_end
        self._late_frames[g] = late

    def _fallback(self, g: int, frame: int, a: int, b: int) -> None:
        wet = self._wet[g]
        if self.late_policy != "dry" or self.graphs[g].inputs == 0:
            wet[:, a:b] = 0.0
            return
        src = self.inputs[g]
        for c in range(wet.shape[0]):
            src.read_channel(frame + a - self.latency, c % src.channels, wet[c, a:b])

    def _late(self, k: int) -> None:
        if k >= self.first_block and k != self._last_late:
            self._last_late = k
            self.late_blocks += 1

    def _run_stages(self, plays_at: int, n: int, ins: Sequence[Sequence[np.ndarray]]) -> None:
        for g in range(len(self.graphs)):
            stage = self.stages[g] if self.stages else None
            out = self._out[g][:, :n]
            if stage is None:
                np.copyto(out, self._wet[g][:, :n])
                continue
            dry = self._dry[g][:, :n] if ins[g] else None
            if dry is not None:
                for c, arr in enumerate(ins[g]):
                    dry[c] = arr
            late_frames = self._late_frames[g]
            wet = None if late_frames == n else self._wet[g][:, :n]
            late = self._late_mask[g][:n] if late_frames else None
            try:
                stage.process(wet, dry, plays_at, self.store, self.clock, out, late)
            except Exception:  # noqa: BLE001 - a failing stage must not stop the callback: play silence
                self.stage_errors += 1
                out[:] = 0.0

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    # -- worker thread -------------------------------------------------------------
    def wait(self, timeout: float) -> None:
        """Worker: sleep until the process callback completes a block (or ``timeout``)."""
        import select

        ready, _, _ = select.select([self._wake_r], [], [], timeout)
        if ready:
            try:
                os.read(self._wake_r, 4096)
            except OSError:
                pass

    def read_block(self, start: int, bufs: Sequence[np.ndarray]) -> None:
        """Worker: input frames ``[start, start + B)`` of every graph into ``bufs[g]``."""
        for g, ring in enumerate(self.inputs):
            ring.read(start, bufs[g])

    def write_wet(self, start: int, g: int, block: np.ndarray) -> None:
        """Worker: the wet output of graph ``g`` for the input block at ``start``."""
        self.wet[g].write(start + self.delay, block)

    def commit(self, start: int) -> None:
        """Worker: every graph's wet for the block at ``start`` is in place; the callback may play it."""
        k = start // self.block
        self._stamps[k % len(self._stamps)] = k

    def close(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1
