"""Offline render: box config + input audio (+ SMF performance) -> audio file, via the daemon's code.

Why the same code: a performance bounced here must sound as it would live,
and tests check behaviour sample-exactly through it. So render builds its
parts with the daemon's assembly (:func:`ravebox.assembly.assemble`: engine,
store, clock follower, mapping runtime, event router; output stages and gate
sequencer from :meth:`~ravebox.assembly.BoxParts.output_stages`) and plays the
role of the control thread (every event through the same
:class:`~ravebox.assembly.EventRouter`, in frame order) and of the worker and
process thread (one engine block at a time).

Determinism: every random draw is seeded from ``seed`` and the position in
the stream, the loop is single-threaded, and files are written with fixed
subtypes, so the same seed and inputs give a byte-identical file.

Thread: the caller's (the ``ravebox render`` main thread).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ravebox.assembly import assemble
from ravebox.assembly.parts import box_warnings, real_engine
from ravebox.clock.view import ClockView
from ravebox.config.box import BoxConfig, load_box
from ravebox.engine.engine import Loader
from ravebox.errors import RaveboxError
from ravebox.mapping.model import ANY_PORT
from ravebox.midi.events import MidiEvent
from ravebox.render.audio_file import AudioFileError, write_audio
from ravebox.render.performance import end_frame, load_performance
from ravebox.render.progress import Progress


class RenderError(RaveboxError):
    """The render could not start (bad input file, rate mismatch, nothing to render)."""


@dataclass
class RenderJob:
    box: BoxConfig | str | Path
    output: str | Path
    input: str | Path | None = None
    midi: str | Path | None = None
    seed: int | None = None
    duration: float | None = None   # seconds; default: the input's length (or the performance's)
    tail: float = 0.0               # extra seconds rendered after the input ends
    subtype: str | None = None      # soundfile subtype; default FLOAT for WAV, PCM_24 for FLAC
    loader: Loader | None = None
    port: str | None = None         # port name the file's events come from; None: every port filter accepts them
    progress: Progress | None = field(default=None, repr=False)


def render(job: RenderJob) -> dict:
    """Render ``job``; returns the summary that ``--json`` prints."""
    box = job.box if isinstance(job.box, BoxConfig) else load_box(job.box)
    sr = box_rate(box)
    audio = _read_input(job.input, sr)
    events = load_performance(job.midi, sr, job.port or ANY_PORT) if job.midi else []
    frames = _length(job, audio, events, sr)
    session = _Session(box, sr, job.seed, job.loader)
    started = time.perf_counter()
    out, timing = session.run(audio, events, frames, job.progress)
    _write(job.output, out, sr, job.subtype)
    return session.summary(job, frames, timing, time.perf_counter() - started)


def box_rate(box: BoxConfig) -> int:
    """``[box] sample_rate``, or else the models' own rate when every model that plays agrees
    (a box of 44.1 kHz models renders at 44.1 kHz, unconverted), or else 48000."""
    if box.box.sample_rate is not None:
        return box.box.sample_rate
    from ravebox.models.loader import inspect_model

    used = {n for g in box.graphs for n in (*g.decoders, g.encoder, g.prior) if n}
    rates = set()
    for name in used:
        try:
            rate = inspect_model(box.models[name].path).sample_rate
        except Exception:  # noqa: BLE001 -- loading reports it properly; it cannot set the rate
            rate = None
        if rate and box.models[name].resample != "off":
            rates.add(rate)
    return rates.pop() if len(rates) == 1 else 48000


def _read_input(path: str | Path | None, sample_rate: int) -> np.ndarray | None:
    if path is None:
        return None
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        raise RenderError(f"cannot read input audio {path}: {exc}") from exc
    if rate != sample_rate:  # offline, whole file: libsamplerate's best sinc, time-aligned, no latency
        data = convert_file_rate(data, rate, sample_rate)
    return np.ascontiguousarray(data.T)


def convert_file_rate(data: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """``(frames, channels)`` at ``rate`` -> ``sample_rate``, exactly ``floor(frames * sr / rate)`` frames."""
    import samplerate

    frames = data.shape[0] * sample_rate // rate
    out = np.asarray(samplerate.resample(data, sample_rate / rate, "sinc_best"), dtype=np.float32)
    out = out.reshape(-1, data.shape[1])[:frames]
    if out.shape[0] < frames:
        out = np.concatenate([out, np.zeros((frames - out.shape[0], data.shape[1]), np.float32)])
    return out


def _length(job: RenderJob, audio: np.ndarray | None, events: list[MidiEvent], sr: int) -> int:
    if job.duration is not None:
        return int(round(job.duration * sr))
    if audio is not None:
        return audio.shape[1] + int(round(job.tail * sr))
    if events:
        return end_frame(events) + int(round(max(job.tail, 1.0) * sr))
    raise RenderError("nothing sets the length: give an input file, a MIDI performance or --duration")


def _write(path: str | Path, out: np.ndarray, sr: int, subtype: str | None) -> None:
    """Write ``out`` (channels, frames) atomically (``render/audio_file.py``): a failure names its
    cause and never damages a previous render at ``path``."""
    try:
        write_audio(path, out, sr, subtype)
    except AudioFileError as exc:
        raise RenderError(str(exc)) from exc


class _Session:
    """The daemon's parts (the same assembly), driven for one offline run."""

    def __init__(self, box: BoxConfig, sr: int, seed: int | None, loader: Loader | None) -> None:
        self.box, self.sr = box, sr
        self.parts = assemble(box, sr, seed=seed, engine_factory=real_engine(loader))
        self.engine, self.store, self.router = self.parts.engine, self.parts.store, self.parts.router
        n = self.engine.block_size
        names = list(self.engine.channels)
        self.stages = dict(zip(names, self.parts.output_stages(self.engine.latency_frames, n)))
        self.midi_events = 0

    def run(self, audio: np.ndarray | None, events: list[MidiEvent], frames: int,
            progress: Progress | None) -> tuple[np.ndarray, list[float]]:
        n = self.engine.block_size
        blocks = -(-frames // n)
        channels = sum(s.channels for s in self.stages.values())
        out = np.zeros((channels, blocks * n), dtype=np.float32)
        timing: list[float] = []
        cursor = 0
        progress = progress or Progress(enabled=False)
        progress.start(blocks)
        for b in range(blocks):
            start = b * n
            cursor = self._control(events, cursor, start + n)
            clock = self.router.advance(start)
            assert clock is not None          # the assembly always gives the router a follower
            dry = self._block(audio, start, n)
            t0 = time.perf_counter()
            wet = self.engine.process({g: dry for g in self.engine.graphs}, start, self.store, clock)
            timing.append(time.perf_counter() - t0)
            self._output(wet, dry, start, clock, out[:, start:start + n])
            progress.update(b + 1)
        progress.close()
        return out[:, :frames], timing

    def _control(self, events: list[MidiEvent], cursor: int, until: int) -> int:
        """The control thread's job: events before ``until`` through the router, in order."""
        while cursor < len(events) and events[cursor].frame < until:
            self.router.route(events[cursor], feeds_clock=True)
            self.midi_events += 1
            cursor += 1
        return cursor

    @staticmethod
    def _block(audio: np.ndarray | None, start: int, n: int) -> np.ndarray | None:
        if audio is None:
            return None
        block = audio[:, start:start + n]
        if block.shape[1] < n:
            block = np.pad(block, ((0, 0), (0, n - block.shape[1])))
        return block

    def _output(self, wet: dict[str, np.ndarray], dry: np.ndarray | None, start: int, clock: ClockView,
                out: np.ndarray) -> None:
        row = 0
        for name, stage in self.stages.items():
            stage.process(wet[name], dry, start, self.store, clock, out[row:row + stage.channels])
            row += stage.channels

    def summary(self, job: RenderJob, frames: int, timing: list[float], wall: float) -> dict:
        counters = [s.counters() for s in self.stages.values()]
        total = {k: sum(c[k] for c in counters) for k in ("nonfinite_samples", "clamped_samples",
                                                          "limited_samples", "late_blocks")}
        mean = float(np.mean(timing)) if timing else 0.0
        return {
            "output": str(job.output), "sample_rate": self.sr, "frames": frames,
            "duration_s": round(frames / self.sr, 6), "blocks": len(timing),
            "block_size": self.engine.block_size, "seed": self.engine.seed,
            "latency_frames": self.engine.latency_frames, "rates": self.engine.rate_status(),
            "channels": {name: s.channels for name, s in self.stages.items()},
            **total,
            "max_gain_reduction_db": max([0.0, *(c["max_gain_reduction_db"] for c in counters)]),
            "model_ms_per_block": round(mean * 1000.0, 3),
            "model_ms_per_block_max": round(max(timing, default=0.0) * 1000.0, 3),
            "realtime_factor": round((frames / self.sr) / wall, 2) if wall > 0 else None,
            "midi_events": self.midi_events,
            "graphs": self.engine.status(), "events": list(self.engine.events),
            "warnings": self._warnings(job),
        }

    def _warnings(self, job: RenderJob) -> list[str]:
        """What the player should know: a performance nothing in the mapping took, transfer graphs
        rendered without an input file (they hear silence), what the box does not use."""
        box, stats = self.parts.box, self.parts.mapping.stats
        warnings = []
        if stats.unmatched and not stats.matched:
            where = f"port '{job.port}'" if job.port else "the file"
            warnings.append(f"{stats.unmatched} controller message(s) from {where} arrived and no mapping entry "
                            f"took any: check the mapping's port and channel filters (or --port)")
        if job.input is None:
            warnings += [f"graph '{g.name}' transforms its audio input, and no input file was given: it heard "
                         "silence (give an input file)" for g in box.graphs if g.kind == "transfer" and g.encoder]
        return warnings + box_warnings(box, self.parts.store.graphs)

