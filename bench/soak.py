#!/usr/bin/env python3
"""Soak: ravebox on a dummy jackd for a long run, every output sample checked, RSS tracked.

One dummy jackd serves the run. ``ravebox run`` plays a one-graph box on the
committed test model (``tests/models/rave_a.ts``), its input fed by a tone and
its MIDI input by a steady stream of control changes (``--cc-rate`` per second,
fader sweeps on two controls and encoder ticks on a third), all from a probe
client in this process that also captures ravebox's output and checks every
sample: non-finite, or above the box's ceiling (``[output] ceiling_db``, -1 dBFS).

RSS: ravebox's ``VmRSS`` is read every ``--sample-s`` seconds; the growth rate
is the least-squares slope (kB per minute) after the first ``--settle-s``
seconds (imports, warm-up and the allocator's first growth are not a leak).
The baseline is a bare JACK-Client pass-through process (``bench/realtime.py
--bare-client``) living through the same run on the same server: its slope is
what Python + libjack + numpy grow by on their own, and the ratio compares both.

Lost events: the probe counts every CC it wrote; ravebox counts what it
handled (``midi_events``) and what it coalesced on purpose
(``midi_coalesced``); ``events_lost`` = sent - handled - coalesced (events
dropped by a full ring are included; they are counted separately too).

Allocator (``--malloc-stats``): ravebox then runs under a small wrapper
whose thread reads glibc's ``mallinfo2()`` every ``--sample-s`` (every arena:
bytes in use, free bytes kept, mmapped) and, with ``--trim-s N``, calls
``malloc_trim(0)`` every N seconds. In-use growth is memory something holds (a
leak, native or Python); free-kept growth with flat in-use is fragmentation
the allocator has not returned (a trim or ``MALLOC_ARENA_MAX`` changes it).

Objects (``--census``): ravebox then runs under a wrapper that walks its
whole Python heap every minute and logs the types and containers that grew
since the first walk, with what holds them (``census.txt`` beside the samples).

Ends with ``late_blocks``, ``rss_growth_kb_per_min``,
``baseline_rss_growth_kb_per_min``, ``rss_growth_ratio``, ``nonfinite_samples``,
``over_ceiling_samples`` and ``events_lost`` lines.

Usage: python bench/soak.py [--minutes 10] [--cc-rate 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL = REPO / "tests" / "models" / "rave_a.ts"
CEILING_DB = -1.0
BOX = """
[box]
name = "soak"
[models]
a = "{model}"
[graphs.main]
encoder = "a"
[output]
ceiling_db = {ceiling}
[mapping]
file = "{mapping}"
[jack]
client_name = "ravebox"
[[jack.connect]]
port = "^main_in_"
allow = ["^probe:tone$"]
[[jack.connect]]
port = "^main_out_"
allow = ["^probe:in$"]
[[jack.connect]]
port = "^midi_in$"
allow = ["^probe:cc$"]
"""
MAPPING = """
[defaults]
takeover = "jump"
[[map]]
cc = 7
target = "out.gain_db"
range = [-12, 6]
[[map]]
cc = 1
target = "mix.wet"
[[map]]
cc = 16
encoder = "twos_complement"
step = 0.05
target = "latent.bias"
dim = 0
"""


# ravebox under glibc allocator statistics (and optional trimming); argv: stats_file sample_s trim_s -- cli args
MALLOC_WRAPPER = r"""
import ctypes, sys, threading, time
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
path, sample_s, trim_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def watch():
    next_trim = time.monotonic() + trim_s
    with open(path, "a", buffering=1) as out:
        while True:
            m = libc.mallinfo2()
            out.write(f"{time.monotonic():.1f} {m.uordblks} {m.fordblks} {m.hblkhd}\n")
            if trim_s > 0 and time.monotonic() >= next_trim:
                libc.malloc_trim(0)
                next_trim += trim_s
            time.sleep(sample_s)
