"""When the JACK process callback starts within its period, and how long it runs: histograms.

Why: an xrun means some client had not finished when the period ended. For a Python
client the callback's own run time (``callback_mean_ms``) is only half of it: before
the first line of Python runs, the process thread must wake and take the GIL, which
another thread of the daemon (the inference worker between torch calls, the control
thread) may hold. ``start`` is the time from the cycle's start to the callback's
first line (wake-up and GIL wait), ``run`` the callback itself; their tails tell
which one costs the periods (``bench/fullsize.py`` prints both). ``cpu``, when the
caller measures it, is the process thread's CPU time in the callback: ``run`` minus
``cpu`` is what the callback waited inside (the GIL, lost between two of its calls,
or a preemption), not what it did. ``signal`` (start + run) is when in the period
the client told JACK it was done: past the period, JACK counted it still running.
``after`` is the work a process thread does after telling JACK its part of the
cycle is done (:mod:`ravebox.host.processthread`): it counts toward no deadline but
the next cycle's start. ``ready`` (the native cycle, :mod:`ravebox.host.nativecycle`)
is when, counted from the cycle's start, the Python cycle thread had the next
cycle's output ready: past one period the next cycle waited for it, past one and
a half it played silence.

Threads: :meth:`CycleTimes.record` runs on the JACK process thread, or on the cycle
thread from the C thread's own timings (the native cycle) (two list index
increments, no allocation beyond Python's small ints); :meth:`to_json` on any other
thread reads the counts (a count read mid-update is off by one, never torn).
"""

from __future__ import annotations

BIN_S = 50e-6     # 50 us bins
BINS = 400        # up to 20 ms; the last bin holds everything longer


def _bin(seconds: float) -> int:
    """The histogram bin of a duration: the first for a negative one, the last for 20 ms and more."""
    i = int(seconds * 20000.0)   # / BIN_S
    return i if 0 <= i < BINS else (BINS - 1 if i > 0 else 0)


class CycleTimes:
    """Histograms of the callback's start delay and run time (seconds) per period."""

    def __init__(self) -> None:
        self.start = [0] * BINS
        self.run = [0] * BINS
        self.cpu = [0] * BINS
        self.after = [0] * BINS       # the work after the cycle's signal (the next period's output)
        self.after_cpu = [0] * BINS
        self.signal = [0] * BINS      # start + run: when in its period the client told JACK it was done
        self.ready = [0] * BINS       # when the next cycle's output was ready (the native cycle's Python half)
        self.start_max = 0.0
        self.run_max = 0.0
        self.cycles = 0

    def record(self, start_s: float, run_s: float, cpu_s: float | None = None) -> None:
        """Process thread: one period's start delay, run time and (if measured) CPU time."""
        self.start[_bin(start_s)] += 1
        self.run[_bin(run_s)] += 1
        self.signal[_bin(start_s + run_s)] += 1
        if cpu_s is not None:
            self.cpu[_bin(cpu_s)] += 1
        if start_s > self.start_max:
            self.start_max = start_s
        if run_s > self.run_max:
            self.run_max = run_s
        self.cycles += 1

    def record_after(self, run_s: float, cpu_s: float) -> None:
        """Process thread: the time and CPU time of one period's work after JACK was told it is done."""
        self.after[_bin(run_s)] += 1
        self.after_cpu[_bin(cpu_s)] += 1

    def record_ready(self, ready_s: float) -> None:
        """Cycle thread: how long after its cycle's start the next cycle's output was ready."""
        self.ready[_bin(ready_s)] += 1

    @staticmethod
    def quantile(counts: list[int], q: float) -> float:
        """Upper edge (seconds) of the bin holding quantile ``q`` of ``counts`` (0.0 when empty)."""
        total = sum(counts)
        if not total:
            return 0.0
        need, seen = q * total, 0
        for i, c in enumerate(counts):
            seen += c
            if seen >= need:
                return (i + 1) * BIN_S
        return len(counts) * BIN_S

    def over(self, seconds: float, counts: list[int] | None = None) -> int:
        """Periods whose callback started (or whose ``counts`` reached) ``seconds`` or more into the period."""
        return sum((self.start if counts is None else counts)[int(seconds / BIN_S):])

    def to_json(self, period_s: float | None = None) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "cycles": self.cycles,
            "start_p50_ms": round(1e3 * self.quantile(self.start, 0.5), 3),
            "start_p99_ms": round(1e3 * self.quantile(self.start, 0.99), 3),
            "start_p999_ms": round(1e3 * self.quantile(self.start, 0.999), 3),
            "start_max_ms": round(1e3 * self.start_max, 3),
            "run_p50_ms": round(1e3 * self.quantile(self.run, 0.5), 3),
            "run_p99_ms": round(1e3 * self.quantile(self.run, 0.99), 3),
            "run_p999_ms": round(1e3 * self.quantile(self.run, 0.999), 3),
            "run_max_ms": round(1e3 * self.run_max, 3),
        }
        if any(self.cpu):
            out["cpu_p50_ms"] = round(1e3 * self.quantile(self.cpu, 0.5), 3)
            out["cpu_p99_ms"] = round(1e3 * self.quantile(self.cpu, 0.99), 3)
        if any(self.after):
            out["after_p50_ms"] = round(1e3 * self.quantile(self.after, 0.5), 3)
            out["after_p99_ms"] = round(1e3 * self.quantile(self.after, 0.99), 3)
            out["after_cpu_p50_ms"] = round(1e3 * self.quantile(self.after_cpu, 0.5), 3)
        if any(self.ready):
            out["ready_p50_ms"] = round(1e3 * self.quantile(self.ready, 0.5), 3)
            out["ready_p99_ms"] = round(1e3 * self.quantile(self.ready, 0.99), 3)
            if period_s:
                out["ready_over_period"] = self.over(period_s, self.ready)
        if period_s:
            # the client's own count of the cycles it finished late (jackd's "client still running" xruns),
            # and how many of them the wake-up and GIL wait alone, or the run alone, made late
            out["start_over_half_period"] = self.over(period_s / 2)
            out["signal_over_period"] = self.over(period_s, self.signal)
            out["start_over_period"] = self.over(period_s)
            out["run_over_half_period"] = self.over(period_s / 2, self.run)
        return out
