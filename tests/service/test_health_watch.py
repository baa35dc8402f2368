"""The health watch: healthy while callback cycles and in-time blocks both advance; a stall names its cause."""

from __future__ import annotations

from ravebox.service.health import HealthWatch


class Progress:
    def __init__(self) -> None:
        self.cycles, self.on_time, self.block_s, self.connected = 0, 0, 0.043, True

    def progress(self):
        return self.cycles, self.on_time, self.block_s, self.connected


def test_a_stall_is_unhealthy_only_after_the_grace_and_names_what_stopped():
    host, now = Progress(), [100.0]
    watch = HealthWatch(host, clock=lambda: now[0])
    watch.restart()
    for _ in range(5):                         # both move: healthy
        host.cycles += 10
        host.on_time += 1
        now[0] += 1.0
        assert watch.update() == (True, "")
    host.cycles += 10                          # the worker stops committing in time
    now[0] += 1.0
    assert watch.update() == (True, "")        # within the 2 s grace
    now[0] += 1.5
    host.cycles += 10
    assert watch.update() == (False, "inference worker made no progress")
    assert watch.health() == (False, "inference worker made no progress")
    host.on_time += 1                          # back
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
