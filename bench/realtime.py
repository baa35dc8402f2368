#!/usr/bin/env python3
"""Realtime cost of ravebox on a JACK server, against a bare Python pass-through client.

Two dummy jackds (``-p 256`` by default) run side by side, one client on each, both
counted over the same windows (``--rounds`` rounds of ``--seconds``; why not one
server and the clients in turn: :func:`side_by_side`):

- **bare**: a JACK-Client process that copies ``system:capture_1`` to
  ``system:playback_1`` (the least a Python JACK client can do);
- **ravebox**: ``ravebox run`` on a one-graph box with the committed test model
  ``tests/models/rave_a.ts`` (encode + decode per engine block), connected by its
  default rules to the dummy capture and playback ports.

Counting starts ``SETTLE_S`` after both are up (start-up costs -- imports, model
warm-up, the first connections -- count for neither). A monitor client on each
server counts that server's xruns, and each jackd's log says, per xrun, whether a
client's callback was still running, its thread not yet woken, or the server's own
timer late (printed as "blame"). At the end of each round ravebox's status (late
blocks, worker time per block at p99 and max) is read through the control socket.

Reports xruns per minute for each, their ratio (ravebox / bare, add-one smoothed
over the equal total durations, so 0 vs 0 is 1.0 and 2 vs 0 is 3.0 rather than
``inf``; the raw counts are printed too), late blocks, worker time per block
against the block duration, and the longest and mean process callback. Ends with the lines ``late_blocks: N`` and ``xrun_ratio: X``.

Usage: python bench/realtime.py [--period 256] [--rounds 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ravebox.host.dummyserver import JackServer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))          # ravebox and the shared daemon rig, tests/host/daemonkit.py (imported
                                       # where used, so the bare client's process imports none of it)

SETTLE_S = 2.0  # both clients get this long after start-up before their xruns count
MODEL = "rave_a.ts"


def bare_client(server: str) -> int:
    """The bare pass-through client (runs as its own process until stdin closes)."""
    import jack
    import numpy  # noqa: F401 - get_array() imports it on first use, inside the callback otherwise

    from ravebox.host.cycletimes import CycleTimes

    client = jack.Client("bare", servername=server, no_start_server=True)
    inp, out = client.inports.register("in"), client.outports.register("out")
    times, rate, period = CycleTimes(), float(client.samplerate), client.blocksize
    clock, cpu = time.perf_counter, time.thread_time

    @client.set_process_callback
    def process(frames: int) -> None:
        t0, c0 = clock(), cpu()
        late = client.frames_since_cycle_start
        out.get_array()[:] = inp.get_array()
        times.record(late / rate, clock() - t0, cpu() - c0)

    client.activate()
    client.connect("system:capture_1", inp)
    client.connect(out, "system:playback_1")
    print("ready", flush=True)
    sys.stdin.read()
    client.deactivate()
    client.close()
    print(json.dumps(times.to_json(period / rate)), flush=True)
    return 0


JACKD_SAYS = {   # jackd's own words for an xrun, in its log: who it blames
    "client_running": "was not finished, state = Running",      # a client's callback still running
    "client_triggered": "was not finished, state = Triggered",  # a client's thread not yet woken
    "driver_late": "JackTimedDriver::Process XRun",              # the server's own timer woke late
}


@dataclass
class SideBySide:
    """One window counted on both servers at once."""

    ravebox_xruns: int
    bare_xruns: int
    ravebox_blame: dict[str, int]      # JACKD_SAYS counts in the ravebox server's log over the window
    bare_blame: dict[str, int]
    status: dict                       # ravebox's status at the end (``late_in_phase`` added)
    bare_callback: dict                # the bare client's callback profile (CycleTimes.to_json)
    steal: float = 0.0                 # the hypervisor's share of the window's CPU time (/proc/stat "steal")
    ravebox_unready: int = 0           # periods ravebox's ports played silence (cycle thread late) in the window

    @property
    def ravebox_dropouts(self) -> int:
        """What a listener of ravebox's ports lost in the window: its server's xruns and its own silent periods."""
        return self.ravebox_xruns + self.ravebox_unready


def cpu_times() -> list[int]:
    """/proc/stat's all-CPU line (user nice system idle iowait irq softirq steal ...), in ticks; [] elsewhere."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return []


def steal_share(before: list[int], after: list[int]) -> float:
    """The fraction of all CPU time between two ``cpu_times`` readings that the hypervisor took (a VM
    that runs the guest's cores at a third of their speed for a moment shows here, not in any client)."""
    if len(before) < 8 or len(after) < 8:
        return 0.0
    spent = [b - a for a, b in zip(before, after)]
    return spent[7] / max(1, sum(spent[:8]))


class LogWindow:
    """What a jackd wrote to its log from now on."""

    def __init__(self, server: JackServer) -> None:
        self.path = Path(server.log_path)
        self.offset = self.path.stat().st_size

    def blame(self) -> dict[str, int]:
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return {key: text.count(words) for key, words in JACKD_SAYS.items()}


