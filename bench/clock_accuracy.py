"""Clock follower accuracy on simulated MIDI clock, against two moving-average baselines.

Every scenario builds a seeded tick stream (true tick instants plus timestamp
noise), sends Start before the first tick, and runs three followers on the same
ticks:

- ``ravebox``: :class:`ravebox.clock.follower.ClockFollower`, driven like the
  control thread drives it: once per 256-frame period, feed the ticks stamped
  before the period, ``advance`` to the period's first frame, and read the
  published view at every 16th frame of the period;
- ``ma24``: tempo from the mean of the last 24 tick intervals, phase re-anchored
  to the tick count on every tick (like norns);
- ``ma47``: the same with 47 intervals (like mod-host's first filter stage).

Figures: tempo error sigma (RMS about the true tempo) at steady 120 BPM with
uniform ±1 ms and ±2 ms jitter and with timestamps quantised to a 256-frame
period; settle time in beats after a 120 -> 126 step (the last moment the
estimate is outside ±0.12 BPM; median of 20 seeds); tempo RMS error through a
90 -> 140 ramp over 16 beats; settle and final phase after large tempo jumps
(x0.5, x2, x3.3, x0.64) and small ones (1 BPM, 10 BPM at 300); phase error sigma in ms; beats until re-locked
after a 2 s dropout; and backward steps of the published beat (all scenarios).

Run: ``python bench/clock_accuracy.py`` (about half a minute on one core).
"""

from __future__ import annotations

import time

import mido
import numpy as np

from ravebox.clock.follower import ClockFollower
from ravebox.midi.events import MidiEvent

SR = 48000
BLOCK = 256
GRID = 16
PPQN = 24
BAND = 0.12


