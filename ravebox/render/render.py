"""Offline render: box config + input audio (+ SMF performance) -> audio file, via the daemon's code.

Why the same code: a performance bounced here must sound as it would live,
and tests check behaviour sample-exactly through it. So render builds the
same parts the daemon does -- ``ParamStore``, ``ClockFollower``,
``MappingRuntime``, ``GateSequencer``, ``Engine``, ``OutputStage`` -- and plays
the role of the control thread (MIDI into mapping and clock, in frame order)
and of the worker and process thread (one engine block at a time).

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

from ravebox.clock.follower import ClockFollower
from ravebox.config.box import BoxConfig, load_box
from ravebox.engine.engine import Engine, Loader
from ravebox.engine.output import OutputStage
from ravebox.errors import RaveboxError
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from ravebox.render.performance import CLOCK_TYPES, end_frame, load_performance
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
    progress: Progress | None = field(default=None, repr=False)


def render(job: RenderJob) -> dict:
    """Render ``job``; returns the summary that ``--json`` prints."""
    box = job.box if isinstance(job.box, BoxConfig) else load_box(job.box)
    sr = box.box.sample_rate
    audio = _read_input(job.input, sr)
    events = load_performance(job.midi, sr) if job.midi else []
    frames = _length(job, audio, events, sr)
    session = _Session(box, sr, job.seed, job.loader)
    started = time.perf_counter()
    out, timing = session.run(audio, events, frames, job.progress)
    _write(job.output, out, sr, job.subtype)
    return session.summary(job, frames, timing, time.perf_counter() - started)


def _read_input(path: str | Path | None, sample_rate: int) -> np.ndarray | None:
    if path is None:
        return None
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        raise RenderError(f"cannot read input audio {path}: {exc}") from exc
    if rate != sample_rate:
        raise RenderError(f"{path}: sample rate {rate} Hz, the box runs at {sample_rate} Hz "
                          "(resample the file, or set [box] sample_rate for models of that rate)")
    return np.ascontiguousarray(data.T)


def _length(job: RenderJob, audio: np.ndarray | None, events: list[MidiEvent], sr: int) -> int:
    if job.duration is not None:
        return int(round(job.duration * sr))
    if audio is not None:
        return audio.shape[1] + int(round(job.tail * sr))
    if events:
        return end_frame(events) + int(round(max(job.tail, 1.0) * sr))
    raise RenderError("nothing sets the length: give an input file, a MIDI performance or --duration")


def _write(path: str | Path, out: np.ndarray, sr: int, subtype: str | None) -> None:
    """Write ``out`` (channels, frames); float WAV without libsndfile's time-stamped PEAK chunk."""
    path = Path(path)
    if subtype is None:
        subtype = "PCM_24" if path.suffix.lower() in (".flac", ".ogg") else "FLOAT"
    try:
        with sf.SoundFile(str(path), "w", sr, out.shape[0], subtype=subtype) as handle:
            _no_peak_chunk(handle)
            handle.write(out.T)
    except (RuntimeError, TypeError, ValueError, sf.LibsndfileError) as exc:
        raise RenderError(f"cannot write {path}: {exc}") from exc


SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _no_peak_chunk(handle: sf.SoundFile) -> None:
    """Float WAV files carry a PEAK chunk with a wall-clock timestamp, which would make two
    identical renders differ in bytes; libsndfile's SFC_SET_ADD_PEAK_CHUNK turns it off."""
    try:
        sf._snd.sf_command(handle._file, SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    except AttributeError:  # a soundfile without its cffi handles: bytes then differ in the timestamp
        pass


class _Session:
    """The daemon's parts, wired for one offline run."""

    def __init__(self, box: BoxConfig, sr: int, seed: int | None, loader: Loader | None) -> None:
        self.box, self.sr = box, sr
        self.engine = Engine(box, sr, seed, loader=loader)
        self.store = ParamStore(self.engine.graph_dims, sr)
        self.follower = ClockFollower(sr, box.sections.get("clock") if _is_settings(box, "clock") else None)
        self.mapping = self._mapping()
        gates = self._gates(self.engine.block_size)
        n = self.engine.block_size
        self.stages = {name: OutputStage(name, ch_out, sr, box.output, self.engine.latency_frames, n,
                                         max(ch_in, 1), gates)
                       for name, (ch_in, ch_out) in self.engine.channels.items()}
        self.midi_events = 0
        self._clock_params = (None, None)

    def _mapping(self):
        """The box's mapping, or -- as the daemon does -- the bundled default mapping."""
        from ravebox.mapping import MappingRuntime

        settings = self.box.sections.get("mapping")
        if settings is not None and hasattr(settings, "mapping"):
            return MappingRuntime(settings.mapping, self.store, settings.presets)
        from ravebox.mapping.bundled import bundled_path
        from ravebox.mapping.loader import load_mapping

        return MappingRuntime(load_mapping(bundled_path("default")), self.store)

    def _gates(self, max_block: int):
        settings = self.box.sections.get("gates")
        if settings is None or not hasattr(settings, "patterns") or not settings.patterns:
            return None
        from ravebox.gates.sequencer import GateSequencer

        return GateSequencer(settings.patterns, self.sr, max_block=max_block)

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
            clock = self.follower.advance(start)
            dry = self._block(audio, start, n)
            t0 = time.perf_counter()
            wet = self.engine.process({g: dry for g in self.engine.graphs}, start, self.store, clock)
            timing.append(time.perf_counter() - t0)
            self._output(wet, dry, start, clock, out[:, start:start + n])
            progress.update(b + 1)
        progress.close()
        return out[:, :frames], timing

    def _control(self, events: list[MidiEvent], cursor: int, until: int) -> int:
        """The control thread's job: events before ``until`` into clock and mapping, in order."""
        while cursor < len(events) and events[cursor].frame < until:
            event = events[cursor]
            if event.message.type in CLOCK_TYPES:
                self.follower.feed(event)
            if self.mapping is not None:
                self.mapping.handle(event)
            self.midi_events += 1
            cursor += 1
        self._clock_parameters(until)
        return cursor

    def _clock_parameters(self, frame: int) -> None:
        """``clock.offset_ms`` and ``clock.bpm`` are read by the follower, as in the daemon."""
        offset = self.store.value(ParamKey("clock.offset_ms"), frame)
        bpm = self.store.target(ParamKey("clock.bpm")) if "clock.bpm" in self.store.snapshot() else None
        last_offset, last_bpm = self._clock_params
        if offset != (last_offset if last_offset is not None else 0.0):
            self.follower.set_offset_ms(offset)
        if bpm is not None and bpm != last_bpm:
            self.follower.set_internal_bpm(bpm, frame)
        self._clock_params = (offset, bpm)

    @staticmethod
    def _block(audio: np.ndarray | None, start: int, n: int) -> np.ndarray | None:
        if audio is None:
            return None
        block = audio[:, start:start + n]
        if block.shape[1] < n:
            block = np.pad(block, ((0, 0), (0, n - block.shape[1])))
        return block

    def _output(self, wet: dict[str, np.ndarray], dry: np.ndarray | None, start: int, clock,
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
            "channels": {name: s.channels for name, s in self.stages.items()},
            **total,
            "max_gain_reduction_db": max([0.0, *(c["max_gain_reduction_db"] for c in counters)]),
            "model_ms_per_block": round(mean * 1000.0, 3),
            "model_ms_per_block_max": round(max(timing, default=0.0) * 1000.0, 3),
            "realtime_factor": round((frames / self.sr) / wall, 2) if wall > 0 else None,
            "midi_events": self.midi_events,
            "graphs": self.engine.status(), "events": list(self.engine.events),
        }


def _is_settings(box: BoxConfig, name: str) -> bool:
    value = box.sections.get(name)
    return value is not None and not isinstance(value, dict) and not hasattr(value, "keys")
