"""Live parameter values as time-stamped glides, readable at any frame.

Why glides and not a smoothed variable: the control thread writes changes
stamped with the frame of their MIDI event, while the inference worker reads
them at latent-frame rate and the JACK process callback reads them per sample,
each at its own time. A linear glide from the value at the change's frame to
the new target over ``smoothing_ms`` can be evaluated exactly at any frame by
any reader, so live and offline render agree sample for sample, and an
encoder's total travel is never changed by smoothing.

Threads: :meth:`ParamStore.set` is called by one writer (the control thread,
or the render loop). Readers on other threads only read; every write replaces
one dict entry with a new immutable :class:`Glide`, which is atomic under the
GIL, so readers never see a torn value and never take a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from ravebox.params.table import PARAMS, ParamKey, ParamKind, ParamScope

_NO_NAMES: Final[frozenset[str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Glide:
    """A straight line from ``(start_frame, start)`` to ``(end_frame, end)``, flat after."""

    start_frame: int
    start: float
    end_frame: int
    end: float

    def at(self, frame: int) -> float:
        if frame >= self.end_frame:
            return self.end
        if frame <= self.start_frame:
            return self.start
        t = (frame - self.start_frame) / (self.end_frame - self.start_frame)
        return self.start + (self.end - self.start) * t

    def over(self, frames: np.ndarray) -> np.ndarray:
        """Values at many frames at once (vectorised :meth:`at`)."""
        if self.end_frame <= self.start_frame:  # a step at start_frame, as :meth:`at` says
            return np.where(frames >= self.start_frame, self.end, self.start).astype(np.float64)
        t = np.clip((frames - self.start_frame) / (self.end_frame - self.start_frame), 0.0, 1.0)
        return self.start + (self.end - self.start) * t


class ParamStore:
    """Every live value of a box, by concrete key (graph and dim always resolved).

    ``graphs`` maps each graph name to its latent dimension count, so that a
    change addressed to "every graph" or "every dimension" fans out to the
    concrete keys it covers.
    """

    def __init__(self, graphs: Mapping[str, int], sample_rate: int,
                 defaults: Mapping[ParamKey, float] | None = None) -> None:
        self.graphs = dict(graphs)
        self.sample_rate = int(sample_rate)
        # the box's own starting values (e.g. ``[gates] depth``), by concrete key; the table's otherwise
        self._defaults: dict[ParamKey, float] = {k: PARAMS[k.name].clamp(v) for k, v in (defaults or {}).items()}
        self._glides: dict[ParamKey, Glide] = {}
        self._triggers: dict[ParamKey, int] = {}
        # names ever set or given a box default, per graph (None: box scope); see :meth:`active`
        self._names: dict[str | None, frozenset[str]] = {}
        for key in self._defaults:
            self._note(key)

    # -- writing (one writer thread) ------------------------------------------------
    def set(self, key: ParamKey, value: float, frame: int, glide_ms: float | None = None) -> None:
        """Move ``key`` to ``value`` from ``frame`` on, gliding ``glide_ms`` (spec default if None).

        Triggers count instead: each set increments the trigger's counter.
        """
        spec = PARAMS[key.name]
        if spec.kind is ParamKind.TRIGGER:
            for concrete in self.expand(key):
                self._triggers[concrete] = self._triggers.get(concrete, 0) + 1
            return
        target = spec.clamp(value)
        ms = spec.smoothing_ms if glide_ms is None else max(0.0, glide_ms)
        if spec.kind is not ParamKind.CONTINUOUS:
            ms = 0.0
        length = int(round(ms * self.sample_rate / 1000.0))
        for concrete in self.expand(key):
            start = self.value(concrete, frame)
            self._glides[concrete] = Glide(frame, start, frame + length, target)
            self._note(concrete)

    def _note(self, key: ParamKey) -> None:
        names = self._names.get(key.graph, _NO_NAMES)
        if key.name not in names:   # a new frozenset, swapped in whole: readers never see it half-built
            self._names[key.graph] = names | {key.name}

    def expand(self, key: ParamKey) -> list[ParamKey]:
        """The concrete keys a (possibly broadcast) key addresses."""
        spec = PARAMS[key.name]
        if spec.scope is ParamScope.BOX:
            return [ParamKey(key.name)]
        graphs = list(self.graphs) if key.graph is None else [key.graph]
        if spec.scope is ParamScope.GRAPH:
            return [ParamKey(key.name, g) for g in graphs]
        keys: list[ParamKey] = []
        for g in graphs:
            dims = range(self.graphs[g]) if key.dim is None else [key.dim]
            keys.extend(ParamKey(key.name, g, d) for d in dims if d < self.graphs[g])
        return keys

    # -- reading (any thread) --------------------------------------------------------
    def default(self, key: ParamKey) -> float:
        """Where one concrete key starts: the box's default for it, else the table's."""
        value = self._defaults.get(key)
        return PARAMS[key.name].default if value is None else value

    def value(self, key: ParamKey, frame: int) -> float:
        """The value of one concrete key at ``frame``."""
        glide = self._glides.get(key)
        return self.default(key) if glide is None else glide.at(frame)

    def ends(self, key: ParamKey, first: int, last: int) -> tuple[float, float]:
        """The values of one concrete key at ``first`` and ``last`` (one lookup: the output stage
        reads every parameter this way once per JACK period, in the process callback)."""
        glide = self._glides.get(key)
        if glide is None:
            value = self.default(key)
            return value, value
        return glide.at(first), glide.at(last)

    def target(self, key: ParamKey) -> float:
        """Where ``key`` is heading (its value once any glide ends)."""
        glide = self._glides.get(key)
        return self.default(key) if glide is None else glide.end

    def over(self, key: ParamKey, frames: np.ndarray) -> np.ndarray:
        """Values of one concrete key at each of ``frames``."""
        glide = self._glides.get(key)
        if glide is None:
            return np.full(frames.shape, self.default(key), dtype=np.float64)
        return glide.over(frames)

    def dims_over(self, name: str, graph: str, frames: np.ndarray) -> np.ndarray:
        """A per-dimension parameter at each frame: shape ``(len(frames), dims)``."""
        dims = self.graphs[graph]
        out = np.empty((len(frames), dims), dtype=np.float64)
        for d in range(dims):
            out[:, d] = self.over(ParamKey(name, graph, d), frames)
        return out

    def active(self, graph: str) -> frozenset[str]:
        """Names of the parameters of ``graph`` (and box-wide ones) ever set or given a box default.

        The engine reads only these each block; every other parameter is at its
        table default, which costs nothing to apply.
        """
        box = self._names.get(None, _NO_NAMES)
        own = self._names.get(graph, _NO_NAMES)
        return own | box if box else own

    def trigger_count(self, key: ParamKey) -> int:
        """How many times a trigger fired; readers compare with the count they last saw."""
        return self._triggers.get(key, 0)

    def snapshot(self) -> dict[str, float]:
        """Targets of every value that was ever set or has a box default, keyed by ``str(ParamKey)``."""
        values = {str(k): v for k, v in self._defaults.items()}
        values.update((str(k), g.end) for k, g in list(self._glides.items()))
        return values

    def moved(self) -> list[ParamKey]:
        """Concrete keys that were ever set (a preset recall with ``reset_unlisted`` resets the others)."""
        return list(self._glides)

    def restore(self, values: Iterable[tuple[ParamKey, float]], frame: int, glide_ms: float | None) -> None:
        """Set many values at once (a preset recall)."""
        for key, value in values:
            self.set(key, value, frame, glide_ms)