@contextmanager
def bare_process(server: str, profile: dict) -> Iterator[subprocess.Popen]:
    """The bare pass-through client running on ``server``; its callback profile lands in ``profile``."""
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    proc = subprocess.Popen([sys.executable, __file__, "--bare-client", server], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.stdin.close()
        tail = proc.stdout.read().strip().splitlines()
        proc.wait(20)
        if tail:
            profile.update(json.loads(tail[-1]))


@dataclass
class Counted:
    """Two servers' xruns and jackd's blame over one window, and the hypervisor's share of it."""

    xruns: tuple[int, int]
    blame: tuple[dict[str, int], dict[str, int]]
    steal: float


def count_window(servers: tuple, counters: tuple, seconds: float) -> Counted:
    """Count two dummy jackds' xruns (``XrunCounter`` each) and read their logs over the next ``seconds``."""
    (one, two), logs = counters, [LogWindow(server) for server in servers]
    counts, cpu = (one.count, two.count), cpu_times()
    time.sleep(seconds)
    return Counted((one.count - counts[0], two.count - counts[1]), (logs[0].blame(), logs[1].blame()),
                   steal_share(cpu, cpu_times()))


def side_by_side(box: Path, seconds: float, period: int, sock: Path, start_timeout: float = 120.0) -> SideBySide:
    """ravebox on one dummy jackd and the bare client on another, their xruns counted over the same window.

    Why two servers at once rather than one server and the two clients in turn: this VM's
    own xruns come and go by the minute (the bare client alone counted 20 in one minute
    and 87 in a minute four minutes later, idle), so phases run one after the other compare
    two moments of the machine, not two clients. On a server each, both clients live
    through the same moments, and each server's xruns are its client's. The bare client
    shares the machine with ravebox's model (a burner process running the full-size model's
    work beside it changed its xruns by less than the minute-to-minute drift: 29 vs 20 and
    85 vs 87); that is the question asked: does the daemon add xruns beyond what this
    machine, playing this model, gives any JACK client.
    """
    from ravebox.host.democlients import XrunCounter
    from ravebox.host.dummyserver import JackServer
    from tests.host.daemonkit import ask, daemon_process

    worker_ran = lambda s: (s.get("graphs") or [{}])[0].get("worker_ms") is not None  # noqa: E731
    bare_profile: dict = {}
    with JackServer(period=period) as rb_server, JackServer(period=period) as bare_server:
        rb_count, bare_count = XrunCounter(rb_server.name), XrunCounter(bare_server.name)
        try:
            with daemon_process(box, rb_server.name, sock, ready=worker_ran, timeout=start_timeout), \
                    bare_process(bare_server.name, bare_profile):
                time.sleep(SETTLE_S)
                before = ask(sock, "status")["result"]
                counted = count_window((rb_server, bare_server), (rb_count, bare_count), seconds)
                status = ask(sock, "status")["result"]
        finally:
            rb_count.close()
            bare_count.close()
    status["late_in_phase"] = status.get("late_blocks", 0) - before.get("late_blocks", 0)
    unready = status.get("unready_cycles", 0) - before.get("unready_cycles", 0)
    return SideBySide(*counted.xruns, *counted.blame, status, bare_profile, counted.steal, unready)


def ratio(a: int, b: int) -> float:
    """Add-one smoothed ratio of two xrun counts over equal time (0 vs 0 -> 1.0, 2 vs 0 -> 3.0, never inf)."""
    return (a + 1) / (b + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--bare-client", metavar="SERVER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_client:
        return bare_client(args.bare_client)

    from tests.host.daemonkit import write_box

    work = Path(tempfile.mkdtemp(prefix="ravebox-bench-"))
    box = write_box(work, mapping=None, name="bench", client="ravebox", model=MODEL, connect="")
    bare_x = rb_x = late = 0
    p99s, maxes, block_ms, cb_max, cb_mean = [], [], None, [], []
    for r in range(args.rounds):
        run = side_by_side(box, args.seconds, args.period, work / f"ctl{r}.sock")
        status = run.status
        graph = status["graphs"][0]
        bare_x, rb_x, late = bare_x + run.bare_xruns, rb_x + run.ravebox_dropouts, late + status["late_in_phase"]
        p99s.append(graph["worker_ms"])
        maxes.append(graph["worker_max_ms"])
        block_ms = graph["block_ms"]
        cb_max.append(status["jack"].get("callback_max_ms") or 0.0)
        cb_mean.append(status["jack"].get("callback_mean_ms") or 0.0)
        print(f"round {r + 1}: bare xruns {run.bare_xruns} (blame {run.bare_blame}), ravebox xruns "
              f"{run.ravebox_xruns} (blame {run.ravebox_blame}) and silent periods {run.ravebox_unready}, late blocks {status['late_in_phase']}, "
              f"worker p99 {graph['worker_ms']:.2f} ms, max {graph['worker_max_ms']:.2f} ms, "
              f"steal {100 * run.steal:.1f} %", flush=True)
    minutes = args.rounds * args.seconds / 60.0
    print(f"jack: dummy, 48000 Hz, period {args.period}; model {MODEL}; "
          f"{args.rounds} x {args.seconds:g} s per client")
    print(f"bare_xruns_per_min: {bare_x / minutes:.2f}")
    print(f"ravebox_xruns_per_min: {rb_x / minutes:.2f}")
    print(f"worker_p99_ms: {max(p99s):.2f}")
    print(f"worker_max_ms: {max(maxes):.2f}")
    print(f"block_ms: {block_ms:.2f}")
    print(f"callback_mean_ms: {max(cb_mean):.3f} (period {1000.0 * args.period / 48000:.2f} ms)")
    print(f"callback_max_ms: {max(cb_max):.3f}")
    print(f"xruns_raw: ravebox {rb_x} (its server's xruns and its own silent periods), bare {bare_x}")
    print(f"late_blocks: {late}")
    print(f"xrun_ratio: {ratio(rb_x, bare_x):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
