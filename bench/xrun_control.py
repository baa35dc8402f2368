#!/usr/bin/env python3
"""The control for ``fullsize_xrun_ratio``: what hosting a model's work costs any JACK client on this machine.

``bench/fullsize.py`` counts ravebox's xruns against a bare pass-through client on a
second dummy jackd over the same window. Here the "ravebox" side is replaced by the
same bare client with a thread in its own process that runs a model's encode +
decode paced to real time at SCHED_FIFO 2 (as ravebox's worker does), against a
plain bare client. If this ratio is about ravebox's, what is left of ravebox's is
the model living in the process (cache, memory bandwidth, a core mostly taken, the
GIL between torch calls), not ravebox's own work per period.

The thread's duty (CPU time over wall time) is printed; ``--block`` sets it (x4 =
8192 samples of the full-size model untuned took 56 % of a core here, about what
ravebox's worker takes at x2 tuned). Ends with ``control_xrun_ratio: X`` (add-one
smoothed like ``fullsize_xrun_ratio``) after the raw counts and jackd's blame.

Usage: python bench/xrun_control.py [--model PATH] [--seconds 300] [--block 8192] [--period 256]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import realtime  # noqa: E402  (bench/realtime.py: the bare client, jackd's blame, the smoothed ratio)

WARM_S = 20.0   # the model loads and warms before the window opens


def _model_thread(model: str, block: int, rate: int, duty: list[float]) -> None:
    """Runs in the hosting client's process: encode + decode of ``block`` samples per ``block / rate`` s."""
    import torch

    torch.set_num_threads(1)
    module = torch.jit.load(model).eval()
    x = torch.zeros(1, 1, block)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(2))
    except OSError as exc:
        print(f"# model thread keeps normal scheduling: {exc}", file=sys.stderr, flush=True)
    start = due = time.monotonic()
    busy = 0.0
    while True:
        c0 = time.thread_time()
        with torch.no_grad():
            module.decode(module.encode(x))
        busy += time.thread_time() - c0
        duty[0] = busy / max(1e-9, time.monotonic() - start)
        due += block / rate
        time.sleep(max(0.0, due - time.monotonic()))


def hosting_client(server: str, model: str, block: int) -> int:
    """The bare client of bench/realtime.py with the model's work beside it; prints the duty on stderr at the end."""
    duty = [0.0]
    threading.Thread(target=_model_thread, args=(model, block, 48000, duty), daemon=True).start()
    try:
        return realtime.bare_client(server)
    finally:
        print(f"# model thread duty {duty[0]:.2f}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models-full" / "rave_full.ts"))
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--block", type=int, default=8192)
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--hosting-client", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hosting_client:
        return hosting_client(args.hosting_client, args.model, args.block)
    from ravebox.host.democlients import XrunCounter
    from ravebox.host.dummyserver import JackServer

    if not Path(args.model).exists():
        print(f"no model at {args.model} (tools/make_test_models.py --full makes one)", file=sys.stderr)
        return 2
    print(f"# model {args.model}, block {args.block}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
          flush=True)
    plain_profile: dict = {}
    with JackServer(period=args.period) as hosting_server, JackServer(period=args.period) as plain_server:
        hosting_count, plain_count = XrunCounter(hosting_server.name), XrunCounter(plain_server.name)
        env = dict(os.environ, JACK_NO_START_SERVER="1")
        proc = subprocess.Popen([sys.executable, __file__, "--hosting-client", hosting_server.name, "--model",
                                 args.model, "--block", str(args.block)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline().strip() == "ready"
            with realtime.bare_process(plain_server.name, plain_profile):
                time.sleep(WARM_S)
                counted = realtime.count_window((hosting_server, plain_server), (hosting_count, plain_count),
                                                args.seconds)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(30)
            hosting_count.close()
            plain_count.close()
    (hosting, plain), (hosting_blame, plain_blame) = counted.xruns, counted.blame
    print(f"# {args.seconds:g} s at period {args.period}: xruns hosting {hosting} / plain {plain}", flush=True)
    print(f"# hosting client's jackd on its xruns: {hosting_blame}")
    print(f"# plain client's jackd on its xruns: {plain_blame}")
    print(f"# load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"control_xrun_ratio: {realtime.ratio(hosting, plain):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
