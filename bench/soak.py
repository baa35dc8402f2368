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
bytes in use, free bytes kept, mmapped; and ``sys.getallocatedblocks()``, what
Python's own small-object allocator holds, which glibc never sees) and, with ``--trim-s N``, calls
``malloc_trim(0)`` every N seconds. In-use growth is memory something holds (a
leak, native or Python); free-kept growth with flat in-use is fragmentation
the allocator has not returned (a trim or ``MALLOC_ARENA_MAX`` changes it).

Objects (``--census``): ravebox then runs under a wrapper that walks its
whole Python heap every minute and logs the types and containers that grew
since the first walk, with what holds them (``census.txt`` beside the samples).
Both instruments may run together.

Stopping: the daemon runs on the shared rig (``tests/host/daemonkit.py``'s
``daemon_process``). Whatever ends the soak (its end, an exception, SIGTERM,
SIGINT, SIGHUP), the daemon, the bare client, the probe and jackd are stopped;
a signal first prints the figures measured so far (``STOPPED EARLY``). A soak
that dies without cleaning up (SIGKILL, a crash) takes them with it: each gets
a SIGTERM from the kernel when the soak dies (``PR_SET_PDEATHSIG``).

Ends with ``late_blocks``, ``rss_growth_kb_per_min``,
``baseline_rss_growth_kb_per_min``, ``rss_growth_ratio``, ``nonfinite_samples``,
``over_ceiling_samples`` and ``events_lost`` lines.

Usage: python bench/soak.py [--minutes 10] [--cc-rate 200]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ravebox.host.dummyserver import die_with_parent  # noqa: E402 - after the path

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


# The instruments run inside ravebox's process: ``python -c WRAPPER OPTS_JSON -- run ...`` starts the watch
# threads asked for, then the CLI as ``python -m ravebox.service.cli`` would (see :func:`launcher`).
WRAPPER_HEAD = """
import json, sys, threading, time
opts = json.loads(sys.argv[1])
"""
WRAPPER_TAIL = """
from ravebox.service.cli import main
sys.exit(main(sys.argv[3:]))
"""

# glibc allocator statistics (and optional trimming): every arena's bytes in use, free bytes kept and mmapped;
# and the blocks Python's own allocator (pymalloc: objects up to 512 bytes, outside glibc) has handed out.
MALLOC_WATCH = r"""
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
def malloc_watch(path, sample_s, trim_s):
    next_trim = time.monotonic() + trim_s
    with open(path, "a", buffering=1) as out:
        while True:
            m = libc.mallinfo2()
            out.write(f"{time.monotonic():.1f} {m.uordblks} {m.fordblks} {m.hblkhd} {sys.getallocatedblocks()}\n")
            if trim_s > 0 and time.monotonic() >= next_trim:
                libc.malloc_trim(0)
                next_trim += trim_s
            time.sleep(sample_s)
threading.Thread(target=malloc_watch, kwargs=opts["malloc"], daemon=True, name="soak-mallinfo").start()
"""

