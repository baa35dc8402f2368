#!/usr/bin/env python3
"""What the JACK process callback costs per cycle: this tree against a baseline commit, in one run.

Why not only a realtime run: a callback's run time on a JACK server mixes its own
work with waits for the GIL (the worker and control thread hold it between their
calls) and with the machine's other users, so a change of a few tens of
microseconds drowns. Here ``Session._process`` (or its two halves) runs as JACK would call it, on one
thread, for ``--cycles`` periods of ``--period`` frames, with the daemon's real
parts (the box's assembly, its output stages and gate sequencer, the timeline,
the MIDI rings, clock out with a running clock) around a stand-in client whose
ports hand out arrays as JACK-Client's do (``np.frombuffer`` over a buffer, one
call per port per cycle; libjack's functions, where the tree calls them directly,
are stand-ins too); the worker's side (wet written, block committed) runs
between two cycles, untimed. What it leaves out: libjack's own calls (the same
number in both trees) and GIL waits (the realtime stage of bench/fullsize.py
measures those).

The baseline tree is ``git archive <rev>`` of this repository, run the same way in
its own process, in alternating rounds (the machine's drift hits both alike).
Printed: CPU microseconds per cycle (the median cycle of a round; the median of the rounds) and the Python-level
calls per cycle (functions and C calls, counted with ``sys.setprofile`` over one
round), then ``callback_us_per_cycle``, ``callback_calls_per_cycle`` and
``callback_cost_ratio`` (this tree over the baseline), and the part JACK waits for: a tree that computes the
output after the cycle's signal (``Session._deadline`` / ``_after``, host/processthread.py) times the first half
alone (``callback_deadline_us_per_cycle``; ``callback_deadline_ratio`` over the baseline's whole callback).

Usage: python bench/callback.py [--baseline REV] [--rounds 7] [--cycles 4000] [--graphs 1] [--period 256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = "3157a72"   # main before the callback was trimmed (session 5)


def harness(tree: Path, cycles: int, graphs: int, period: int, count_calls: bool) -> dict[str, float]:
    """In a process whose ``sys.path`` starts at ``tree``: time ``Session._process`` per cycle."""
    import numpy as np

    from ravebox.assembly import assemble
    from ravebox.clock.clockout import ClockOut
    from ravebox.clock.view import ClockView
    from ravebox.config.box import load_box
    from ravebox.host import session as session_module
    from ravebox.host.audiopath import AudioPath, GraphIO
    from ravebox.host.hosted import HostedBox
    from ravebox.host.rings import ByteRing, MidiRing
    from ravebox.host.timeline import Timeline

    rate = 48000

    class Port:
        """A JACK-Client port as the callback sees it: ``get_array`` wraps the port's buffer anew."""

        def __init__(self, name: str, audio: bool = True) -> None:
            self.name = name
            self._ptr = self
            self._buf = bytearray(4 * period)
            self._events: tuple = ()

        def get_array(self):
            return np.frombuffer(self._buf, dtype=np.float32)

        def incoming_midi_events(self):
            return iter(self._events)

        def clear_buffer(self) -> None:
            pass

        def write_midi_event(self, offset, data) -> None:
            pass

    class Ports(list):
        def register(self, name: str) -> Port:
            port = Port(name)
            self.append(port)
            return port

    class Client:
        name, samplerate, blocksize = "bench", rate, period
        frames_since_cycle_start = 17
        last_frame_time = 0

        def __init__(self) -> None:
            self.inports, self.outports, self.midi_inports, self.midi_outports = Ports(), Ports(), Ports(), Ports()

        def __getattr__(self, name: str):
            if name.startswith("set_"):
                return lambda *a, **k: None
            raise AttributeError(name)

    class NoLatency:
        def __init__(self, *args) -> None:
            pass

        def install(self) -> None:
            pass

        def recompute(self) -> None:
            pass

    class Engine:
        """What the assembly needs of an engine; the worker's side is done by the loop below."""

        def __init__(self, box, sample_rate, seed) -> None:
            self.channels = {g.name: (1, 2) for g in box.graphs}
            self.graph_dims = {g.name: 8 for g in box.graphs}
            self.block_size, self.latency_frames = 2048, 0

    session_module.LatencyReporter = NoLatency
    try:   # a tree whose callback calls libjack directly (host/portio.py)
        from ravebox.host import portio
    except ImportError:
        portio = None
    if portio is not None:
        by_address: dict = {}

        def address(handle) -> int:   # a stand-in port's "C pointer": its id
            by_address[id(handle)] = handle
            return id(handle)

        class Lib:
            """libjack's per-cycle calls over the stand-in ports."""

            @staticmethod
            def jack_port_get_buffer(ptr, n):
                port = by_address[ptr]
                if getattr(port, "_address", None) is None:
                    port._address = np.frombuffer(port._buf, np.float32).ctypes.data
                return port._address

            @staticmethod
            def jack_midi_get_event_count(buf) -> int:
                return 0

            @staticmethod
            def jack_midi_clear_buffer(buf) -> None:
                pass

            @staticmethod
            def jack_midi_event_write(buf, offset, data, size) -> int:
                return 0

        portio._lib, portio.DIRECT = Lib(), True
        portio._address = portio.c_address = address   # its name before and after session 7
    folder = Path(tempfile.mkdtemp(prefix="ravebox-callback-"))
    model = REPO / "tests" / "models" / "rave_a.ts"   # named only (the stand-in engine loads nothing)
    box_file = folder / "box.toml"
    box_file.write_text(f'[models]\na = "{model}"\n'
                        + "".join(f'[graphs.g{i}]\nencoder = "a"\n' for i in range(graphs))
                        + '[gates]\n[[gates.pattern]]\nname = "straight"\nrate = "1/8"\nsteps = "x.x.x.x."\n')
    box = load_box(box_file)
    parts = assemble(box, rate, seed=0, engine_factory=Engine)
    hosted = HostedBox.from_parts(parts)
    graphs_io = [GraphIO(name, i, o) for name, (i, o) in parts.engine.channels.items()]
    path = AudioPath(graphs_io, rate, 2048, period, 8, 0)
    path.stages = hosted.stages(path)
    path.store = parts.store
    path.clock = ClockView.internal(120.0, rate)
    client = Client()
    session = session_module.Session(client, Timeline(rate), MidiRing(), ByteRing(), clock_out=ClockOut(rate))
    session.bind(path)
    wet = np.zeros((2, 2048), np.float32)
    wet[:, ::7] = 0.25
    for port in client.inports:
        port.get_array()[:] = 0.1
    process = session._process
    split = hasattr(session, "_deadline")   # a tree that computes the output after JACK's signal
    deadline, after = (session._deadline, session._after) if split else (process, lambda: None)
    block = path.block
    cpu: list[float] = []
    before_signal: list[float] = []
    calls = 0

    def counter(frame, event, arg) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    frame = 0
    for cycle in range(cycles + 200):
        client.last_frame_time = frame & 0xFFFFFFFF
        if cycle == 200 and count_calls:
            sys.setprofile(counter)
        c0 = time.thread_time_ns()
        deadline(period)
        c1 = time.thread_time_ns()
        after()
        spent = time.thread_time_ns() - c0
        if cycle >= 200:
            cpu.append(spent)
            before_signal.append(c1 - c0)
        frame += period
        done = frame // block * block
        if done and done - block >= 0 and (frame - period) // block != frame // block:
            start = done - block                          # the worker: this block's wet, in time
            for g in range(len(graphs_io)):
                path.write_wet(start, g, wet)
            path.commit(start)
    sys.setprofile(None)
    # the median cycle: a cycle the machine's other users slowed (a shared core, an interrupt) does not count
    return {"us": 1e-3 * statistics.median(cpu), "mean_us": 1e-3 * statistics.fmean(cpu),
            "deadline_us": 1e-3 * statistics.median(before_signal),
            "calls": calls / cycles if count_calls else 0.0,
            "errors": session.callback_errors, "late": path.late_blocks}


