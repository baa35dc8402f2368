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
import sys
import tempfile
import threading
import time
from pathlib import Path

import mido
import numpy as np

from ravebox.clock.clockout import TICK, ClockOut
from ravebox.clock.follower import ClockFollower
from ravebox.clock.view import ClockView
from ravebox.host.democlients import OwnClient
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))       # the shared daemon rig of tests and benchmarks: tests/host/daemonkit.py
from tests.host.daemonkit import connect, mapping_toml, rule, running_daemon, wait_for, write_box  # noqa: E402

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
        out.cycle(frame, PERIOD, view, lambda off, data, sent=sent: sent.append(off) if data == TICK else None)
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


FEEDBACK_MAPPING = mapping_toml(
    rule(cc=list(range(8)), dim=list(range(8)), target="latent.bias", range=[-3, 3]),
    rule(cc=list(range(16, 24)), dim=list(range(8)), target="latent.scale"),
    rule(cc=24, target="mix.wet"), rule(cc=25, target="out.gain_db", range=[-40, 0]),
    rule(note=36, target="latent.freeze", button="toggle"), rule(note=37, target="graph.mute"),
    name=None, feedback=True)
CONTROLS = [("cc", n) for n in list(range(8)) + list(range(16, 26))] + [("note", 36), ("note", 37)]


class MidiProbe(OwnClient):
    """A JACK client on the dummy jackd (a controller, or a second box's clock input): records every message of
    up to 3 bytes on ``<name>:<inport>`` with its frame (``last_frame_time + offset``) and writes the scheduled
    ``send_at`` messages on ``<name>:out`` at their frames. The process callback fills preallocated arrays."""

    def __init__(self, server: str, name: str = "probe", inport: str = "leds") -> None:
        import jack

        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.out = self.client.midi_outports.register("out")
        self.inp = self.client.midi_inports.register(inport)
        self.frames = np.zeros(400_000, np.int64)
        self.data = np.zeros((400_000, 3), np.uint8)
        self.count = 0
        self.send_at: list[tuple[int, bytes]] = []     # (frame, message), written when their cycle comes
        self.sent_frames: list[int] = []
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, n: int) -> None:
        base = self.client.last_frame_time
        for offset, data in self.inp.incoming_midi_events():
            i = self.count
            if i < len(self.frames) and len(data) <= 3:
                self.frames[i] = base + offset
                self.data[i, :len(data)] = np.frombuffer(bytes(data), np.uint8)
                self.count = i + 1
        self.out.clear_buffer()
        while self.send_at and self.send_at[0][0] < base + n:
            frame, message = self.send_at.pop(0)
            offset = max(0, frame - base)
            self.out.write_midi_event(offset, message)
            self.sent_frames.append(base + offset)

    def received(self, since: int = 0) -> list[tuple[int, bytes]]:
        return [(int(self.frames[i]), bytes(self.data[i])) for i in range(since, self.count)]


def control_of(data: bytes) -> tuple[str, int]:
    return ("cc" if data[0] & 0xF0 == 0xB0 else "note"), data[1]


def wait(predicate, timeout: float = 30.0) -> bool:
    """``wait_for`` polling every 2 ms (the figures come from JACK frames, not from this poll)."""
    return wait_for(predicate, timeout, step=0.002)


def feedback_end_to_end(rounds: int = 20) -> dict:
    """Feedback through a real dummy jackd and the real daemon (test model): ms from a controller's
    reconnection to the last of its values, ms for one moved knob's own value (baseline), and under a
    1000 CC/s flood on one knob the most feedback messages in any 10 ms window and the smallest gap."""
    from ravebox.host.dummyserver import JackServer

    box = write_box(Path(tempfile.mkdtemp(prefix="ravebox-feedback-bench-")), mapping=FEEDBACK_MAPPING,
                    name="feedback bench", connect=connect("^midi_in$", "^probe:out$")
                    + connect("^midi_in_feedback$", "^probe:leds$"))
    wanted = set(CONTROLS)
    with JackServer(period=PERIOD) as server:
        with MidiProbe(server.name) as probe, running_daemon(box, server.name):
            client = probe.client
            assert wait(lambda: {control_of(d) for _, d in probe.received()} >= wanted, 120), "no feedback at start"
            reconnect, single = [], []
            for i in range(rounds):
                client.disconnect("rbx:midi_in_feedback", "probe:leds")
                time.sleep(0.2)
                mark = probe.count
                client.connect("rbx:midi_in_feedback", "probe:leds")
                at = client.frame_time
                assert wait(lambda mark=mark: {control_of(d) for _, d in probe.received(mark)} >= wanted), "no resend"
                firsts: dict = {}
                for frame, d in probe.received(mark):
                    firsts.setdefault(control_of(d), frame)
                reconnect.append(1000.0 * (max(firsts[c] for c in wanted) - at) / server.rate)
                time.sleep(0.05)
                mark = probe.count
                value = 10 + (i * 37) % 100
                probe.send_at.append((client.frame_time + PERIOD, bytes((0xB0, 24, value))))
                assert wait(lambda mark=mark, value=value: any(d[1] == 24 and d[2] == value for _, d in probe.received(mark)))
                got = next(f for f, d in probe.received(mark) if d[1] == 24 and d[2] == value)
                single.append(1000.0 * (got - probe.sent_frames[-1]) / server.rate)
            mark = probe.count
            start = client.frame_time + PERIOD
            step = server.rate // 1000
            probe.send_at.extend((start + k * step, bytes((0xB0, 25, k % 128))) for k in range(2000))
            assert wait(lambda: not probe.send_at, 30)
            time.sleep(0.5)
            frames = np.array([f for f, d in probe.received(mark) if d[1] == 25 and d[0] & 0xF0 == 0xB0])
            window = int(0.01 * server.rate)
            most = int(max(np.searchsorted(frames, f + window, "left") - i for i, f in enumerate(frames))) \
                if len(frames) else 0
            gap = float(np.diff(frames).min()) * 1000.0 / server.rate if len(frames) > 1 else float("nan")
            rate = len(frames) / 2.0
    return {"reconnect_ms": reconnect, "single_ms": single, "flood_most_in_10ms": most,
            "flood_min_gap_ms": gap, "flood_messages_per_s": rate, "controls": len(wanted)}


