"""A bounded log of engine events (mutes, resets, swaps, degraded graphs) for the service to report.

Why bounded: the engine records on the worker thread for the whole life of the
daemon; an unbounded list grows with every event a flapping condition repeats.
``total`` counts every event ever appended, so a reader that remembers the
total it last saw gets exactly the new ones (:meth:`since`), as long as it
reads before :data:`KEEP` more have arrived.

Threads: one writer (the worker, or a swap thread: deque appends are atomic),
any reader.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

KEEP = 256


class EventLog:
    def __init__(self, keep: int = KEEP) -> None:
        self._items: collections.deque[str] = collections.deque(maxlen=keep)
        self.total = 0

    def append(self, text: str) -> None:
        self._items.append(text)
        self.total += 1

    def since(self, seen: int) -> tuple[list[str], int]:
        """The events after the first ``seen`` ever appended (as many as are kept), and the new total."""
        total, items = self.total, list(self._items)
        return items[max(0, len(items) - (total - seen)):], total

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, text: object) -> bool:
        return text in list(self._items)
