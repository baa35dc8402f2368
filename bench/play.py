"""Playing-it-like-an-instrument figures, each against a baseline measured in the same run.

- **clock out exactness**: :class:`ravebox.clock.clockout.ClockOut` over ten minutes of 256-frame
  periods at seeded odd tempi, internal and following a jittered external clock; the error of every
  tick against ``ceil(view.frame_at_beat(k / 24))`` of the view it was sent from (0 = exact to the
  frame). Baseline: the same ticks stamped per period (offset 0), as a clock written without frame
  offsets would be.
- **learn, message to file written and reloaded**: the capture sees a CC, the main thread edits a copy of
  the bundled nanoKONTROL2 mapping (tomlkit, validated, atomic write) and the reloader swaps it in.
  Baseline: the reload alone (read, validate, swap) of the same file.
- **feedback after a reconnect, compute part**: one :class:`FeedbackSender` pass that sends every value of
  the nanoKONTROL2 mapping after ``resend()``; baseline: a pass with nothing to send. (End to end,
  through JACK, the reconnect is exercised by tests/host/test_feedback_jack.py; timing there is the
  main loop's 20 ms poll plus one period.)
- **feedback rate under a 1000 CC/s flood**: messages per control per second that go out (limit 100).

Run: ``python bench/play.py`` (a few seconds). Ends with ``figure: value`` lines.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import mido
import numpy as np

from ravebox.clock.clockout import TICK, ClockOut
from ravebox.clock.follower import ClockFollower
from ravebox.clock.view import ClockView
from ravebox.mapping.bundled import bundled_path
from ravebox.mapping.feedback import FeedbackSender
from ravebox.mapping.learnfile import LearnTarget
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.reloader import MappingReloader
from ravebox.mapping.runtime import MappingRuntime
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import ParamKey
from ravebox.service.learning import LearnService

SR, PERIOD = 48000, 256


late = [0]


def clock_errors(seed: int, follow: bool) -> tuple[int, int]:
    """(max error exact, max error per-period baseline) in frames over ten minutes."""
    rng = np.random.default_rng(seed)
    bpm = float(rng.uniform(70, 180))
    out = ClockOut(SR)
    follower = ClockFollower(SR) if follow else None
    tick_period = 60.0 * SR / (24 * bpm)
    arrivals = iter(1000 + np.arange(10 ** 6) * tick_period + rng.uniform(-48, 48, 10 ** 6)) if follow else None
    nxt = next(arrivals) if follow else None
    view = ClockView.internal(bpm, SR)
    worst = worst_base = 0
    for frame in range(0, 600 * SR, PERIOD):
        if follow:
            while nxt < frame:
                follower.feed(MidiEvent(int(nxt), "clock", mido.Message("clock")))
                nxt = next(arrivals)
            view = follower.advance(frame)
        sent: list[int] = []
        out.cycle(frame, PERIOD, view, lambda off, data: sent.append(off) if data == TICK else None)
        if not sent or not out.told_running or frame < 30 * SR:   # running and past the first lock
            continue
        first = out._k - len(sent)                 # the grid indices this cycle sent
        for i, offset in enumerate(sent):
            exact = math.ceil(view.frame_at_beat((first + i) / 24) - 1e-6)
            if exact < frame:
                late[0] += 1                       # due before this cycle (a view that moved): sent at offset 0
                continue
            worst = max(worst, abs(frame + offset - exact))
            worst_base = max(worst_base, abs(frame - exact))
    return worst, worst_base


def learn_and_reload(folder: Path) -> tuple[float, float]:
    """(ms message -> written and reloaded, ms reload alone), medians of 30.

    The learn runs the daemon's own path (:class:`LearnService`: the running mapping stands for the
    unchanged file, the edited text is validated once and that mapping swapped in), with both of its
    halves on this thread; the baseline is a plain reload (read, validate, swap) of the same file.
    """
    path = folder / "nanokontrol2.toml"
    shutil.copy(bundled_path("nanokontrol2"), path)
    shutil.copytree(bundled_path("nanokontrol2").parent / "presets", folder / "presets", dirs_exist_ok=True)
    pristine = path.read_text()
    store = ParamStore({"main": 8}, SR)
    runtime = MappingRuntime(load_mapping(path), store)
    reloader = MappingReloader(runtime, path)
    armed: list = []
    service = LearnService(reloader, armed.append)
    learn_ms, reload_ms = [], []
    for i in range(30):
        path.write_text(pristine)
        reloader.reload()                      # the daemon is up to date with the file (its watch saw the write)
        answer: dict = {}
        asking = threading.Thread(target=lambda reply=answer: reply.update(service.request(LearnTarget("mix.wet"),
                                                                                          "replace")))
        asking.start()
        while not armed or armed[-1] is None:
            time.sleep(0.001)
        capture = armed[-1]
        t0 = time.perf_counter()
        capture.offer(MidiEvent(0, "knobs <- nanoKONTROL2", mido.Message("control_change", control=80 + i % 10,
                                                                            value=5)))
        capture.poll(10_000)
        service.poll()                         # the main loop's next pass: write, validate, swap
        learn_ms.append(1000 * (time.perf_counter() - t0))
        asking.join()
        assert answer.get("ok"), answer
        t0 = time.perf_counter()
        reloader.reload()
        reload_ms.append(1000 * (time.perf_counter() - t0))
    return statistics.median(learn_ms), statistics.median(reload_ms)


def feedback_figures() -> tuple[float, float, float]:
    """(ms all values after a resend, ms an idle pass, messages per control per second under a flood)."""
    mapping = load_mapping(bundled_path("nanokontrol2"))
    store = ParamStore({"main": 8}, SR)
    sent: list[bytes] = []
    sender = FeedbackSender(store, SR // 100, lambda out, data: sent.append(data), lambda: ["k <- nanoKONTROL2"])
    sender.step(mapping, 0)
    full, idle = [], []
    for i in range(50):
        sender.resend()
        t0 = time.perf_counter()
        sender.step(mapping, i)
        full.append(1000 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        sender.step(mapping, i)
        idle.append(1000 * (time.perf_counter() - t0))
    sent.clear()
    key = ParamKey("latent.freeze", "main")
    rng = np.random.default_rng(0)
    frame = 10 ** 6
    for i in range(1000):                       # one second: a CC every ms, a control pass every 2 ms
        store.set(key, float(rng.integers(0, 2)), frame, 0.0)
        frame += SR // 1000
        if i % 2:
            sender.step(mapping, frame)
    rate = sum(1 for d in sent if d[:2] == bytes((0xB0, 32)))
    return statistics.median(full), statistics.median(idle), float(rate)


def main() -> None:
    exact = [clock_errors(seed, follow) for seed in range(3) for follow in (False, True)]
    worst = max(e for e, _ in exact)
    worst_base = max(b for _, b in exact)
    print(f"clock out, 6 x 10 min (3 tempi, internal and followed, after 30 s): max tick error {worst} frames; "
          f"per-period stamping: {worst_base} frames; ticks due before their cycle (sent at offset 0): {late[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        learn_ms, reload_ms = learn_and_reload(Path(tmp))
    print(f"learn: message -> file written and reloaded {learn_ms:.1f} ms; reload alone {reload_ms:.1f} ms "
          f"(ratio {learn_ms / reload_ms:.2f})")
    full_ms, idle_ms, rate = feedback_figures()
    print(f"feedback: every value after a reconnect {full_ms:.3f} ms of control-thread time; idle pass "
          f"{idle_ms:.3f} ms (ratio {full_ms / max(idle_ms, 1e-9):.1f}); flood: {rate:.0f} messages/s for one control")
    print(f"clock_out_max_error_frames: {worst}")
    print(f"clock_out_baseline_error_frames: {worst_base}")
    print(f"clock_out_late_ticks: {late[0]}")
    print(f"learn_to_reloaded_ms: {learn_ms:.1f}")
    print(f"learn_over_reload_ratio: {learn_ms / reload_ms:.2f}")
    print(f"feedback_resend_all_ms: {full_ms:.3f}")
    print(f"feedback_flood_messages_per_control_per_s: {rate:.0f}")


if __name__ == "__main__":
    main()
