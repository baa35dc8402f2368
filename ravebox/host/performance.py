"""The demo's built-in performance: an input loop to transform and a MIDI part that moves it.

Why built in: a newcomer without a controller or a sound card should still hear
(or capture to a file) ravebox doing something musical. The audio is a two-bar
loop at the given tempo (a plucked arpeggio plus noise hats), the MIDI part is
24 PPQN clock with a Start, and slow CC sweeps on the default mapping's latent
controls (CC 70-73 -> latent.bias of dims 0-3, CC 1 -> loop.dissolve), so the
timbre visibly and audibly moves. Everything is precomputed with numpy and
mido here (main thread); the JACK clients in :mod:`ravebox.host.democlients`
only copy it out.
"""

from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np

NOTES = (45, 52, 57, 60, 64, 57, 52, 48)  # an A minor arpeggio, one note per eighth


@dataclass(frozen=True)
class Performance:
    """``audio``: a loop (float32); ``clock``/``controls``: ``(frames, bytes)`` sorted by frame."""

    audio: np.ndarray
    clock: tuple[np.ndarray, list[bytes]]
    controls: tuple[np.ndarray, list[bytes]]
    bpm: float


def input_loop(sample_rate: int, bpm: float, seed: int = 1) -> np.ndarray:
    """Two bars of eighth-note plucks and sixteenth-note hats, as mono float32 in [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    eighth = int(round(sample_rate * 30.0 / bpm))
    out = np.zeros(16 * eighth, np.float64)
    t = np.arange(eighth) / sample_rate
    for i in range(16):
        hz = 440.0 * 2 ** ((NOTES[i % len(NOTES)] - 69) / 12)
        pluck = np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(4 * np.pi * hz * t)
        out[i * eighth:(i + 1) * eighth] += 0.35 * pluck * np.exp(-t * 9.0)
        for half in (0, eighth // 2):
            n = min(eighth // 4, eighth - half)
            hat = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.004 * sample_rate))
            out[i * eighth + half:i * eighth + half + n] += 0.08 * hat
    return np.clip(out, -0.5, 0.5).astype(np.float32)


def clock_part(sample_rate: int, bpm: float, seconds: float) -> tuple[np.ndarray, list[bytes]]:
    """Start at frame 0, then a clock tick every 1/24 beat (exact fractional spacing, rounded)."""
    tick = sample_rate * 60.0 / bpm / 24.0
    count = int(seconds * sample_rate / tick)
    frames = np.concatenate([[0], np.round(np.arange(count) * tick).astype(np.int64)])
    data = [mido.Message("start").bin()] + [mido.Message("clock").bin()] * count
    return frames.astype(np.int64), [bytes(d) for d in data]


def control_part(sample_rate: int, bpm: float, seconds: float, every_ms: float = 40.0) -> tuple[np.ndarray, list[bytes]]:
    """Slow out-of-phase sine sweeps on CC 70-73 (latent bias) and a dissolve swell on CC 1."""
    step = int(sample_rate * every_ms / 1000.0)
    bar_s = 4 * 60.0 / bpm
    frames, data = [], []
    for i, frame in enumerate(range(0, int(seconds * sample_rate), step)):
        s = frame / sample_rate
        for dim, cc in enumerate((70, 71, 72, 73)):
            value = 64 + 63 * np.sin(2 * np.pi * s / (2 * bar_s) * (1 + 0.5 * dim) + dim)
            frames.append(frame)
            data.append(bytes(mido.Message("control_change", control=cc, value=int(value)).bin()))
        if i % 4 == 0:
            frames.append(frame)
            swell = 127 * (0.5 - 0.5 * np.cos(2 * np.pi * s / (4 * bar_s)))
            data.append(bytes(mido.Message("control_change", control=1, value=int(swell)).bin()))
    return np.asarray(frames, np.int64), data


def build(sample_rate: int, seconds: float, bpm: float = 120.0) -> Performance:
    """Everything the demo plays, for ``seconds`` of performance."""
    return Performance(input_loop(sample_rate, bpm), clock_part(sample_rate, bpm, seconds),
                       control_part(sample_rate, bpm, seconds), bpm)
