"""Time the engine's models the way the inference worker will run them.

Why not on the calling thread: the daemon's main thread runs at normal priority
with torch's thread count of whoever set it, while the worker runs at
``[jack] worker_rt_priority`` with its OpenMP team pinned to one thread
(OpenMP keeps the team size per thread). Timed on the main thread of a loaded
machine, a small model once read 547 ms per 43 ms block (every other process
took its turns inside the timing), and a full-size one read p99 23.8 ms at
start-up but 39.5 ms while playing. A fresh thread that sets itself up as the
worker does (priority, torch threads) gives the headroom a figure closer to
the stage; what is left over, the playing worker's own times correct
(:func:`ravebox.host.headroom.follow`).

Thread: :func:`measure_as_worker` is called on the main thread at start-up (or
a rate change), before the worker starts; it blocks while a short-lived
``ravebox-timing`` thread measures.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ravebox.host.rtprio import make_realtime


class Measurable(Protocol):
    def measure(self, *, last_multiple: int | None = None) -> object:
        """Time every graph's warm models at the engine block (each reset afterwards)."""
        ...


def measure_as_worker(engine: Measurable, rt_priority: int, last_multiple: int | None = None) -> None:
    """Main thread: run ``engine.measure()`` on a thread at the worker's priority and torch settings
    (``last_multiple``: the auto block multiple the last start chose, see ``engine/autoblock.py``)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            make_realtime(rt_priority, "start-up timing")
            from ravebox.models.loader import pin_torch_threads  # torch only once a real engine measures

            pin_torch_threads()
            engine.measure(last_multiple=last_multiple)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=run, name="ravebox-timing", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