CLOCK_BPM = 123.4


def clock_follow_end_to_end(seconds: float = 60.0, settle_s: float = 10.0) -> tuple[float, float, int]:
    """A daemon leads at CLOCK_BPM on its clock_out; a JACK client records the ticks in frames; a ClockFollower
    (the code a second box runs on its clock input) follows them. Returns (|mean tempo - CLOCK_BPM|, the
    follower's own tempo sigma after ``settle_s``, ticks) in BPM."""
    from ravebox.host.dummyserver import JackServer

    box = write_box(Path(tempfile.mkdtemp(prefix="ravebox-clock-bench-")), mapping=None, name="clock out bench",
                    sections=f"[clock]\ninternal_bpm = {CLOCK_BPM}\n", connect=connect("^clock_out$", "^follower:in$"))
    with JackServer(period=PERIOD) as server:
        with MidiProbe(server.name, "follower", "in") as recorder, running_daemon(box, server.name):
            assert wait(lambda: recorder.count > 24, 120), "no clock out"
            time.sleep(seconds)
        rate = server.rate
    n = recorder.count
    frames, data = recorder.frames[:n], recorder.data[:n, 0]
    ticks = frames[data == 0xF8]
    follower = ClockFollower(rate)
    first, i, bpms = int(frames[0]), 0, []
    for frame in range(first, int(frames[-1]), PERIOD):
        while i < n and frames[i] < frame:
            if data[i] >= 0xF8:                    # clock, start, continue, stop (the tempo's messages)
                follower.feed(MidiEvent(int(frames[i]), "clock_in", mido.Message.from_bytes([int(data[i])])))
            i += 1
        view = follower.advance(frame)
        if frame - first > settle_s * rate:
            bpms.append(view.bpm)
    bpm = np.array(bpms)
    return abs(float(bpm.mean()) - CLOCK_BPM), float(bpm.std()), len(ticks)


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
    e2e = feedback_end_to_end()
    reconnect_ms, single_ms = max(e2e["reconnect_ms"]), statistics.median(e2e["single_ms"])
    print(f"feedback end to end (dummy jackd, period {PERIOD}, real daemon and test model, {e2e['controls']} controls): "
          f"controller reconnected -> all values out: median {statistics.median(e2e['reconnect_ms']):.1f} ms, "
          f"max {reconnect_ms:.1f} ms of {len(e2e['reconnect_ms'])}; one knob moved -> its own value back "
          f"(baseline): median {single_ms:.1f} ms (ratio {reconnect_ms / max(single_ms, 1e-9):.2f}); "
          f"1000 CC/s for 2 s on one knob: {e2e['flood_messages_per_s']:.0f} feedback messages/s, at most "
          f"{e2e['flood_most_in_10ms']} in any 10 ms, smallest gap {e2e['flood_min_gap_ms']:.2f} ms")
    tempo_error, sigma, ticks = clock_follow_end_to_end()
    print(f"clock out followed (dummy jackd, real daemon leading at {CLOCK_BPM} BPM, {ticks} ticks recorded in frames by "
          f"a JACK client, fed to the clock follower a second box runs): tempo error {tempo_error:.5f} BPM, the "
          f"follower's own sigma {sigma:.5f} BPM (error / sigma {tempo_error / max(sigma, 1e-12):.2f})")
    print(f"clock_out_max_error_frames: {worst}")
    print(f"clock_out_baseline_error_frames: {worst_base}")
    print(f"clock_out_late_ticks: {late[0]}")
    print(f"learn_to_reloaded_ms: {learn_ms:.1f}")
    print(f"learn_over_reload_ratio: {learn_ms / reload_ms:.2f}")
    print(f"feedback_resend_all_ms: {full_ms:.3f}")
    print(f"feedback_flood_messages_per_control_per_s: {rate:.0f}")
    print(f"clock_follow_tempo_error_bpm: {tempo_error:.5f}")
    print(f"clock_follow_sigma_bpm: {sigma:.5f}")
    print(f"feedback_reconnect_all_values_max_ms: {reconnect_ms:.1f}")
    print(f"feedback_one_value_median_ms: {single_ms:.1f}")
    print(f"feedback_reconnect_over_one_value_ratio: {reconnect_ms / max(single_ms, 1e-9):.2f}")
    print(f"feedback_e2e_flood_most_in_10ms: {e2e['flood_most_in_10ms']}")
    print(f"feedback_e2e_flood_min_gap_ms: {e2e['flood_min_gap_ms']:.2f}")


if __name__ == "__main__":
    main()
