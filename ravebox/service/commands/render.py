"""`ravebox render BOX [INPUT] -o OUT [--midi SMF] [--seed N] [--json]`: bounce a box offline.

Runs on the main thread. The render goes through the daemon's own mapping,
clock and engine code (see ``ravebox/render/render.py``), so what it writes
is what the box would have played live, and the same seed and inputs give a
byte-identical file.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "render an audio file (and a MIDI performance) offline through a box"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("box", help="box config (TOML)")
    parser.add_argument("input", nargs="?", help="input audio (WAV/FLAC); omit for prior-only graphs")
    parser.add_argument("-o", "--output", required=True,
                        help="output audio file (.wav: float, .flac: 24 bit); one channel group per graph, "
                             "in the box's order")
    parser.add_argument("--midi", help="Standard MIDI File with the performance (CCs, notes, program changes); "
                                       "its tempo map drives the clock (a file cannot carry MIDI clock)")
    parser.add_argument("--port", help="port name the MIDI file's events come from, for the mapping's port filters "
                                       "(default: every port filter accepts them)")
    parser.add_argument("--seed", type=int, help="seed for every random draw (default: [output] seed)")
    parser.add_argument("--duration", type=float, help="seconds to render (default: the input's length)")
    parser.add_argument("--tail", type=float, default=0.0, help="extra seconds after the input ends")
    parser.add_argument("--subtype", help="soundfile subtype, e.g. PCM_16, PCM_24, FLOAT")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")


def run(args: argparse.Namespace) -> int:
    from ravebox.errors import RaveboxError
    from ravebox.render import RenderJob, render
    from ravebox.render.progress import Progress

    progress = Progress(enabled=False if args.no_progress else None)
    job = RenderJob(box=args.box, output=args.output, input=args.input, midi=args.midi, seed=args.seed,
                    duration=args.duration, tail=args.tail, subtype=args.subtype, progress=progress,
                    port=args.port)
    try:
        summary = render(job)
    except RaveboxError as exc:
        print(f"ravebox render: {exc}", file=sys.stderr)
        return 1
    for warning in summary.get("warnings", []):
        print(f"ravebox render: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))   # unsorted: "channels" follows the box's (the file's) order
    else:
        print(f"wrote {summary['output']}: {summary['duration_s']:.2f} s, {summary['blocks']} blocks, "
              f"{summary['nonfinite_samples']} non-finite samples caught, "
              f"{summary['limited_samples']} samples limited, {summary['model_ms_per_block']:.2f} ms/block",
              file=sys.stderr)
    return 0
