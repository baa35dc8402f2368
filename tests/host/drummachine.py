"""A drum machine stand-in in its own process: MIDI clock with jitter over python-rtmidi's JACK API.

Named like hardware behind a2j (``a2j:TR-8 [24] (capture): TR-8 MIDI 1``), so the
default ``midi_in`` connect rule admits it as it would a USB drum machine. Why a
separate process: python-rtmidi's JACK client must never share a process with a
JACK-Client client (it deadlocks). The JACK server comes from
``$JACK_DEFAULT_SERVER``; the client name is the first argument (default ``a2j``).
Commands on stdin, one per line, each answered ``ok``:

    start                 Start, then 24 clocks per beat from the next tick on
    tempo BPM             change the tempo at the next tick (no Stop/Start)
    stop                  Stop (the clock keeps ticking, as drum machines do)
    quit

Clock runs from launch at 120 BPM on its own thread, each tick sent up to
``JITTER_MS`` late (seeded), as a USB MIDI interface delivers it. The clock
thread asks for realtime priority where it may (root, or rtprio allowed): a
drum machine's clock is hardware, so on a loaded test machine the stand-in's own
wake-ups must not add tens of milliseconds of jitter that no real one has.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time

import mido

PORT = "TR-8 [24] (capture): TR-8 MIDI 1"
JITTER_MS = 2.0


class DrumMachine:
    def __init__(self, client: str) -> None:
        backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        self.out = backend.open_output(PORT, virtual=True, client_name=client)
        self.bpm = 120.0
        self.pending: list[str] = []
        self.lock = threading.Lock()
        self.running = True
        self.rng = random.Random(11)
        self.thread = threading.Thread(target=self.play, daemon=True)
        self.thread.start()

    def play(self) -> None:
        """Clock thread: one tick per 1/24 beat on an exact grid, each sent a little late."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))   # this thread only (Linux)
        except (OSError, AttributeError):
            pass   # not allowed here: the test machine's own jitter adds to JITTER_MS
        due = time.monotonic()
        while self.running:
            with self.lock:
                pending, self.pending = self.pending, []
            for kind in pending:
                self.out.send(mido.Message(kind))
            due += 60.0 / (24.0 * self.bpm)
            late = self.rng.uniform(0.0, JITTER_MS) * 1e-3
            delay = due + late - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.out.send(mido.Message("clock"))

    def command(self, words: list[str]) -> None:
        if words[0] in ("start", "stop"):
            with self.lock:
                self.pending.append(words[0])
        elif words[0] == "tempo":
            self.bpm = float(words[1])

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.out.close()


def main() -> int:
    machine = DrumMachine(sys.argv[1] if len(sys.argv) > 1 else "a2j")
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        machine.command(words)
        print("ok", flush=True)
    machine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