# A census of the live Python objects: a heap walk (every object gc tracks, and everything they refer to: ints,
# floats, bytes and the containers of atoms CPython untracks) at settle_s and then every sample_s: the types whose
# count or total size (sys.getsizeof: an array, a string or a dict that grows in place keeps its count) grew, and
# the containers whose length grew since the first census, with the types of what holds them and a sample of their
# items. Between censuses it costs nothing; a census holds the GIL for a second or two (the
# audio may skip then). tracemalloc was tried first: under load it slowed the daemon until its control thread fell
# behind, and it names where an object's memory was first allocated, which Python's free lists make misleading.
# It found issue 14's growth: Host._retired, every audio path a headroom re-size replaced, kept for good.
CENSUS_WATCH = r"""
import collections, gc
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
    types, nbytes = collections.Counter(), collections.Counter()
    for o in seen.values():
        name = type(o).__qualname__
        types[name] += 1
        try:
            nbytes[name] += sys.getsizeof(o)
        except TypeError:
            pass
    return seen, types, nbytes, {i: len(o) for i, o in seen.items() if isinstance(o, SIZED)}
def census_watch(path, sample_s, settle_s):
    time.sleep(settle_s)
    seen, types0, bytes0, sizes0 = census()
    del seen
    t0 = time.monotonic()
    with open(path, "a", buffering=1) as out:
        while True:
            time.sleep(sample_s)
            seen, types, nbytes, sizes = census()
            moved = sorted(((types[k] - types0.get(k, 0), k) for k in types), reverse=True)[:10]
            heavier = sorted(((nbytes[k] - bytes0.get(k, 0), k) for k in nbytes), reverse=True)[:6]
            out.write(f"t {time.monotonic() - t0:.0f} s: {len(seen)} objects, {sum(nbytes.values()) // 1024} kB; grew: "
                      + ", ".join(f"{k} {d:+d}" for d, k in moved if d > 0) + "; bytes: "
                      + ", ".join(f"{k} {d:+d}" for d, k in heavier if d > 0) + "\n")
            grew = sorted(((n - sizes0[i], i) for i, n in sizes.items() if i in sizes0), reverse=True)[:5]
            for d, i in grew:
                if d > 0:
                    o = seen[i]
                    holders = [type(h).__qualname__ for h in gc.get_referrers(o) if h is not seen][:4]
                    items = list(o.items() if isinstance(o, dict) else o)[:2] if not isinstance(o, bytearray) else []
                    out.write(f"  {type(o).__qualname__} len {len(o)} ({d:+d}), held by {holders}: {str(items)[:160]}\n")
            del seen, types, nbytes, sizes, grew
threading.Thread(target=census_watch, kwargs=opts["census"], daemon=True, name="soak-census").start()
"""


def malloc_slopes(path: Path, since: float) -> tuple[float, float, float, float]:
    """Slopes per minute of (glibc in use kB, free kept kB, mmapped kB, pymalloc blocks) from the wrapper's lines
    at or after monotonic ``since``."""
    rows = [tuple(float(x) for x in line.split()) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r[0] >= since and len(r) >= 5]
    if len(rows) < 3:
        return float("nan"), float("nan"), float("nan"), float("nan")
    t = np.array([r[0] for r in rows]) / 60.0
    scale = (1024.0, 1024.0, 1024.0, 1.0)
    return tuple(float(np.polyfit(t, np.array([r[i] for r in rows]) / scale[i - 1], 1)[0]) for i in (1, 2, 3, 4))


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


def final_status(sock: Path, tries: int = 3) -> dict:
    """The last status, patiently (a loaded VM's daemon can take seconds to answer); {} if it never does."""
    for _ in range(tries):
        try:
            return status(sock, timeout_s=60.0)
        except Exception as exc:  # noqa: BLE001 - report what was measured anyway
            print(f"status at the end failed: {exc}", file=sys.stderr)
    return {}


def counters(found: dict) -> dict:
    return found.get("counters") or {}


class SoakStopped(Exception):
    """SIGTERM, SIGINT or SIGHUP (its terminal closed) reached the soak."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def stop_on_signals() -> None:
    """Main thread: SIGTERM, SIGINT and SIGHUP raise :class:`SoakStopped`, so every ``finally`` runs (a SIGHUP
    that ``nohup`` ignores stays ignored). A soak may outlive the shell that started it (``setsid``, ``nohup``):
    its children, not the soak, follow their parent's death (``die_with_parent``)."""
    def stop(signum: int, _frame: object) -> None:
        raise SoakStopped(signum)

    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, stop)