threading.Thread(target=watch, daemon=True, name="soak-mallinfo").start()
from ravebox.service.cli import main
sys.exit(main(sys.argv[5:]))
"""


# ravebox under a census of its live Python objects; argv: census_file sample_s settle_s -- cli args.
# A heap walk (every object gc tracks, and everything they refer to: ints, floats, bytes and the containers of
# atoms CPython untracks) at settle_s and then every sample_s: the types whose count grew, and the containers
# whose length grew since the first census, with the types of what holds them and a sample of their items.
# Between censuses it costs nothing; a census holds the GIL for a second or two (the audio may skip then).
# tracemalloc was tried first: under load it slowed the daemon until its control thread fell behind, and it
# names where an object's memory was first allocated, which Python's free lists make misleading.
# It found issue 14's growth: Host._retired, every audio path a headroom re-size replaced, kept for good.
CENSUS_WRAPPER = r"""
import collections, gc, sys, threading, time
path, sample_s, settle_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
SIZED = (list, dict, set, collections.deque, bytearray)
def walk():
    seen, stack = {}, gc.get_objects()
    while stack:
        o = stack.pop()
        if id(o) not in seen:
            seen[id(o)] = o
            stack.extend(gc.get_referents(o))
    return seen
def census():
    seen = walk()
    return seen, collections.Counter(type(o).__qualname__ for o in seen.values()), \
        {i: len(o) for i, o in seen.items() if isinstance(o, SIZED)}
def watch():
    time.sleep(settle_s)
    seen, types0, sizes0 = census()
    del seen
    t0 = time.monotonic()
    with open(path, "a", buffering=1) as out:
        while True:
            time.sleep(sample_s)
            seen, types, sizes = census()
            moved = sorted(((types[k] - types0.get(k, 0), k) for k in types), reverse=True)[:10]
            out.write(f"t {time.monotonic() - t0:.0f} s: {len(seen)} objects; grew: "
                      + ", ".join(f"{k} {d:+d}" for d, k in moved if d > 0) + "\n")
            grew = sorted(((n - sizes0[i], i) for i, n in sizes.items() if i in sizes0), reverse=True)[:5]
            for d, i in grew:
                if d > 0:
                    o = seen[i]
                    holders = [type(h).__qualname__ for h in gc.get_referrers(o) if h is not seen][:4]
                    items = list(o.items() if isinstance(o, dict) else o)[:2] if not isinstance(o, bytearray) else []
                    out.write(f"  {type(o).__qualname__} len {len(o)} ({d:+d}), held by {holders}: {str(items)[:160]}\n")
            del seen, types, sizes, grew
threading.Thread(target=watch, daemon=True, name="soak-census").start()
from ravebox.service.cli import main
sys.exit(main(sys.argv[5:]))
"""


def malloc_slopes(path: Path, since: float) -> tuple[float, float, float]:
    """kB/min slopes of (in use, free kept, mmapped) from the wrapper's lines at or after monotonic ``since``."""
    rows = [tuple(float(x) for x in line.split()) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r[0] >= since]
    if len(rows) < 3:
        return float("nan"), float("nan"), float("nan")
    t = np.array([r[0] for r in rows]) / 60.0
    return tuple(float(np.polyfit(t, np.array([r[i] for r in rows]) / 1024.0, 1)[0]) for i in (1, 2, 3))


class Probe:
    """JACK client (process thread: fills and checks preallocated arrays only) feeding and checking ravebox."""

    def __init__(self, server: str, cc_rate: float, ceiling: float) -> None:
        import jack

        self.client = jack.Client("probe", servername=server, no_start_server=True)
        self.tone = self.client.outports.register("tone")
        self.cc = self.client.midi_outports.register("cc")
        self.inp = self.client.inports.register("in")
        self.ceiling = np.float32(ceiling)
        self.rate = self.client.samplerate
        self.cc_every = max(1, int(round(self.rate / cc_rate)))
        self.position = 0
        self.sent = 0
        self.samples = 0
        self.nonfinite = 0
        self.over = 0
        self.checking = False
        t = np.arange(self.rate, dtype=np.float64) / self.rate
        self.wave = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)   # one second, loops
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, n: int) -> None:
        pos = self.position
        start = pos % self.rate
        out = self.tone.get_array()
        first = min(n, self.rate - start)
        out[:first] = self.wave[start:start + first]
        if first < n:
            out[first:] = self.wave[:n - first]
        self.cc.clear_buffer()
        k = (-pos) % self.cc_every if self.checking else n    # events only while counted
        while k < n:
            step = (pos + k) // self.cc_every
            which = step % 3
            data = ((0xB0, 16, 1 if step % 6 < 3 else 127) if which == 2
                    else (0xB0, 7 if which == 0 else 1, step % 128))
            try:
                self.cc.write_midi_event(k, data)
                self.sent += 1
            except Exception:  # noqa: BLE001 - a full buffer: not sent, not counted
                pass
            k += self.cc_every
        if self.checking:
            x = self.inp.get_array()
            self.samples += n
            finite = np.isfinite(x)
            self.nonfinite += n - int(np.count_nonzero(finite))
            self.over += int(np.count_nonzero(np.abs(np.where(finite, x, 0.0)) > self.ceiling))
        self.position = pos + n

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def status_field(pid: int, key: str) -> int:
    """An integer field of ``/proc/PID/status`` (``VmRSS`` in kB, ``Threads``), 0 when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def smaps_by_kind(pid: int) -> dict[str, int]:
    """Resident kB per kind of mapping: ``[heap]``, ``[stack]``, ``anon`` (glibc arenas, torch/numpy buffers,
    thread stacks) or the mapped file's name, from ``/proc/PID/smaps`` (where a growth lives, not just its size)."""
    kinds: dict[str, int] = {}
    kind = "anon"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
            kind = Path(head[5]).name if len(head) == 6 and not head[5].startswith("[") else (
                head[5] if len(head) == 6 else "anon")
        elif head and head[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0) + int(head[1])
    return kinds


