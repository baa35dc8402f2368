#!/usr/bin/env python3
"""Engine time per block over the bare model loop (encode + decode on the same model file).

What it prints, per model: the bare loop's and the engine's CPU per block, the
engine's overhead per block with the spread of its per-round values, and the
engine's own Python work outside the model calls (the glue) as a cross-check.
The figures are ``small_block_overhead_ms: X`` (the overhead on
``tests/models/rave_a.ts``, the first model) and ``engine_overhead_ratio: X``
(the worst per-model ratio), in that order, last.

Why this method (issue 13's "fixed overhead per block on the small model"):

- **Per-round differences, not a difference of two medians.** The overhead is
  about 5 % of a small-model block, less than the machine's drift between two
  timing loops: two idle runs of "median engine minus median bare" gave 0.204
  and 0.425 ms. Each round times the bare loop and the engine on ``--blocks``
  blocks back to back (alternating which goes first, so neither always follows
  the other); the figure is the median over ``--rounds`` rounds of each round's
  ``engine - bare``, which cancels the drift a round sees on both halves alike,
  and a round hit by something odd is one outlier the median ignores. The
  interquartile range of the per-round differences is printed as a ``#`` line
  so a reader sees how far one figure can be trusted.
- **This thread's CPU time** (``time.thread_time``, ``--wall`` for the wall clock):
  on two cores shared with other work, the time the engine's thread is preempted
  by another process is not the engine's overhead; wall time charges it to
  whichever half was running.
- **The glue** (time outside ``encode``/``decode`` inside ``Engine.process``,
  median per block, timed around each model call) is a second, independent
  estimate of the same overhead: a figure far from it is noise or a cost the
  engine causes inside the model calls (cache misses, conversions), worth a look.
- **The same model instance**: the bare loop calls the engine's own model (two
  loads of one file differ by about 1 % in speed). The engine runs a
  reconstruction graph (encoder and decoder of the same model) with a live
  ParamStore and clock, i.e. the full per-block path: parameter snapshot,
  seeding, matching, latent ops checks, decoder bank, health checks.

Runs on ``tests/models/rave_a.ts`` and on every ``models-full/*.ts`` present (or the
models given).

Usage: python bench/engine_overhead.py [--block 2048] [--rounds 201] [--blocks 4] [--wall] [MODEL.ts ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ravebox.clock.view import ClockView  # noqa: E402
from ravebox.config.box import load_box  # noqa: E402
from ravebox.engine.engine import Engine  # noqa: E402
from ravebox.models import load_model  # noqa: E402
from ravebox.params.store import ParamStore  # noqa: E402

SMALL_MODEL = REPO / "tests" / "models" / "rave_a.ts"


@dataclass(frozen=True)
class Overhead:
    """One model's measure, in ms per engine block (``timer``'s clock)."""

    bare_ms: float            # median over rounds of the bare loop
    engine_ms: float          # median over rounds of Engine.process
    ratio: float              # median of the per-round engine / bare
    diff_ms: float            # median of the per-round engine - bare: the overhead
    diff_quartiles: tuple[float, float]   # first and third quartile of the per-round differences
    glue_ms: float            # median per block of the engine's time outside encode/decode

    def spread(self) -> str:
        q1, q3 = self.diff_quartiles
        return f"per-round overhead quartiles {q1:+.3f} .. {q3:+.3f} ms (IQR {q3 - q1:.3f})"


def _box(model: Path, block: int, ratio: int, folder: Path):
    path = folder / "bench.toml"
    path.write_text(f'[models]\nm = "{model}"\n[graphs.g]\nencoder = "m"\n'
                    f'[output]\nblock_multiple = {max(1, block // ratio)}\n')
    return load_box(path)


def measure(model_path: Path, block: int, rounds: int, blocks: int,
            timer: Callable[[], float] = time.thread_time, glue_blocks: int = 200) -> Overhead:
    """Bare loop and engine in ``rounds`` alternating rounds of ``blocks`` blocks each (see the module docstring)."""
    probe = load_model(model_path, num_threads=1, warm_up=False)
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(_box(model_path, block, probe.ratio, Path(folder)), probe.sample_rate or 48000, 0)
    bare = engine.graphs["g"].encoder  # the very instance the engine runs: no instance-to-instance noise
    n = engine.block_size
    store = ParamStore(engine.graph_dims, engine.sample_rate)
    clock = ClockView.internal(120.0, engine.sample_rate)
    audio = (0.1 * np.random.default_rng(0).standard_normal((1, n))).astype(np.float32)
    tensor = torch.from_numpy(audio)[None]
    frame = [0]

    def bare_block():
        with torch.inference_mode():
            bare.decode(bare.encode(tensor))

    def engine_block():
        engine.process({"g": audio}, frame[0], store, clock)
        frame[0] += n

    for _ in range(5):  # warm both paths
        bare_block()
        engine_block()
    bare_ms, engine_ms = [], []
    for i in range(rounds):  # alternate which goes first, so neither always follows the other
        if i % 2 == 0:
            bare_ms.append(_timed(bare_block, blocks, timer))
            engine_ms.append(_timed(engine_block, blocks, timer))
        else:
            engine_ms.append(_timed(engine_block, blocks, timer))
            bare_ms.append(_timed(bare_block, blocks, timer))
    diffs = [e - b for e, b in zip(engine_ms, bare_ms)]
    q1, _, q3 = statistics.quantiles(diffs, n=4)
    return Overhead(statistics.median(bare_ms), statistics.median(engine_ms),
                    statistics.median(e / b for e, b in zip(engine_ms, bare_ms)), statistics.median(diffs),
                    (q1, q3), _glue_ms(bare, engine_block, timer, glue_blocks))


def _glue_ms(model, engine_block, timer, blocks: int) -> float:
    """Median ms per engine block outside ``model.encode``/``decode`` (timed around each call;
    the timer's own cost, about 1 us a call for ``thread_time``, counts half outside)."""
    inside = [0.0]
    calls = model.encode, model.decode

    def timed(fn):
        def call(x):
            t0 = timer()
            try:
                return fn(x)
            finally:
                inside[0] += timer() - t0
        return call

    model.encode, model.decode = (timed(fn) for fn in calls)
    try:
        per_block = []
        for _ in range(blocks):
            inside[0] = 0.0
            t0 = timer()
            engine_block()
            per_block.append((timer() - t0 - inside[0]) * 1000.0)
    finally:
        del model.encode, model.decode   # the class's methods again
    return statistics.median(per_block)


def _timed(fn, blocks: int, timer) -> float:
    start = timer()
    for _ in range(blocks):
        fn()
    return (timer() - start) / blocks * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=201)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--wall", action="store_true", help="time the wall clock, not this thread's CPU")
    args = parser.parse_args()
    torch.set_num_threads(1)
    timer = time.perf_counter if args.wall else time.thread_time
    models = [p.resolve() for p in args.models] or [SMALL_MODEL, *sorted((REPO / "models-full").glob("*.ts"))]
    results = {}
    for path in models:
        m = results[path] = measure(path, args.block, args.rounds, args.blocks, timer)
        print(f"{path.name}: block {args.block}: bare {m.bare_ms:.3f} ms, engine {m.engine_ms:.3f} ms "
              f"({'wall' if args.wall else 'CPU'}), overhead {m.diff_ms:+.3f} ms/block, glue {m.glue_ms:.3f} ms/block, "
              f"ratio {m.ratio:.3f}")
        print(f"# {path.name}: {m.spread()} over {args.rounds} rounds of {args.blocks} blocks")
    print(f"small_block_overhead_ms: {results[models[0]].diff_ms:.3f}")
    print(f"engine_overhead_ratio: {max(m.ratio for m in results.values()):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
