"""Reading live parameters at the rates the engine needs them.

Why a helper: the output stage needs per-sample values without allocating
(JACK process thread), while ``ParamStore.over`` builds a new array. A store
value is a linear glide, monotone between its ends, so if it has the same
value at the first and the last frame of a block it is constant over the
block: fill a preallocated buffer. Only while a glide or step lies inside the
block do we fall back to ``over`` (an allocation, but not steady state).

The inference worker reads at latent-frame rate through :func:`frames_of`
and the store's vectorised readers; allocation is fine there.
"""

from __future__ import annotations

import numpy as np

from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey


class SampleParam:
    """Per-sample values of one concrete key, written into a preallocated buffer."""

    def __init__(self, key: ParamKey, max_block: int) -> None:
        self.key = key
        self.buf = np.empty(max_block, dtype=np.float64)
        self._offsets = np.arange(max_block, dtype=np.int64)
        self._frames = np.empty(max_block, dtype=np.int64)

    def fill(self, store: ParamStore, start_frame: int, n: int) -> tuple[np.ndarray, bool]:
        """(values over ``n`` samples from ``start_frame``, whether they are constant)."""
        first, last = store.ends(self.key, start_frame, start_frame + n - 1)
        out = self.buf[:n]
        if first == last:
            out.fill(first)
            return out, True
        np.add(self._offsets[:n], start_frame, out=self._frames[:n])
        np.copyto(out, store.over(self.key, self._frames[:n]))
        return out, False


def frames_of(start_frame: int, frames: int, ratio: int) -> np.ndarray:
    """The audio frame at which each of ``frames`` latent frames starts."""
    return start_frame + np.arange(frames, dtype=np.int64) * ratio
