"""The health watch: healthy while callback cycles and in-time blocks advance; degraded while blocks finish
but late; unhealthy when nothing finishes or one block outlasts the stall window; a stall names its cause."""

from __future__ import annotations

from ravebox.host.worker import Progress as Marks
from ravebox.service.health import DEGRADED, HealthWatch


class Progress:
    def __init__(self) -> None:
        self.cycles, self.finished, self.on_time, self.last_s, self.block_s, self.connected = 0, 0, 0, 0.01, 0.043, True

    def progress(self) -> Marks:
        return Marks(self.cycles, self.finished, self.on_time, self.last_s, self.block_s, self.connected)

    def blocks(self, n: int = 1, *, in_time: bool = True, each_s: float = 0.01) -> None:
        self.finished += n
        self.on_time += n if in_time else 0
        self.last_s = each_s


def test_a_stall_is_unhealthy_only_after_the_grace_and_names_what_stopped():
    host, now = Progress(), [100.0]
    watch = HealthWatch(host, clock=lambda: now[0])
    watch.restart()
    for _ in range(5):                         # both move: healthy
        host.cycles += 10
        host.blocks()
        now[0] += 1.0
        assert watch.update() == (True, "")
    host.cycles += 10                          # the worker stops finishing blocks
    now[0] += 1.0
    assert watch.update() == (True, "")        # within the 2 s grace
    now[0] += 1.5
    host.cycles += 10
    assert watch.update() == (False, "inference worker made no progress")
    assert watch.health() == (False, "inference worker made no progress")
    host.blocks()                              # back
    assert watch.update() == (True, "")
    now[0] += 3.0                              # nothing moves, server gone
    host.connected = False
    assert watch.update() == (False, "JACK server not connected")
    host.connected = True
    assert watch.update() == (False, "JACK process callback not advancing")


def test_a_long_engine_block_widens_the_grace():
    host, now = Progress(), [0.0]
    host.block_s = 1.0                          # 3 blocks = 3 s > 2 s
    watch = HealthWatch(host, clock=lambda: now[0])
    watch.restart()
    now[0] = 2.5
    assert watch.update() == (True, "")
    now[0] = 3.0
    assert watch.update()[0] is False


def test_an_overloaded_box_that_finishes_late_blocks_is_degraded_never_unhealthy():
    """0.5 s per 43 ms block (a start-up timing of 547 ms at load 20 said as much): it plays, the watchdog is fed."""
    host, now = Progress(), [0.0]
    watch = HealthWatch(host, clock=lambda: now[0])
    watch.restart()
    seen = set()
    for _ in range(60):
        now[0] += 0.5
        host.cycles += 94
        host.blocks(in_time=False, each_s=0.5)
        seen.add(watch.update())
    assert seen == {(True, ""), (True, DEGRADED)} and watch.health() == (True, DEGRADED)
    host.blocks(in_time=True)                  # the load goes away
    now[0] += 0.5
    assert watch.update() == (True, "")


def test_a_model_hanging_seconds_per_block_is_unhealthy_all_along_though_blocks_finish():
    """4 s per block: a finished block is not progress when it outlasted the stall window; no healthy blinks."""
    host, now = Progress(), [0.0]
    watch = HealthWatch(host, clock=lambda: now[0])
    watch.restart()
    states = []
    for second in range(1, 41):
        now[0] = float(second)
        host.cycles += 188
        if second % 4 == 0:
            host.blocks(in_time=False, each_s=4.0)
        states.append(watch.update())
    assert all(not ok for ok, _ in states[4:])
    assert states[-1] == (False, "inference worker took 4.0 s for one 43 ms block (a hung model)")
