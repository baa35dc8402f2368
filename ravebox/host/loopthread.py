"""The start/stop/join life of the host's own threads (control loop, inference worker).

Why a base: both threads are owned by the main thread, started once, and
stopped idempotently from ``close()`` paths that may run twice (a failed
start-up, then the ``finally``), and neither may ever join itself.
"""

from __future__ import annotations

import threading


class LoopThread:
    """Owns one daemon thread running :meth:`run` until :attr:`_stop` is set."""

    def _init_thread(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def run(self) -> None:  # pragma: no cover - subclasses loop here
        raise NotImplementedError

    def start(self) -> None:
        """Main thread: start the loop."""
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Main thread: ask the loop to end and join it (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def close(self) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
