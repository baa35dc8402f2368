#!/usr/bin/env python3
"""Realtime cost of ravebox on a JACK server, against a bare Python pass-through client.

One dummy jackd (``-p 256`` by default) serves the whole run. The two clients
run as separate processes, alternately, in ``--rounds`` rounds of
``--seconds`` each (so the machine's drift, other users' load and this VM's idle
xruns hit both alike):

- **bare**: a JACK-Client process that copies ``system:capture_1`` to
  ``system:playback_1`` (the least a Python JACK client can do);
- **ravebox**: ``ravebox run`` on a one-graph box with the committed test model
  ``tests/models/rave_a.ts`` (encode + decode per engine block), connected by its
  default rules to the dummy capture and playback ports.

Each client gets ``SETTLE_S`` after its start-up before counting starts (so
start-up costs -- imports, model warm-up, the first connections -- count for
neither). A monitor client in this process counts the server's xruns during each phase
(an xrun is a server-wide event; the client that caused it is not named, which is
why the phases alternate instead of overlapping). At the end of each ravebox
phase its status (late blocks, worker time per block at p99 and max) is read
through the control socket.

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
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ravebox.host.democlients import XrunCounter

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


BARE_CALLBACK: dict = {}   # the last bare phase's callback start/run profile (CycleTimes.to_json)


def phase_bare(server: str, seconds: float, xruns: XrunCounter) -> int:
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    proc = subprocess.Popen([sys.executable, __file__, "--bare-client", server], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(SETTLE_S)
        before = xruns.count
        time.sleep(seconds)
        return xruns.count - before
    finally:
        proc.stdin.close()
        tail = proc.stdout.read().strip().splitlines()
        proc.wait(20)
        if tail:
            BARE_CALLBACK.clear()
            BARE_CALLBACK.update(json.loads(tail[-1]))


def phase_ravebox(server: str, box: Path, seconds: float, xruns: XrunCounter, sock: Path,
                  start_timeout: float = 120.0) -> tuple[int, dict]:
    from tests.host.daemonkit import ask, daemon_process

    worker_ran = lambda s: (s.get("graphs") or [{}])[0].get("worker_ms") is not None  # noqa: E731
    with daemon_process(box, server, sock, ready=worker_ran, timeout=start_timeout):
        time.sleep(SETTLE_S)
        late0 = ask(sock, "status")["result"].get("late_blocks", 0)
        before = xruns.count
        time.sleep(seconds)
        count = xruns.count - before
        status = ask(sock, "status")["result"]
        status["late_in_phase"] = status.get("late_blocks", 0) - late0
        return count, status


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

    from ravebox.host.democlients import XrunCounter
    from ravebox.host.dummyserver import JackServer
    from tests.host.daemonkit import write_box

    work = Path(tempfile.mkdtemp(prefix="ravebox-bench-"))
    box = write_box(work, mapping=None, name="bench", client="ravebox", model=MODEL, connect="")
    bare_x = rb_x = late = 0
    p99s, maxes, block_ms, cb_max, cb_mean = [], [], None, [], []
    with JackServer(period=args.period) as server:
        xruns = XrunCounter(server.name)
        try:
            for r in range(args.rounds):
                b = phase_bare(server.name, args.seconds, xruns)
                x, status = phase_ravebox(server.name, box, args.seconds, xruns, work / f"ctl{r}.sock")
                graph = status["graphs"][0]
                bare_x, rb_x, late = bare_x + b, rb_x + x, late + status["late_in_phase"]
                p99s.append(graph["worker_ms"])
                maxes.append(graph["worker_max_ms"])
                block_ms = graph["block_ms"]
                cb_max.append(status["jack"].get("callback_max_ms") or 0.0)
                cb_mean.append(status["jack"].get("callback_mean_ms") or 0.0)
                print(f"round {r + 1}: bare xruns {b}, ravebox xruns {x}, late blocks {status['late_in_phase']}, "
                      f"worker p99 {graph['worker_ms']:.2f} ms, max {graph['worker_max_ms']:.2f} ms", flush=True)
        finally:
            xruns.close()
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
    print(f"xruns_raw: ravebox {rb_x}, bare {bare_x}")
    print(f"late_blocks: {late}")
    print(f"xrun_ratio: {ratio(rb_x, bare_x):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