# -- tick streams ------------------------------------------------------------------
def tick_stream(bpm_per_tick: np.ndarray, rng: np.random.Generator, jitter_ms: float,
                quantise: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """True tick instants and their timestamps (frames); tick i lasts 1/24 beat at bpm[i]."""
    periods = 60.0 * SR / (PPQN * np.asarray(bpm_per_tick, dtype=np.float64))
    tau = 0.25 * SR + np.concatenate([[0.0], np.cumsum(periods)[:-1]])
    stamp = tau + rng.uniform(-1.0, 1.0, len(tau)) * jitter_ms * 1e-3 * SR
    stamp = np.floor(stamp / quantise) * quantise if quantise else np.round(stamp)
    return tau, stamp


def true_bpm_at(frames: np.ndarray, tau: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(tau, frames, side="right") - 1, 0, len(bpm) - 1)
    return bpm[idx]


def true_beat_at(frames: np.ndarray, tau: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    last_period = 60.0 * SR / (PPQN * bpm[-1])
    ext_t = np.append(tau, tau[-1] + last_period)
    return np.interp(frames, ext_t, np.arange(len(ext_t)) / PPQN)


# -- followers -----------------------------------------------------------------------
def run_ravebox(stamps: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid frames, published beats, published bpm per grid frame)."""
    follower = ClockFollower(SR)
    follower.feed(MidiEvent(0, "sim", mido.Message("start")))
    msg = mido.Message("clock")
    frames, beats, bpms = [], [], []
    offsets = np.arange(0, BLOCK, GRID, dtype=np.float64)
    i = 0
    for start in range(BLOCK, end, BLOCK):
        while i < len(stamps) and stamps[i] < start:
            follower.feed(MidiEvent(int(stamps[i]), "sim", msg))
            i += 1
        view = follower.advance(start)
        grid = start + offsets
        frames.append(grid)
        beats.append(view.beats_over(grid))
        bpms.append(np.full(len(grid), view.bpm))
    return np.concatenate(frames), np.concatenate(beats), np.concatenate(bpms)


def run_moving_average(stamps: np.ndarray, end: int, taps: int) -> tuple[np.ndarray, ...]:
    """Tempo = mean of the last ``taps`` intervals; phase re-anchored on every tick."""
    grid = np.arange(BLOCK, end, GRID, dtype=np.float64)
    n = np.searchsorted(stamps, grid, side="left")  # ticks seen before each grid frame
    last = np.clip(n - 1, 0, len(stamps) - 1)
    first = np.clip(last - taps, 0, None)
    span = np.maximum(last - first, 1)
    period = np.where(last > first, (stamps[last] - stamps[first]) / span, 60.0 * SR / (PPQN * 120.0))
    beats = np.where(n > 0, (last + (grid - stamps[last]) / period) / PPQN, 0.0)
    return grid, beats, 60.0 * SR / (PPQN * period)


FOLLOWERS = {
    "ravebox": run_ravebox,
    "ma24": lambda s, e: run_moving_average(s, e, 24),
    "ma47": lambda s, e: run_moving_average(s, e, 47),
}


# -- scenarios -------------------------------------------------------------------------
def steady(name: str, seed: int, jitter_ms: float, quantise: int = 0, beats: int = 40) -> dict:
    rng = np.random.default_rng(seed)
    bpm = np.full(beats * PPQN, 120.0)
    tau, stamps = tick_stream(bpm, rng, jitter_ms, quantise)
    end = int(tau[-1])
    frames, got, tempo = FOLLOWERS[name](stamps, end)
    keep = frames > tau[8 * PPQN]  # after 8 beats
    truth = true_beat_at(frames, tau, bpm)
    phase_ms = (got - truth)[keep] * 60e3 / 120.0
    return {
        "tempo_sigma": float(np.sqrt(np.mean((tempo[keep] - 120.0) ** 2))),
        "phase_sigma": float(np.std(phase_ms)),
        "phase_bias": float(np.mean(phase_ms)),
        "backward": int(np.count_nonzero(np.diff(got) < 0)),
    }


def settle_after(frames, tempo, t0: float, target: float) -> float:
    """Beats (at ``target``) from ``t0`` until the estimate stays within ±BAND."""
    after = frames >= t0
    bad = np.nonzero(np.abs(tempo[after] - target) > BAND)[0]
    if len(bad) == 0:
        return 0.0
    if bad[-1] == np.count_nonzero(after) - 1:
        return float("inf")
    return float((frames[after][bad[-1] + 1] - t0) * target / 60.0 / SR)


def step(name: str, seed: int) -> dict:
    rng = np.random.default_rng(1000 + seed)
    bpm = np.r_[np.full(16 * PPQN, 120.0), np.full(8 * PPQN, 126.0)]
    tau, stamps = tick_stream(bpm, rng, 1.0)
    frames, got, tempo = FOLLOWERS[name](stamps, int(tau[-1]))
    return {"settle": settle_after(frames, tempo, tau[16 * PPQN], 126.0),
            "backward": int(np.count_nonzero(np.diff(got) < 0))}


def jump(name: str, seed: int, before: float, after: float) -> dict:
    """Any tempo change: settle beats and the phase error in the last beat (index slips show here)."""
    rng = np.random.default_rng(4000 + seed)
    bpm = np.r_[np.full(16 * PPQN, before), np.full(12 * PPQN, after)]
    tau, stamps = tick_stream(bpm, rng, 1.0)
    frames, got, tempo = FOLLOWERS[name](stamps, int(tau[-1]))
    last = frames > tau[-PPQN]
    phase_ms = (got - true_beat_at(frames, tau, bpm))[last] * 60e3 / after
    return {"settle": settle_after(frames, tempo, tau[16 * PPQN], after),
            "phase_end": float(np.max(np.abs(phase_ms))),
            "backward": int(np.count_nonzero(np.diff(got) < 0))}


def ramp(name: str, seed: int) -> dict:
    rng = np.random.default_rng(2000 + seed)
    bpm = np.r_[np.full(8 * PPQN, 90.0), np.linspace(90.0, 140.0, 16 * PPQN), np.full(8 * PPQN, 140.0)]
    tau, stamps = tick_stream(bpm, rng, 1.0)
    frames, got, tempo = FOLLOWERS[name](stamps, int(tau[-1]))
    inside = (frames > tau[8 * PPQN]) & (frames < tau[24 * PPQN])
    err = tempo[inside] - true_bpm_at(frames[inside], tau, bpm)
    phase_ms = (got - true_beat_at(frames, tau, bpm))[inside] * 60e3 / true_bpm_at(frames[inside], tau, bpm)
    return {"ramp_rms": float(np.sqrt(np.mean(err ** 2))), "ramp_phase_max": float(np.max(np.abs(phase_ms))),
            "settle": settle_after(frames, tempo, tau[24 * PPQN], 140.0),
            "backward": int(np.count_nonzero(np.diff(got) < 0))}


def dropout(name: str, seed: int) -> dict:
    """Ticks vanish for 2 s at beat 16 while the master keeps running; beats to re-lock after."""
    rng = np.random.default_rng(3000 + seed)
    bpm = np.full(32 * PPQN, 120.0)
    tau, stamps = tick_stream(bpm, rng, 1.0)
    gap = (tau >= tau[16 * PPQN]) & (tau < tau[16 * PPQN] + 2.0 * SR)
    frames, got, tempo = FOLLOWERS[name](stamps[~gap], int(tau[-1]))
    back = tau[~gap][np.searchsorted(tau[~gap], tau[16 * PPQN] + 2.0 * SR)]
    phase_ms = np.abs(got - true_beat_at(frames, tau, bpm)) * 60e3 / 120.0
    after = frames >= back
    bad = np.nonzero(((phase_ms > 1.0) | (np.abs(tempo - 120.0) > BAND))[after])[0]
    relock = 0.0 if len(bad) == 0 else float((frames[after][bad[-1]] - back) * 2.0 / SR)
    return {"relock": relock, "backward": int(np.count_nonzero(np.diff(got) < 0))}


# -- report ----------------------------------------------------------------------------
def measure(name: str) -> dict[str, float]:
    """Every figure of one follower (``FOLLOWERS`` key); ``bench/clock_torture.py`` reuses it."""
    seeds = range(20)
    r: dict[str, float] = {}
    s1 = [steady(name, s, 1.0) for s in range(5)]
    r["tempo_1ms"] = float(np.sqrt(np.mean([x["tempo_sigma"] ** 2 for x in s1])))
    r["phase_1ms"] = float(np.sqrt(np.mean([x["phase_sigma"] ** 2 for x in s1])))
    r["phase_bias"] = float(np.mean([x["phase_bias"] for x in s1]))
    s2 = [steady(name, s, 2.0) for s in range(5)]
    r["tempo_2ms"] = float(np.sqrt(np.mean([x["tempo_sigma"] ** 2 for x in s2])))
    sq = [steady(name, s, 0.0, quantise=BLOCK) for s in range(2)]
    r["tempo_quant"] = float(np.sqrt(np.mean([x["tempo_sigma"] ** 2 for x in sq])))
    r["phase_quant"] = float(np.sqrt(np.mean([x["phase_sigma"] ** 2 for x in sq])))
    st = [step(name, s) for s in seeds]
    r["settle"] = float(np.median([x["settle"] for x in st]))
    r["settle_max"] = float(np.max([x["settle"] for x in st]))
    rp = [ramp(name, s) for s in range(3)]
    r["ramp_rms"] = float(np.mean([x["ramp_rms"] for x in rp]))
    r["ramp_phase_max"] = float(np.max([x["ramp_phase_max"] for x in rp]))
    r["ramp_settle"] = float(np.median([x["settle"] for x in rp]))
    big = [jump(name, s, a, b) for s in range(3) for a, b in ((120, 60), (120, 240), (60, 200), (140, 90))]
    r["big_settle"] = float(np.max([x["settle"] for x in big]))
    r["big_phase"] = float(np.max([x["phase_end"] for x in big]))
    small = [jump(name, s, a, b) for s in range(3) for a, b in ((120, 121), (300, 290))]
    r["small_settle"] = float(np.median([x["settle"] for x in small]))
    dr = [dropout(name, s) for s in range(3)]
    r["relock"] = float(np.median([x["relock"] for x in dr]))
    r["backward"] = sum(x["backward"] for x in s1 + s2 + sq + st + rp + dr + big + small)
    return r


def print_figures(rb: dict[str, float]) -> None:
    """The goal figures of the ravebox follower, as ``name: value`` lines."""
    print(f"tempo_sigma_bpm_1ms: {rb['tempo_1ms']:.4f}")
    print(f"settle_beats_step: {rb['settle']:.2f}")
    print(f"phase_sigma_ms: {rb['phase_1ms']:.3f}")
    print(f"backward_phase_events: {int(rb['backward'])}")


def main() -> None:
    began = time.perf_counter()
    rows = {name: measure(name) for name in FOLLOWERS}
    print_table(rows)
    print(f"(ran {time.perf_counter() - began:.1f} s)")
    rb = rows["ravebox"]
    for base in ("ma24", "ma47"):
        print(f"ratio tempo_1ms {base}/ravebox: {rows[base]['tempo_1ms'] / rb['tempo_1ms']:.1f}x, "
              f"phase_1ms {base}/ravebox: {rows[base]['phase_1ms'] / rb['phase_1ms']:.1f}x")
    print_figures(rb)


def print_table(rows: dict[str, dict[str, float]]) -> None:
    labels = [
        ("tempo_1ms", "tempo sigma BPM, ±1 ms jitter"),
        ("tempo_2ms", "tempo sigma BPM, ±2 ms jitter"),
        ("tempo_quant", "tempo sigma BPM, 256-frame quantised"),
        ("phase_1ms", "phase sigma ms, ±1 ms jitter"),
        ("phase_bias", "phase mean ms, ±1 ms jitter"),
        ("phase_quant", "phase sigma ms, quantised"),
        ("settle", "settle beats 120->126 (median of 20)"),
        ("settle_max", "settle beats 120->126 (worst of 20)"),
        ("ramp_rms", "tempo RMS BPM during 90->140 ramp"),
        ("ramp_phase_max", "max |phase| ms during ramp"),
        ("ramp_settle", "settle beats after ramp end"),
        ("big_settle", "settle beats x0.5 x2 x3.3 x0.64 (worst of 12)"),
        ("big_phase", "|phase| ms 11 beats after those (worst)"),
        ("small_settle", "settle beats 120->121, 300->290 (median)"),
        ("relock", "beats to re-lock after 2 s dropout"),
        ("backward", "backward phase steps (all runs)"),
    ]
    names = list(rows)
    print(f"{'figure':44s}" + "".join(f"{n:>12s}" for n in names))
    for key, label in labels:
        print(f"{label:44s}" + "".join(f"{rows[n][key]:12.4g}" for n in names))


if __name__ == "__main__":
    main()
