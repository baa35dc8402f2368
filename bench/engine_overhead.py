#!/usr/bin/env python3
"""Engine time per block over the bare model loop (encode + decode on the same model file).

Why interleaved rounds: two cores are shared with other work, so the bare loop
and the engine are measured alternately in the same run (``--rounds`` rounds
of ``--blocks`` blocks each, alternating which goes first); the ratio is the
median of the per-round ratios, which cancels most of the machine's drift. The engine runs a reconstruction graph (encoder and
decoder of the same model) with a live ParamStore and clock, i.e. the full
per-block path: parameter snapshot, seeding, matching, latent ops checks,
decoder bank. The bare loop calls the engine's own model instance (two loads of
one file differ by about 1% in speed). Runs on ``tests/models/rave_a.ts`` and on every
``models-full/*.ts`` present. The last line is ``engine_overhead_ratio: X`` (the
worst ratio over the models measured).

Usage: python bench/engine_overhead.py [--block 2048] [--rounds 41] [--blocks 20] [MODEL.ts ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
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


def _box(model: Path, block: int, ratio: int, folder: Path):
    path = folder / "bench.toml"
    path.write_text(f'[models]\nm = "{model}"\n[graphs.g]\nencoder = "m"\n'
                    f'[output]\nblock_multiple = {max(1, block // ratio)}\n')
    return load_box(path)


def measure(model_path: Path, block: int, rounds: int, blocks: int,
            timer=time.perf_counter, glue: list[float] | None = None) -> tuple[float, float, float]:
    """(median bare ms per block, median engine ms per block, median of the per-round ratios).

    ``timer``: wall clock by default; ``time.thread_time`` counts only this thread's CPU
    (bench/fullsize.py, on a machine others share). ``glue``: if given, receives the engine's
    median ms per block spent outside the model's encode/decode calls (its own Python work)."""
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
    bare_ms, engine_ms, ratios = [], [], []
    for i in range(rounds):  # alternate which goes first, so neither always follows the other
        first, second = (bare_block, engine_block) if i % 2 == 0 else (engine_block, bare_block)
        a, b = _timed(first, blocks, timer), _timed(second, blocks, timer)
        bare_t, engine_t = (a, b) if i % 2 == 0 else (b, a)
        bare_ms.append(bare_t)
        engine_ms.append(engine_t)
        ratios.append(engine_t / bare_t)
    if glue is not None:
        glue.append(_glue_ms(bare, engine_block, timer))
    return statistics.median(bare_ms), statistics.median(engine_ms), statistics.median(ratios)


def _glue_ms(model, engine_block, timer, blocks: int = 20) -> float:
    """Median ms per engine block outside ``model.encode``/``decode`` (timed around each call)."""
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


def _timed(fn, blocks: int, timer=time.perf_counter) -> float:
    start = timer()
    for _ in range(blocks):
        fn()
    return (timer() - start) / blocks * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--block", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = [p.resolve() for p in args.models] or [REPO / "tests" / "models" / "rave_a.ts", *sorted((REPO / "models-full").glob("*.ts"))]
    worst = 0.0
    for path in models:
        bare, eng, ratio = measure(path, args.block, args.rounds, args.blocks)
        worst = max(worst, ratio)
        print(f"{path.name}: block {args.block}: bare {bare:.3f} ms, engine {eng:.3f} ms, "
              f"overhead {eng - bare:+.3f} ms/block, ratio {ratio:.3f}")
    print(f"engine_overhead_ratio: {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
