"""Clock follower torture: real-world MIDI clock across many seeds, counted as right or wrong.

Why: the precision figures of ``bench/clock_accuracy.py`` come from a steady,
gently jittered clock. Real gear jitters by milliseconds, stops, changes song
and tempo, hiccups on USB and restarts mid-bar. Each run here is a seeded
master (a drum machine) playing one scenario through
:class:`ravebox.clock.follower.ClockFollower`, driven as the control thread
drives it (one ``advance`` per 256-frame period).

A run is **wrong** when

- at its end (half a tick after the last clock) the published beat is more than
  ``0.05`` beat from the true beat (song ticks / 24) or the published tempo more
  than ``0.5`` BPM from the true tempo; or
- at any period while the transport runs, the view says ``locked`` while its
  beat is more than 0.05 beat off; or says ``locked`` for longer than
  ``TEMPO_GRACE_BEATS`` in a row while its tempo is more than 0.5 BPM off (the
  grace is the time a small tempo step needs to show through ±5 ms of jitter:
  until then no follower can know).

Scenarios (each seeded; tempos drawn from 20-300 BPM):
``uniform`` (±0-5 ms), ``gauss`` (σ 0-2 ms with bursts of late outliers),
``history`` (play, Stop, a pause with or without clock, Start or Continue),
``songpos`` (Stop, Song Position mid-bar, Continue), ``step`` (a tempo step of
any size up or down, with or without Stop/Start between), ``ramp`` (a drifting
tempo), ``hiccup`` (USB stalls that deliver several ticks in one burst),
``dropout`` (ticks missing for 0.3-2 s while the master plays on),
``newsource`` (one master stops, another starts at its own tempo).

Prints ``clock_wrong_runs: N`` and ``clock_runs: M`` after the precision figures
of ``bench/clock_accuracy.py`` measured in the same run.

Run: ``python bench/clock_torture.py [--seeds N] [--only SCENARIO] [--verbose]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import clock_accuracy  # noqa: E402  (same folder; reused for the precision figures)

from ravebox.clock.follower import ClockFollower  # noqa: E402
from ravebox.midi.events import MidiEvent  # noqa: E402

SR = clock_accuracy.SR
BLOCK = clock_accuracy.BLOCK
PPQN = 24
BEAT_TOL = 0.05
BPM_TOL = 0.5
TEMPO_GRACE_BEATS = 4.0


@dataclass
class Master:
    """A simulated clock master: emits stamped events and remembers the truth of each tick."""

    rng: np.random.Generator
    jitter: float = 0.0                    # frames, uniform ±
    gauss: float = 0.0                     # frames, sigma
    t: float = 0.25 * SR                   # true time of the next tick
    song: int = 0                          # song tick of the next running clock
    running: bool = False
    events: list[tuple[float, str, int]] = field(default_factory=list)  # (stamp, kind, value)
    truth: list[tuple[float, float, float, bool]] = field(default_factory=list)  # (tau, song, period, running)
    bpm: float = 120.0

    def period(self, bpm: float) -> float:
        return 60.0 * SR / (PPQN * bpm)

    def noise(self) -> float:
        return self.rng.uniform(-self.jitter, self.jitter) + (self.rng.normal(0.0, self.gauss) if self.gauss else 0.0)

    def message(self, kind: str, value: int = 0) -> None:
        """A transport message half a tick before the next clock."""
        self.events.append((self.t - 0.5 * self.period(self.bpm), kind, value))

    def start(self) -> None:
        self.message("start")
        self.song, self.running = 0, True

    def stop(self) -> None:
        self.message("stop")
        self.running = False

    def cont(self) -> None:
        self.message("continue")
        self.running = True

    def songpos(self, sixteenths: int) -> None:
        self.message("songpos", sixteenths)
        self.song = sixteenths * 6

    def play(self, ticks: int, bpm: float, to_bpm: float | None = None, send: bool = True) -> None:
        """``ticks`` clocks at ``bpm`` (ramping to ``to_bpm``); ``send=False``: the cable is silent."""
        tempos = np.linspace(bpm, bpm if to_bpm is None else to_bpm, max(ticks, 1))
        for b in tempos[:ticks]:
            self.bpm = float(b)
            p = self.period(self.bpm)
            if send:
                self.events.append((self.t + self.noise(), "clock", 0))
            self.truth.append((self.t, float(self.song), p, self.running))
            if self.running:
                self.song += 1
            self.t += p

    def pause(self, seconds: float) -> None:
        self.t += seconds * SR

    def hiccup(self, ticks: int) -> None:
        """The last ``ticks`` clocks were stuck in a USB buffer: all arrive with the last one."""
        clocks = [i for i, e in enumerate(self.events) if e[1] == "clock"][-ticks:]
        release = self.events[clocks[-1]][0]
        for n, i in enumerate(clocks):
            self.events[i] = (release + n, "clock", 0)

    def outliers(self, ticks: int, late_ms: float) -> None:
        """The last ``ticks`` clocks arrive ``late_ms`` late (a burst of outliers)."""
        clocks = [i for i, e in enumerate(self.events) if e[1] == "clock"][-ticks:]
        for i in clocks:
            s, k, v = self.events[i]
            self.events[i] = (s + late_ms * 1e-3 * SR, k, v)

    def stream(self) -> list[tuple[int, str, int]]:
        """Events in the order sent (a cable keeps it) with integer, non-decreasing stamps:
        a late message delays those behind it."""
        out, last = [], 0
        for stamp, kind, value in self.events:
            last = max(last, int(round(stamp)))
            out.append((last, kind, value))
        return out

    def beat_at(self, frame: float) -> tuple[float, float, bool]:
        """(true beat, true bpm, running) at ``frame`` from the last true tick before it."""
        taus = [x[0] for x in self.truth]
        i = int(np.searchsorted(taus, frame, side="right")) - 1
        if i < 0:
            return 0.0, self.bpm, False
        tau, song, period, running = self.truth[i]
        frac = min((frame - tau) / period, 1.0)
        playing = running and frame - tau < 1.5 * period  # a master gone silent has no beat to check
        return (song + (frac if running else 0.0)) / PPQN, 60.0 * SR / (PPQN * period), playing


# -- scenarios -------------------------------------------------------------------------------
def tempo(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(20.0), np.log(300.0))))


def beats(m: Master, n: float) -> int:
    return max(int(n * PPQN), 1)


def jittered(rng: np.random.Generator) -> Master:
    return Master(rng, jitter=rng.uniform(0.0, 5.0) * 1e-3 * SR)


def s_uniform(rng):
    m = jittered(rng)
    m.start()
    m.play(beats(m, rng.uniform(8, 24)), tempo(rng))
    return m


def s_gauss(rng):
    m = Master(rng, gauss=rng.uniform(0.5, 2.0) * 1e-3 * SR)
    bpm = tempo(rng)
    m.start()
    for _ in range(int(rng.integers(2, 6))):
        m.play(beats(m, rng.uniform(2, 5)), bpm)
        m.outliers(int(rng.integers(1, 4)), rng.uniform(3.0, 12.0))
    m.play(beats(m, 10), bpm)
    return m


def s_history(rng):
    m = jittered(rng)
    bpm = tempo(rng)
    m.start()
    m.play(beats(m, rng.uniform(2, 8)), bpm)
    m.stop()
    if rng.random() < 0.5:
        m.play(beats(m, rng.uniform(1, 6)), bpm)    # clock while stopped
    else:
        m.pause(rng.uniform(0.3, 4.0))
    bpm = bpm if rng.random() < 0.5 else tempo(rng)
    if rng.random() < 0.5:
        m.start()
    else:
        m.cont()
    m.play(beats(m, rng.uniform(8, 16)), bpm)
    return m


def s_songpos(rng):
    m = jittered(rng)
    bpm = tempo(rng)
    m.start()
    m.play(beats(m, 4), bpm)
    m.stop()
    m.pause(rng.uniform(0.2, 2.0))
    m.songpos(int(rng.integers(1, 64)))             # mid-bar, any sixteenth
    m.cont()
    m.play(beats(m, rng.uniform(8, 16)), bpm)
    return m


def s_step(rng):
    m = jittered(rng)
    before = tempo(rng)
    after = before * float(rng.choice([rng.uniform(1.005, 1.1), rng.uniform(1.1, 4.0)]) ** rng.choice([-1, 1]))
    after = float(np.clip(after, 20.0, 300.0))
    m.start()
    m.play(beats(m, rng.uniform(4, 16)), before)
    if rng.random() < 0.4:
        m.stop()
        m.pause(rng.uniform(0.0, 2.0))
        m.start()
    m.play(beats(m, 12), after)
    return m


def s_ramp(rng):
    m = jittered(rng)
    a, b = tempo(rng), tempo(rng)
    m.start()
    m.play(beats(m, 4), a)
    m.play(beats(m, rng.uniform(4, 16)), a, b)
    m.play(beats(m, 10), b)
    return m


def s_hiccup(rng):
    m = jittered(rng)
    bpm = tempo(rng)
    m.start()
    m.play(beats(m, 6), bpm)
    for _ in range(int(rng.integers(1, 4))):
        m.play(int(rng.integers(2, 9)), bpm)
        m.hiccup(int(rng.integers(2, 9)))
        m.play(beats(m, rng.uniform(1, 3)), bpm)
    m.play(beats(m, 8), bpm)
    return m


def s_dropout(rng):
    m = jittered(rng)
    bpm = tempo(rng)
    m.start()
    m.play(beats(m, 6), bpm)
    gap = rng.uniform(0.3, 2.0)
    m.play(max(int(gap * SR / m.period(bpm)), 1), bpm, send=False)
    m.play(beats(m, 10), bpm)
    return m


def s_newsource(rng):
    m = jittered(rng)
    m.start()
    m.play(beats(m, rng.uniform(4, 10)), tempo(rng))
    if rng.random() < 0.5:
        m.stop()
    m.pause(rng.uniform(0.05, 1.0))
    m.t += rng.uniform(0.0, 1.0) * m.period(m.bpm)   # the new source's own phase
    m.jitter = rng.uniform(0.0, 5.0) * 1e-3 * SR
    m.start()
    m.play(beats(m, 12), tempo(rng))
    return m


SCENARIOS = {
    "uniform": s_uniform, "gauss": s_gauss, "history": s_history, "songpos": s_songpos, "step": s_step,
    "ramp": s_ramp, "hiccup": s_hiccup, "dropout": s_dropout, "newsource": s_newsource,
}


# -- one run ---------------------------------------------------------------------------------
MESSAGES = {"clock": mido.Message("clock"), "start": mido.Message("start"), "stop": mido.Message("stop"),
            "continue": mido.Message("continue")}


def judge(master: Master) -> tuple[bool, str]:
    """Drive a follower through the master's stream; (wrong, why)."""
    follower = ClockFollower(SR)
    events = master.stream()
    end = int(master.truth[-1][0] + 0.5 * master.truth[-1][2])
    i, why, lie_since = 0, "", None
    for start in range(BLOCK, end + BLOCK, BLOCK):
        start = min(start, end)
        while i < len(events) and events[i][0] < start:
            frame, kind, value = events[i]
            msg = mido.Message("songpos", pos=value) if kind == "songpos" else MESSAGES[kind]
            follower.feed(MidiEvent(frame, "sim", msg))
            i += 1
        view = follower.advance(start)
        beat, bpm, running = master.beat_at(start)
        if not (view.locked and running and view.running):
            lie_since = None
            continue
        if abs(view.beat_at(start) - beat) > BEAT_TOL:
            return True, f"locked {view.beat_at(start) - beat:+.3f} beat off at {start / SR:.2f} s"
        if abs(view.bpm - bpm) > BPM_TOL:
            lie_since = start if lie_since is None else lie_since
            if (start - lie_since) * bpm / 60.0 / SR > TEMPO_GRACE_BEATS:
                return True, f"locked at {view.bpm:.2f} BPM, true {bpm:.2f}, at {start / SR:.2f} s"
        else:
            lie_since = None
    view = follower.view()
    beat, bpm, _ = master.beat_at(end)
    if abs(view.beat_at(end) - beat) > BEAT_TOL:
        why = f"ends {view.beat_at(end) - beat:+.3f} beat off"
    elif abs(view.bpm - bpm) > BPM_TOL:
        why = f"ends at {view.bpm:.2f} BPM, true {bpm:.2f}"
    return bool(why), why


