"""A stand-in for ``ravebox run`` with the daemon contract of ``service/observers.py``, for unit-file tests.

Why: the systemd units, the sandbox and the service layer can be tested end
to end (real JACK client, real notify socket, real watchdog) without torch
and without the full daemon. It connects a real JACK client (so the sandbox
must let a JACK client through), "warms up", then drives the real observers
exactly as the daemon does: ``on_ready`` once, ``on_tick`` about once a
second, ``on_stopping`` on SIGTERM.

Threads: main thread (loop, observers); JACK process thread (counts cycles);
a worker thread (counts blocks unless held by the debug hang hook).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

import jack

from ravebox.service import logs
from ravebox.service.observers import default_observers

log = logging.getLogger("standin")


class StandinDaemon:
    def __init__(self, name: str) -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.cycles = 0
        self.progress = 0
        self.held = False
        self.stop = threading.Event()
        self.mark = (0, 0, time.monotonic())
        self.healthy = (True, "")
        self.client.outports.register("out_1")
        self.client.set_process_callback(self._process)
        self.worker = threading.Thread(target=self._work, name="standin-worker", daemon=True)
        self.learning = None
        self.commands = self     # answers the live commands itself (Daemon.commands)

    def _process(self, frames: int) -> None:
        """JACK process thread: count cycles only."""
        self.cycles += 1

    def _work(self) -> None:
        while not self.stop.wait(0.05):
            if not self.held:
                self.progress += 1

    def start(self) -> None:
        time.sleep(1.0)  # "loading and warming models"
        log.info("models warm")
        self.client.activate()
        self.worker.start()

    def debug_hang_worker(self) -> None:
        self.held = True

    def tick_health(self) -> None:
        cycles, progress, since = self.mark
        if self.cycles != cycles and self.progress != progress:
            self.mark, self.healthy = (self.cycles, self.progress, time.monotonic()), (True, "")
        elif time.monotonic() - since > 2.0:
            self.healthy = (False, "inference worker made no progress")

    def health(self) -> tuple[bool, str]:
        return self.healthy

    def status(self) -> dict:
        return {"state": "running", "clock": {"tempo_bpm": 120.0, "lock": "internal"}, "xruns": 0,
                "late_blocks": 0, "graphs": [{"name": "main", "models": ["standin"]}],
                "jack": {"client": self.client.name, "sample_rate": self.client.samplerate}}

    def prepare_reload(self) -> None:
        return None

    def apply_reload(self, prepared) -> dict:
        return {"ok": True}

    def recall_preset(self, ref) -> dict:
        return {"preset": ref}

    def panic(self) -> dict:
        return {"ok": True}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="standin")
    args = parser.parse_args()
    logs.configure()
    observers = default_observers()
    daemon = StandinDaemon(args.name)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop.set())
    daemon.start()
    for observer in observers:
        observer.on_ready(daemon)
    while not daemon.stop.wait(1.0):
        daemon.tick_health()
        for observer in observers:
            observer.on_tick(daemon)
    for observer in reversed(observers):
        observer.on_stopping(daemon)
    daemon.client.deactivate()
    daemon.client.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