@contextlib.contextmanager
def shielded_cleanup() -> Iterator[contextlib.ExitStack]:
    """An ExitStack whose unwinding no second SIGTERM/SIGINT can cut short: the daemon, the bare client, the
    probe and jackd are stopped in reverse order of their start whatever ended the run; a signal arriving
    meanwhile is held and acted on afterwards."""
    stack = contextlib.ExitStack()
    try:
        yield stack
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            stack.close()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def bare_client(server: str, env: dict) -> Iterator[subprocess.Popen]:
    """``bench/realtime.py --bare-client`` on ``server`` (the RSS baseline), ready; stopped on exit."""
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "realtime.py"), "--bare-client", server],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            preexec_fn=die_with_parent)
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the bare client did not start (exit {proc.poll()})")
        yield proc
    finally:
        proc.stdin.close()                # it exits when its stdin closes
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launcher(args: argparse.Namespace, work: Path) -> tuple[str, ...]:
    """What follows the interpreter before ``run``: the CLI module, or the wrapper with the instruments asked for."""
    opts = {"sample_s": args.sample_s, "settle_s": args.settle_s}
    if args.malloc_stats:
        opts["malloc"] = {"path": str(work / "mallinfo.txt"), "sample_s": args.sample_s, "trim_s": args.trim_s}
    if args.census:
        opts["census"] = {"path": str(work / "census.txt"), "sample_s": max(60.0, args.sample_s), "settle_s": args.settle_s}
    if len(opts) == 2:
        return ("-m", "ravebox.service.cli")
    code = WRAPPER_HEAD + (MALLOC_WATCH if args.malloc_stats else "") + (CENSUS_WATCH if args.census else "") + WRAPPER_TAIL
    return ("-c", code, json.dumps(opts), "--")


def measure(args: argparse.Namespace, work: Path, proc: subprocess.Popen, bare: int) -> Measured:
    """Sample ravebox's RSS (and the bare client's) until the run's time is up or a stop signal comes;
    RuntimeError if ravebox dies meanwhile."""
    daemon = proc.pid
    found = Measured()
    t0 = time.monotonic()
    found.settled_at = t0 + args.settle_s
    try:
        while (elapsed := time.monotonic() - t0) < args.minutes * 60.0:
            if proc.poll() is not None:
                raise RuntimeError(f"ravebox died during the soak (exit {proc.returncode})")
            if elapsed >= args.settle_s:
                found.rss.append((elapsed, status_field(daemon, "VmRSS")))
                found.base.append((elapsed, status_field(bare, "VmRSS")))
                found.threads.append(status_field(daemon, "Threads"))
                found.maps.setdefault("first", smaps_by_kind(daemon))
                found.maps["last"] = smaps_by_kind(daemon)
                with open(work / "rss.txt", "a") as log:   # on disk as it goes: a crash keeps the figures
                    log.write(f"{elapsed:.1f} {found.rss[-1][1]} {found.base[-1][1]} {found.threads[-1]} "
                              f"{found.maps['last']}\n")
            time.sleep(args.sample_s)
    except SoakStopped as stop:           # report what was measured; a second signal ends the report too
        found.stopped_by = stop
    found.minutes = (time.monotonic() - t0) / 60.0
    return found


@dataclasses.dataclass
class Measured:
    rss: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    base: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    threads: list[int] = dataclasses.field(default_factory=list)
    maps: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    settled_at: float = 0.0
    minutes: float = 0.0
    stopped_by: SoakStopped | None = None


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
    try:
        stop_on_signals()
        return soak(args)
    except SoakStopped as stop:
        print(f"soak stopped by {stop}; everything it started is stopped", file=sys.stderr)
        return 128 + stop.signum