def torture(seeds: int, only: str | None = None, verbose: bool = False) -> tuple[int, int, dict[str, list[int]]]:
    """(wrong runs, runs, wrong seeds per scenario)."""
    wrong, runs, bad = 0, 0, {}
    for name, make in SCENARIOS.items():
        if only and name != only:
            continue
        bad[name] = []
        for seed in range(seeds):
            master = make(np.random.default_rng([seed, len(name), sum(map(ord, name))]))
            failed, why = judge(master)
            runs += 1
            if failed:
                wrong += 1
                bad[name].append(seed)
                if verbose:
                    print(f"  {name} seed {seed}: {why}")
    return wrong, runs, bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=12, help="seeds per scenario (default 12)")
    ap.add_argument("--only", choices=sorted(SCENARIOS))
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-precision", action="store_true", help="skip clock_accuracy's precision figures")
    args = ap.parse_args()
    began = time.perf_counter()
    wrong, runs, bad = torture(args.seeds, args.only, args.verbose)
    for name, seeds in bad.items():
        print(f"{name:10s} wrong {len(seeds):3d} of {args.seeds}" + (f"  seeds {seeds}" if seeds else ""))
    print(f"(torture ran {time.perf_counter() - began:.1f} s)")
    if not args.no_precision:
        row = clock_accuracy.measure("ravebox")
        clock_accuracy.print_figures(row)
    print(f"clock_wrong_runs: {wrong}")
    print(f"clock_runs: {runs}")


if __name__ == "__main__":
    main()
