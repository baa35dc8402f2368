"""Per-frame latent operations between encoder/prior and decoder (inference worker).

Order, per latent frame: freeze -> loop/dissolve -> scale -> bias -> noise.
Freeze and the loop act on the incoming stream so that bias, scale and
jitter stay live on top of a held or looped pattern. Every parameter is read
at each latent frame's own audio frame (a glide inside a block gives each
frame its own value), and a parameter nobody has set costs nothing: ``active``
is :meth:`ParamStore.active`, the names ever set for the graph.
"""

from __future__ import annotations

import numpy as np

from ravebox.params.store import ParamStore
from ravebox.params.table import PARAMS, ParamKey


class Freezer:
    """``latent.freeze``: hold the frame at which freeze went on."""

    def __init__(self, dims: int) -> None:
        self.held = np.zeros(dims, dtype=np.float32)
        self.on = False

    def process(self, z: np.ndarray, freeze: np.ndarray) -> None:
        for j in range(z.shape[1]):
            if freeze[j] >= 0.5:
                if not self.on:
                    self.held[:] = z[:, j]
                    self.on = True
                z[:, j] = self.held
            else:
                self.on = False


class Shaper:
    """``latent.scale``, ``latent.bias`` and ``latent.noise`` per dim and frame; seeded jitter."""

    def __init__(self, graph: str, dims: int, rng: np.random.Generator) -> None:
        self.graph, self.dims, self.rng = graph, dims, rng

    def process(self, z: np.ndarray, frames: np.ndarray, store: ParamStore, active: frozenset[str]) -> None:
        if "latent.scale" in active:
            z *= store.dims_over("latent.scale", self.graph, frames).T.astype(np.float32)
        if "latent.bias" in active:
            z += store.dims_over("latent.bias", self.graph, frames).T.astype(np.float32)
        if "latent.noise" in active:
            amount = store.dims_over("latent.noise", self.graph, frames).T
            if amount.any():
                z += (amount * self.rng.standard_normal(amount.shape)).astype(np.float32)


def per_frame(store: ParamStore, name: str, graph: str, frames: np.ndarray, active: frozenset[str]) -> np.ndarray:
    """A graph-scope parameter at each latent frame (its default when nobody set it)."""
    if name in active:
        return store.over(ParamKey(name, graph), frames)
    return np.full(len(frames), PARAMS[name].default)
