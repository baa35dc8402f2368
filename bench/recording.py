#!/usr/bin/env python3
"""Recording on the box costs the audio nothing: late blocks with and without a take, in one run.

One dummy jackd; ``ravebox run`` plays a one-graph box on the committed test model
(``tests/models/rave_a.ts``) with its input fed by a tone from a client in this process.
The run is cut into slices of ``--slice-s`` seconds that alternate between no take and a
take (``ravebox status record start|stop`` over the control socket, the output and the
dry input to FLAC in a temporary folder), so both conditions share the machine's load
as it varies over the run. For each condition the bench adds up the daemon's own
counters: late blocks (the worker missed a block and the fallback played), xruns, and
for takes the periods the tap ring skipped (``overruns``: the writer a whole ring behind).

Baseline: the slices without a take. The figure of issue 16 is ``record_late_blocks``
(late blocks while recording) against ``no_record_late_blocks``; both include what this
shared machine does on its own, so the claim "0 caused by recording" reads as: no more
late blocks with a take than without (``record_late_ratio``, add-one smoothed).

Ends with ``figure: value`` lines. Usage: ``python bench/recording.py [--seconds 600] [--slice-s 30]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.host.daemonkit import ask, connect, daemon_process, write_box  # noqa: E402  (the shared daemon rig)
from tests.host.jackclients import Tone  # noqa: E402

MODEL = "rave_a.ts"


def counters(sock: Path) -> tuple[int, int]:
    found = ask(sock, "status")["result"]
    c = found.get("counters") or {}
    return int(c.get("late_blocks", 0)), int(c.get("xruns", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the whole run (default 10 min)")
    parser.add_argument("--slice-s", type=float, default=30.0, help="seconds per slice, alternating take / no take")
    parser.add_argument("--period", type=int, default=256)
    args = parser.parse_args()

    from ravebox.host.dummyserver import JackServer

    work = Path(tempfile.mkdtemp(prefix="ravebox-record-bench-"))
    takes = work / "takes"
    box = write_box(work, mapping=None, name="recording bench", client="ravebox", model=MODEL,
                    sections=f'[record]\nfolder = "{takes}"\ndry = true\n', connect=connect("^main_in_", "^tone:out$"))
    sock = work / "control.sock"
    totals = {False: [0, 0, 0.0], True: [0, 0, 0.0]}      # recording? -> [late blocks, xruns, seconds]
    overruns, recorded_s, slices = 0, 0.0, 0
    with JackServer(period=args.period) as server:
        with Tone(server.name, hz=220.0, amplitude=0.3), daemon_process(box, server.name, sock) as proc:
            time.sleep(3.0)                                   # connections made, first blocks played
            t_end = time.monotonic() + args.seconds
            recording = False
            while time.monotonic() < t_end:
                if proc.poll() is not None:
                    raise RuntimeError(f"ravebox died during the run (exit {proc.returncode})")
                if recording:
                    answer = ask(sock, "record", ref="start")
                    assert answer.get("ok"), answer
                late0, xruns0 = counters(sock)
                t0 = time.monotonic()
                time.sleep(max(0.0, min(args.slice_s, t_end - t0)))
                late1, xruns1 = counters(sock)
                spent = time.monotonic() - t0
                if recording:
                    take = ask(sock, "status")["result"].get("record") or {}
                    overruns += int(take.get("overruns", 0) or 0)
                    stopped = ask(sock, "record", ref="stop").get("result", {})
                    recorded_s += float(stopped.get("seconds", 0.0))
                totals[recording][0] += late1 - late0
                totals[recording][1] += xruns1 - xruns0
                totals[recording][2] += spent
                slices += 1
                recording = not recording
    files = sorted(takes.glob("*.flac")) if takes.exists() else []
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    (late_off, xr_off, s_off), (late_on, xr_on, s_on) = totals[False], totals[True]
    print(f"jack: dummy, period {args.period}; model {MODEL}; {args.seconds:g} s in {slices} slices of "
          f"{args.slice_s:g} s; takes: {len(files)} files, {size_mb:.1f} MB (wet + dry FLAC) in {takes}")
    print(f"without a take: {s_off:.0f} s, {late_off} late blocks, {xr_off} xruns")
    print(f"with a take:    {s_on:.0f} s, {late_on} late blocks, {xr_on} xruns, {overruns} periods skipped by the tap")
    print(f"record_late_blocks: {late_on}")
    print(f"no_record_late_blocks: {late_off}")
    print(f"record_late_ratio: {(late_on + 1) / (late_off + 1):.2f}")
    print(f"record_xruns: {xr_on}")
    print(f"no_record_xruns: {xr_off}")
    print(f"record_tap_overruns: {overruns}")
    print(f"recorded_seconds: {recorded_s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