def slope_kb_per_min(samples: list[tuple[float, int]]) -> float:
    if len(samples) < 3:
        return float("nan")
    t = np.array([s[0] for s in samples]) / 60.0
    r = np.array([s[1] for s in samples], dtype=np.float64)
    return float(np.polyfit(t, r, 1)[0])


def status(sock: Path, timeout_s: float = 10.0) -> dict:
    from ravebox.service.control_socket import ControlClient

    with ControlClient(sock, timeout_s=timeout_s) as client:
        return client.request("status").get("result") or {}


def final_status(sock: Path) -> dict:
    """The last status, patiently (a loaded VM's daemon can take seconds to answer); {} if it never does."""
    for _ in range(3):
        try:
            return status(sock, timeout_s=60.0)
        except Exception as exc:  # noqa: BLE001 - report what was measured anyway
            print(f"status at the end failed: {exc}", file=sys.stderr)
    return {}


def wait_running(sock: Path, proc: subprocess.Popen, timeout: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ravebox exited with {proc.returncode}")
        try:
            found = status(sock)
            if found.get("state") == "running":
                return found
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise RuntimeError("ravebox did not come up")


def counters(found: dict) -> dict:
    return found.get("counters") or {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cc-rate", type=float, default=200.0, help="control changes per second")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--settle-s", type=float, default=60.0, help="RSS before this is not fitted")
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for ravebox (e.g. MALLOC_ARENA_MAX=2 to test an allocator cause)")
    parser.add_argument("--malloc-stats", action="store_true", help="log glibc mallinfo2() inside ravebox")
    parser.add_argument("--trim-s", type=float, default=0.0, help="with --malloc-stats: malloc_trim(0) every N s")
    parser.add_argument("--census", action="store_true",
                        help="log which Python objects and containers grow inside ravebox (a heap walk every --sample-s, 60 s at least)")
    args = parser.parse_args()

    from ravebox.host.dummyserver import JackServer

    work = Path(tempfile.mkdtemp(prefix="ravebox-soak-"))
    print(f"samples as they come: {work / 'rss.txt'}", flush=True)
    if args.census:
        print(f"object census as it comes: {work / 'census.txt'}", flush=True)
    (work / "map.toml").write_text(MAPPING)
    box = work / "box.toml"
    box.write_text(BOX.format(model=MODEL, ceiling=CEILING_DB, mapping=work / "map.toml"))
    sock = work / "control.sock"
    ceiling = 10.0 ** (CEILING_DB / 20.0)
    env = dict(os.environ, RAVEBOX_CONTROL_SOCKET=str(sock), NOTIFY_SOCKET="", RAVEBOX_LOG_LEVEL="WARNING",
               JACK_NO_START_SERVER="1")
    extra = dict(item.split("=", 1) for item in args.env)
    with JackServer(period=args.period) as server:
        probe = Probe(server.name, args.cc_rate, ceiling)
        bare = subprocess.Popen([sys.executable, str(REPO / "bench" / "realtime.py"), "--bare-client", server.name],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        stats = work / "mallinfo.txt"
        launch = (["-c", MALLOC_WRAPPER, str(stats), str(args.sample_s), str(args.trim_s), "--"]
                  if args.malloc_stats else
                  ["-c", CENSUS_WRAPPER, str(work / "census.txt"), str(max(60.0, args.sample_s)),
                   str(args.settle_s), "--"] if args.census else ["-m", "ravebox.service.cli"])
        proc = subprocess.Popen([sys.executable, *launch, "run", "--config", str(box), "--server", server.name],
                                env={**env, **extra}, cwd=REPO)
        try:
            assert bare.stdout.readline().strip() == "ready"
            first = wait_running(sock, proc)
            time.sleep(2.0)                       # connections made, first blocks played
            start = counters(status(sock))
            sent0 = probe.sent
            probe.checking = True
            t0 = time.monotonic()
            settled_at = t0 + args.settle_s
            rss, base, maps, threads = [], [], {}, []
            while (elapsed := time.monotonic() - t0) < args.minutes * 60.0:
                if proc.poll() is not None:
                    raise RuntimeError(f"ravebox died during the soak (exit {proc.returncode})")
                if elapsed >= args.settle_s:
                    rss.append((elapsed, status_field(proc.pid, "VmRSS")))
                    base.append((elapsed, status_field(bare.pid, "VmRSS")))
                    threads.append(status_field(proc.pid, "Threads"))
                    maps.setdefault("first", smaps_by_kind(proc.pid))
                    maps["last"] = smaps_by_kind(proc.pid)
                    with open(work / "rss.txt", "a") as log:   # on disk as it goes: a crash keeps the figures
                        log.write(f"{elapsed:.1f} {rss[-1][1]} {base[-1][1]} {threads[-1]} {maps['last']}\n")
                time.sleep(args.sample_s)
            probe.checking = False
            sent = probe.sent - sent0
            time.sleep(1.0)                       # the last events drained
            end = counters(final_status(sock))
        finally:
            proc.terminate()
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            bare.stdin.close()
            bare.wait(60)
            probe.close()

    def delta(key: str) -> int | float:
        return int(end[key]) - int(start.get(key, 0)) if key in end else float("nan")

    handled, coalesced = delta("midi_events"), delta("midi_coalesced")
    lost = sent - handled - coalesced
    growth, baseline = slope_kb_per_min(rss), slope_kb_per_min(base)
    print(f"jack: dummy, 48000 Hz, period {args.period}; model {MODEL.name}; {args.minutes:g} min; "
          f"{args.cc_rate:g} CC/s; graph {first.get('graphs', [{}])[0].get('name', 'main')}")
    print(f"rss_start_kb: {rss[0][1] if rss else 0}, rss_end_kb: {rss[-1][1] if rss else 0}")
    per_minute = [r for t, r in rss if int(t) % 60 < args.sample_s]
    print(f"rss_each_minute_kb: {' '.join(str(r) for r in per_minute)}")
    if maps:
        first, last = maps["first"], maps["last"]
        grown = sorted(((last.get(k, 0) - first.get(k, 0), k) for k in set(first) | set(last)), reverse=True)
        print("rss_growth_by_mapping_kb: " + ", ".join(f"{k} {d:+d}" for d, k in grown if d)
              + f" (from {sum(first.values())} kB); threads {threads[0]} -> {threads[-1]}")
    if extra:
        print(f"ravebox environment: {' '.join(args.env)}")
    if args.malloc_stats:
        in_use, free_kept, mapped = malloc_slopes(stats, settled_at)
        print(f"malloc (glibc, every arena{f', malloc_trim every {args.trim_s:g} s' if args.trim_s else ''}): "
              f"in use {in_use:+.1f} kB/min, free kept {free_kept:+.1f} kB/min, mmapped {mapped:+.1f} kB/min")
        print(f"malloc_in_use_growth_kb_per_min: {in_use:.1f}")
    print(f"samples_checked: {probe.samples}")
    print(f"events: sent {sent}, handled {handled}, coalesced {coalesced}, ring dropped {delta('midi_dropped')}")
    print(f"xruns: {delta('xruns')}, worker_skipped: {delta('worker_skipped')} "
          "(a cycle JACK skips at an xrun can take the probe's MIDI with it: events_lost follows xruns)")
    print(f"late_blocks: {delta('late_blocks')}")
    print(f"rss_growth_kb_per_min: {growth:.1f}")
    print(f"baseline_rss_growth_kb_per_min: {baseline:.1f}")
    print(f"rss_growth_ratio: {(growth + 1.0) / (abs(baseline) + 1.0):.2f}")
    print(f"nonfinite_samples: {probe.nonfinite}")
    print(f"over_ceiling_samples: {probe.over}")
    print(f"events_lost: {lost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
