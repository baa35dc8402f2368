"""A one-line progress bar for terminals (render thread); silent when stderr is not a TTY."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """``start(total)``, then ``update(done)`` per block, then ``close()``."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.total = 1
        self._shown = -1

    def start(self, total: int) -> None:
        self.total, self._shown = max(1, total), -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        percent = min(100, done * 100 // self.total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        self.stream.write(f"\rrendering [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}%")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