def run_tree(tree: Path, args: argparse.Namespace, count: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--harness", str(tree), "--cycles", str(args.cycles),
                          "--graphs", str(args.graphs), "--period", str(args.period)] + (["--count"] if count else []),
                         capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_tree(rev: str, folder: Path) -> Path:
    archive = folder / "base.tar"
    subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), rev, "ravebox", "mappings"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "base", filter="data")
    return folder / "base"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cycles", type=int, default=4000)
    parser.add_argument("--graphs", type=int, default=1)
    parser.add_argument("--period", type=int, default=256)
    parser.add_argument("--harness", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.harness is not None:
        sys.path.insert(0, str(args.harness))
        print(json.dumps(harness(args.harness, args.cycles, args.graphs, args.period, args.count)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        trees = {"baseline": baseline_tree(args.baseline, Path(folder)), "this": REPO}
        calls = {name: run_tree(tree, args, count=True)["calls"] for name, tree in trees.items()}
        us: dict[str, list[float]] = {name: [] for name in trees}
        deadline_us: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name in (trees if r % 2 == 0 else list(trees)[::-1]):
                result = run_tree(trees[name], args, count=False)
                us[name].append(result["us"])
                deadline_us[name].append(result["deadline_us"])
                if result["errors"] or result["late"]:
                    print(f"# {name}: {result['errors']} callback errors, {result['late']} late blocks", flush=True)
    ratios = [t / b for t, b in zip(us["this"], us["baseline"])]
    deadline_ratios = [t / b for t, b in zip(deadline_us["this"], us["baseline"])]
    for name in trees:
        print(f"# {name}: {statistics.median(us[name]):.1f} us CPU per cycle (rounds {min(us[name]):.1f}.."
              f"{max(us[name]):.1f}), {statistics.median(deadline_us[name]):.1f} of them before JACK's signal, "
              f"{calls[name]:.0f} calls per cycle", flush=True)
    print(f"# {args.graphs} graph(s), period {args.period}, {args.cycles} cycles per round, baseline {args.baseline}")
    print(f"callback_us_per_cycle: {statistics.median(us['this']):.1f}")
    print(f"callback_calls_per_cycle: {calls['this']:.0f}")
    print(f"callback_cost_ratio: {statistics.median(ratios):.3f}")
    print(f"callback_deadline_us_per_cycle: {statistics.median(deadline_us['this']):.1f}")
    print(f"callback_deadline_ratio: {statistics.median(deadline_ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
