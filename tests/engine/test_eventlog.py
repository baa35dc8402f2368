"""The engine's event log stays bounded however long the box plays, and readers miss nothing recent."""

from ravebox.engine.eventlog import EventLog


def test_bounded_and_since_returns_exactly_the_new_events():
    log = EventLog(keep=8)
    seen = 0
    for i in range(1000):
        log.append(f"e{i}")
        if i % 5 == 4:
            new, seen = log.since(seen)
            assert new == [f"e{j}" for j in range(i - 4, i + 1)]
    assert len(log) == 8 and log.total == 1000 and "e999" in log and "e0" not in log


def test_a_slow_reader_gets_what_is_kept():
    log = EventLog(keep=4)
    for i in range(10):
        log.append(str(i))
    assert log.since(0) == (["6", "7", "8", "9"], 10)
    assert log.since(10) == ([], 10)
