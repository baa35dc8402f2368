"""Hot model swap on reload: which of a box's model files changed, swapped in off the audio path.

Why: a player re-exports a model, or points a graph at another one, then runs
``systemctl reload ravebox``; the set must go on playing. Each model slot of a
graph (its encoder, its prior, each decoder alternative) is identified by the
file it plays and that file's modification time, so both a changed path and a
re-exported file at the same path count as a change. A changed slot is loaded
and warmed up by :meth:`Engine.prepare_swap` on a short-lived thread of its
own (a load takes a good part of a second, which must neither stall the main
loop, whose ticks feed the systemd watchdog, nor the inference worker); the
worker then crossfades at its next block. A failed load keeps the old model
playing and is logged with its reason. Changes of a box's shape (graphs added
or removed, another kind, another number of decoders) need a restart and are
reported as such, never half-applied.

Threads: :meth:`ModelReloader.reload` runs on the main thread; each swap runs
on its own ``ravebox-swap`` thread, which only logs and calls the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ravebox.config.box import BoxConfig
from ravebox.errors import describe

log = logging.getLogger("ravebox.models.reload")


@dataclass(frozen=True, slots=True)
class Slot:
    """One model position of a graph: ``role`` is encoder, prior or decoder (with its index)."""

    graph: str
    role: str
    index: int | None = None

    def __str__(self) -> str:
        where = self.role if self.index is None else f"{self.role} {self.index}"
        return f"{self.graph} {where}"


def model_slots(box: BoxConfig) -> dict[Slot, tuple[str, float]]:
    """Every model slot of a box, with the file it plays and that file's mtime (-1 if unreadable)."""
    slots: dict[Slot, tuple[str, float]] = {}
    for graph in box.graphs:
        named = [(Slot(graph.name, "encoder"), graph.encoder), (Slot(graph.name, "prior"), graph.prior)]
        named += [(Slot(graph.name, "decoder", i), name) for i, name in enumerate(graph.decoders)]
        for slot, model in named:
            if model is not None:
                path = str(box.models[model].path)
                slots[slot] = (path, _mtime(path))
    return slots


def shape_of(box: BoxConfig) -> dict[str, tuple[str, int, bool, bool]]:
    """What a reload cannot change live: per graph its kind, decoder count and which roles exist."""
    return {g.name: (g.kind, len(g.decoders), g.encoder is not None, g.prior is not None) for g in box.graphs}


class Swapper(Protocol):
    """The engine as a model swap uses it (``Engine.prepare_swap``)."""

    def prepare_swap(self, graph: str, path: str, index: int | None = None, role: str = "decoder") -> Any: ...


#: ``on_result(part, ok, message)``: where each swap's outcome goes (the reload record).
ResultHook = Callable[[str, bool, str], object]


class ModelReloader:
    """Remembers which file each model slot plays and swaps the ones a reload changed."""

    def __init__(self, engine: Swapper, box: BoxConfig) -> None:
        self.engine = engine
        self._shape = shape_of(box)
        self._slots = model_slots(box)
        self._playing = {slot: path for slot, (path, _) in self._slots.items()}
        self.shape_ok = True            # the last reload's box had the running shape
        self.on_result: ResultHook = lambda part, ok, message: (log.info if ok else log.error)("%s", message)
        self.threads: list[threading.Thread] = []

    def playing(self) -> dict[Slot, str]:
        """Any thread: the file each slot plays now (a failed or unfinished swap keeps the old one)."""
        return dict(self._playing)

    def reload(self, box: BoxConfig) -> list[str]:
        """Main thread: start a swap for every changed slot; one message per change, for the reply."""
        was_ok, self.shape_ok = self.shape_ok, shape_of(box) == self._shape
        if not self.shape_ok:
            message = "graphs changed shape (graphs, kinds or decoder counts): restart ravebox to apply"
            self.on_result("models", False, message)
            return [message]
        if not was_ok:
            self.on_result("models", True, "graphs have the running shape again")
        new = model_slots(box)
        changed = [slot for slot, stamp in new.items() if self._slots.get(slot) != stamp]
        messages = []
        for slot in changed:
            path = new[slot][0]
            self._slots[slot] = new[slot]  # a failed swap is not retried until the file changes again
            thread = threading.Thread(target=self._swap, args=(slot, path), name="ravebox-swap", daemon=True)
            self.threads.append(thread)
            thread.start()
            messages.append(f"{slot}: loading {Path(path).name}")
        self.threads = [t for t in self.threads if t.is_alive()]
        return messages

    def _swap(self, slot: Slot, path: str) -> None:
        """Swap thread: load and warm up, then leave the crossfade to the worker.

        Whatever goes wrong is one "swap failed" outcome, never a thread traceback."""
        part = f"model {slot}"
        try:
            result = self.engine.prepare_swap(slot.graph, path, index=slot.index, role=slot.role)
        except Exception as exc:  # noqa: BLE001 - the old model keeps playing
            self.on_result(part, False, f"{slot}: swap to {path} failed, keeping the old model: {describe(exc)}")
            return
        if result.ok:
            self._playing = {**self._playing, slot: path}
        self.on_result(part, bool(result.ok), result.message)


def _mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return -1.0