def soak(args: argparse.Namespace) -> int:
    from ravebox.host.dummyserver import JackServer
    from tests.host.daemonkit import daemon_process

    work = Path(tempfile.mkdtemp(prefix="ravebox-soak-"))
    print(f"samples as they come: {work / 'rss.txt'}", flush=True)
    if args.census:
        print(f"object census as it comes: {work / 'census.txt'}", flush=True)
    (work / "map.toml").write_text(MAPPING)
    box = work / "box.toml"
    box.write_text(BOX.format(model=MODEL, ceiling=CEILING_DB, mapping=work / "map.toml"))
    sock = work / "control.sock"
    ceiling = 10.0 ** (CEILING_DB / 20.0)
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    extra = dict(item.split("=", 1) for item in args.env)
    with shielded_cleanup() as stack:
        server = stack.enter_context(JackServer(period=args.period))
        probe = Probe(server.name, args.cc_rate, ceiling)
        stack.callback(probe.close)
        bare = stack.enter_context(bare_client(server.name, env))
        proc = stack.enter_context(daemon_process(box, server.name, sock, launch=launcher(args, work),
                                                  env={**env, **extra}, timeout=300.0))
        print(f"pids: daemon {proc.pid}, bare client {bare.pid}, jackd {server.pid} (server {server.name})", flush=True)
        first = status(sock)
        time.sleep(2.0)                       # connections made, first blocks played
        start = counters(status(sock))
        sent0 = probe.sent
        probe.checking = True
        found = measure(args, work, proc, bare.pid)
        probe.checking = False
        sent = probe.sent - sent0
        time.sleep(1.0)                       # the last events drained
        end = counters(final_status(sock, tries=1 if found.stopped_by else 3))
    report(args, found, first, start, end, sent, probe, extra, work)
    return 128 + found.stopped_by.signum if found.stopped_by else 0


def report(args: argparse.Namespace, found: Measured, first: dict, start: dict, end: dict, sent: int,
           probe: Probe, extra: dict, work: Path) -> None:
    """The figures, from what :func:`measure` sampled and the daemon's counters at both ends."""
    def delta(key: str) -> int | float:
        return int(end[key]) - int(start.get(key, 0)) if key in end else float("nan")

    rss = found.rss
    handled, coalesced = delta("midi_events"), delta("midi_coalesced")
    lost = sent - handled - coalesced
    growth, baseline = slope_kb_per_min(rss), slope_kb_per_min(found.base)
    if found.stopped_by:
        print(f"STOPPED EARLY by {found.stopped_by} after {found.minutes:.1f} of {args.minutes:g} min: "
              "the figures cover what was measured")
    print(f"jack: dummy, 48000 Hz, period {args.period}; model {MODEL.name}; {found.minutes:.1f} min; "
          f"{args.cc_rate:g} CC/s; graph {first.get('graphs', [{}])[0].get('name', 'main')}")
    print(f"rss_start_kb: {rss[0][1] if rss else 0}, rss_end_kb: {rss[-1][1] if rss else 0}")
    per_minute = [r for t, r in rss if int(t) % 60 < args.sample_s]
    print(f"rss_each_minute_kb: {' '.join(str(r) for r in per_minute)}")
    if found.maps:
        before, after = found.maps["first"], found.maps["last"]
        grown = sorted(((after.get(k, 0) - before.get(k, 0), k) for k in set(before) | set(after)), reverse=True)
        print("rss_growth_by_mapping_kb: " + ", ".join(f"{k} {d:+d}" for d, k in grown if d)
              + f" (from {sum(before.values())} kB); threads {found.threads[0]} -> {found.threads[-1]}")
    if extra:
        print(f"ravebox environment: {' '.join(args.env)}")
    if args.malloc_stats:
        in_use, free_kept, mapped, blocks = malloc_slopes(work / "mallinfo.txt", found.settled_at)
        print(f"malloc (glibc, every arena{f', malloc_trim every {args.trim_s:g} s' if args.trim_s else ''}): "
              f"in use {in_use:+.1f} kB/min, free kept {free_kept:+.1f} kB/min, mmapped {mapped:+.1f} kB/min; "
              f"pymalloc {blocks:+.1f} blocks/min")
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


if __name__ == "__main__":
    sys.exit(main())
