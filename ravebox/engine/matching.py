"""Latent matching: feed a source with S latent dims into a consumer that wants T.

Why a precomputed index: the rule is fixed once the models are known, so each
block is one fancy-index gather (or nothing, for the identity) on the
inference worker. Modes are documented in ``config/graphs.py``; ``pad_zeros``
is the default because 0 is the mean of RAVE's regularised latents.
"""

from __future__ import annotations

import numpy as np

from ravebox.errors import EngineError


class LatentMatcher:
    """Maps (S, k) latents to (T, k); ``identity`` when nothing needs doing."""

    def __init__(self, source: int, target: int, mode: str = "pad_zeros",
                 index_map: tuple[int, ...] | None = None, rng: np.random.Generator | None = None,
                 where: str = "") -> None:
        self.source, self.target, self.mode = source, target, mode
        self.index = self._index(source, target, mode, index_map, where)
        self.missing = self.index < 0
        self.identity = bool(np.array_equal(self.index, np.arange(source))) and source == target
        self.noise = mode == "pad_noise" and bool(self.missing.any())
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self._gather = np.where(self.missing, 0, self.index)

    @staticmethod
    def _index(source: int, target: int, mode: str, index_map: tuple[int, ...] | None, where: str) -> np.ndarray:
        if mode != "map" or index_map is None:
            index = np.arange(target)
            index[index >= source] = -1
            return index
        if len(index_map) != target:
            raise EngineError(f"{where}: map has {len(index_map)} entries, the target has {target} latent dims")
        bad = [i for i in index_map if i >= source]
        if bad:
            raise EngineError(f"{where}: map refers to source dim {bad[0]}, the source has only {source}")
        return np.asarray(index_map, dtype=np.int64)

    def apply(self, z: np.ndarray) -> np.ndarray:
        """(S, k) -> (T, k) float32; returns ``z`` itself for the identity."""
        if self.identity:
            return z
        out = z[self._gather]
        if self.missing.any():
            if self.noise:
                out[self.missing] = self._rng.standard_normal((int(self.missing.sum()), z.shape[1]))
            else:
                out[self.missing] = 0.0
        return out
