"""Shared helpers for engine and render tests: boxes over the committed models, block loops."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adapters import MODELS, loader  # noqa: E402

from ravebox.clock.view import ClockView  # noqa: E402
from ravebox.config.box import load_box  # noqa: E402
from ravebox.engine.engine import Engine  # noqa: E402
from ravebox.params.store import ParamStore  # noqa: E402

SR = 48000
RATIO = 2048

MODELS_TABLE = f"""
[models]
a = "{MODELS / 'rave_a.ts'}"
b = "{MODELS / 'rave_b.ts'}"
p = "{MODELS / 'prior_a.ts'}"
nan = "{MODELS / 'nan_a.ts'}"
"""


def make_box(tmp_path: Path, body: str, name: str = "box.toml"):
    path = tmp_path / name
    path.write_text(MODELS_TABLE + body)
    return load_box(path)


def make_engine(tmp_path: Path, body: str, seed: int = 1, **kw) -> Engine:
    return Engine(make_box(tmp_path, body), SR, seed, loader=kw.get("loader") or loader())


def chirp(frames: int, seed: int = 5) -> np.ndarray:
    """A non-periodic input: a rising chirp plus a little noise, (1, frames) float32."""
    t = np.arange(frames) / SR
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * (100 + 400 * t) * t) + 0.05 * rng.standard_normal(frames)
    return x.astype(np.float32)[None]


def run(engine: Engine, blocks: int, store: ParamStore | None = None, clock: ClockView | None = None,
        x: np.ndarray | None = None, setup=None) -> dict[str, np.ndarray]:
    """Run ``blocks`` engine blocks, feeding ``x`` to every graph; returns concatenated wet output."""
    n = engine.block_size
    store = store or ParamStore(engine.graph_dims, SR)
    clock = clock or ClockView.internal(120.0, SR)
    x = chirp(blocks * n) if x is None else x
    outs: dict[str, list] = {g: [] for g in engine.graphs}
    for b in range(blocks):
        if setup is not None:
            setup(store, b * n)
        block = x[:, b * n:(b + 1) * n]
        result = engine.process({g: block for g in engine.graphs}, b * n, store, clock)
        for g, y in result.items():
            outs[g].append(y)
    return {g: np.concatenate(v, axis=1) for g, v in outs.items()}
