"""`ravebox fit box.toml` (or `model.ts`): will this box run in real time here, and at which block?

Measures, on the machine it runs on, each graph at engine block multiples 1,
2, 4 and 8, with and without the per-layer conv tuning, and prints for each the
median CPU cost per second of audio, the real-time factor, the work per block
(CPU p99, at least the median wall time), the wall p99 per block and the latency
the daemon would report (block + measured headroom at ``--period`` + model
latency). It recommends the smallest block multiple whose summed work leaves
``--margin`` of the block spare (as ``block_multiple = "auto"`` chooses); ``--write`` sets
``[output] block_multiple`` in the box file (atomically, keeping its comments
and layout: ``ravebox.tomlwrite``).

    ravebox fit boxes/reconstruct.toml
    ravebox fit /work/models-full/rave_full.ts --period 256
    ravebox fit box.toml --write --margin 0.4

Runs in the operator's shell (loads torch and the models); never touches a
running daemon.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ravebox.errors import RaveboxError

if TYPE_CHECKING:
    from ravebox.engine.fit import FitRow, Recommendation

HELP = "measure a box (or model) at several block sizes and recommend the smallest that keeps up"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a box config (.toml) or a model file (.ts)")
    parser.add_argument("--multiples", default="1,2,4,8", help="block multiples to try (default 1,2,4,8)")
    parser.add_argument("--margin", type=float, default=None,
                        help="spare fraction of each block the recommendation keeps (default: what "
                             "block_multiple = \"auto\" keeps, half the block)")
    parser.add_argument("--period", type=int, default=256, help="JACK period for the latency column (default 256)")
    parser.add_argument("--calls", type=int, default=None,
                        help="timed calls per model and block (default: as many as the daemon's start-up timing)")
    parser.add_argument("--write", action="store_true",
                        help="set [output] block_multiple in the box file to the recommendation")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    target = Path(args.target)
    try:
        multiples = tuple(int(m) for m in args.multiples.split(","))
        if not multiples or min(multiples) < 1 or (args.margin is not None and not 0.0 <= args.margin < 1.0):
            raise ValueError
    except ValueError:
        print("ravebox fit: --multiples takes positive integers like 1,2,4,8 and --margin a value in [0, 1)",
              file=sys.stderr)
        return 2
    if args.write and target.suffix != ".toml":
        print("ravebox fit: --write needs a box config (.toml), not a model file", file=sys.stderr)
        return 2
    try:
        rows, rec = _fit(target, multiples, args)
    except (RaveboxError, OSError) as exc:
        print(f"ravebox fit: {exc}", file=sys.stderr)
        return 1
    print(table(rows, args.period), file=out)
    print(f"\nrecommended: {rec.text()}", file=out)
    if args.write and rec.multiple is not None:
        write_block_multiple(target, rec.multiple)
        print(f"wrote [output] block_multiple = {rec.multiple} to {target}", file=out)
    return 0 if rec.multiple is not None else 1


def _fit(target: Path, multiples: tuple[int, ...], args: argparse.Namespace
         ) -> tuple[list[FitRow], Recommendation]:
    from ravebox.engine import fit
    from ravebox.models.loader import set_torch_threads

    set_torch_threads(1)
    graphs, ratio, rate, latency = _graphs(target)
    rows = fit.measure(graphs, ratio, rate, args.period, latency, multiples, calls=args.calls or fit.STARTUP_CALLS)
    return rows, fit.recommend(rows, fit.MARGIN if args.margin is None else args.margin)


def _graphs(target: Path) -> tuple[dict, int, int, int]:
    """``({graph: {role: model}}, lcm ratio, sample rate, model latency)`` for a box or one model."""
    if target.suffix == ".toml":
        from ravebox.config.box import load_box
        from ravebox.engine.engine import Engine, graph_roles

        box = load_box(target)
        box = replace(box, output=replace(box.output, block_multiple=1))  # fit times every multiple itself
        from ravebox.render.render import box_rate

        engine = Engine(box, box_rate(box), conv_tuning="off")  # [box] sample_rate, else the models' rate
        graphs = {name: graph_roles(runner) for name, runner in engine.graphs.items()}
        return graphs, engine.block_size, engine.sample_rate, engine.latency_frames
    from ravebox.engine.roles import Codec
    from ravebox.models import load_model

    model = load_model(target)
    roles = {"encoder": model, "decoder:0": model} if isinstance(model, Codec) else {"prior": model}
    return {target.stem: roles}, int(model.ratio), int(model.sample_rate or 48000), 0  # exports declare no latency


def table(rows: list[FitRow], period: int) -> str:
    """The measurements as an aligned text table (one line per graph, tuning and multiple)."""
    head = ("graph", "tuning", "multiple", "block", "cpu ms/s", "RTF", "work ms", "p99 ms", "block ms", "latency ms")
    lines = [head]
    for r in rows:
        rate = r.block / r.cost.block_s
        lines.append((r.graph, "on" if r.tuned else "off", str(r.multiple), str(r.block),
                       f"{1e3 * r.cost_per_second:.1f}", _rtf(r.realtime_factor), f"{1e3 * r.cost.total.work:.1f}",
                       f"{1e3 * r.cost.total.p99:.1f}", f"{1e3 * r.cost.block_s:.1f}", f"{1e3 * r.latency_frames / rate:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    return "\n".join(text) + ("\n(cpu ms/s: median CPU time per second of audio; RTF: audio seconds per wall second; "
                              "work: CPU p99 per block, at least the median wall time, what the choice is judged by; "
                              f"latency at a JACK period of {period} frames, headroom sized from the p99)")


def _rtf(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def write_block_multiple(path: Path, multiple: int) -> None:
    """Set ``[output] block_multiple`` keeping comments and layout; the file is replaced atomically."""
    import tomlkit

    from ravebox.tomlwrite import edit_toml

    with edit_toml(path) as document:
        if "output" not in document:
            document["output"] = tomlkit.table()
        document["output"]["block_multiple"] = multiple
