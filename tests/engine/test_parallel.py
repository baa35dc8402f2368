"""Graphs in parallel: the pool runs tasks concurrently and in order; the engine's output keeps its shape and sound."""

import threading

import numpy as np
import pytest
from helpers import make_engine, run

from ravebox.engine.parallel import GraphPool
from ravebox.params.table import ParamKey

TWO = """
[graphs.x]
kind = "prior"
prior = "p"
decoder = "a"
[graphs.y]
kind = "prior"
prior = "p"
decoder = "b"
"""


def test_pool_runs_tasks_on_their_own_threads_and_returns_results_in_order():
    inits = []
    pool = GraphPool(2, thread_init=lambda: inits.append(threading.current_thread().name))
    barrier = threading.Barrier(3, timeout=10)  # only passes if all three tasks run at once

    def task(i):
        def go():
            barrier.wait()
            return i, threading.current_thread().name
        return go

    try:
        results = pool.run([task(i) for i in range(3)])
        assert [r[0] for r in results] == [0, 1, 2]
        assert results[0][1] == threading.current_thread().name and len({r[1] for r in results}) == 3
        assert pool.run([lambda: "a", lambda: "b", lambda: "c", lambda: "d", lambda: "e"]) == list("abcde")
        assert sorted(inits) == ["ravebox-graph-1", "ravebox-graph-2"]
    finally:
        pool.close()


def test_a_lane_runs_torch_with_the_process_intra_op_thread_count():
    """A lane is one thread: torch's OpenMP/MKL work in it starts no team of one thread per core."""
    import os

    import torch

    def threads() -> set[str]:
        return set(os.listdir("/proc/self/task"))

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    a = torch.randn(384, 384)
    x, w = torch.randn(1, 64, 4096), torch.randn(64, 64, 3)

    def work():
        for _ in range(3):
            a @ a
            torch.nn.functional.conv1d(x, w)
        return torch.get_num_threads()

    work()
    pool = GraphPool(1)
    try:
        before = threads()
        assert pool.run([work, work]) == [1, 1]
        new = threads() - before
        assert not new    # the lane started with the pool; its GEMMs and convs added no OpenMP threads
    finally:
        pool.close()
        torch.set_num_threads(threads_before)


def test_pool_hands_back_a_lane_error_after_every_task_finished():
    pool = GraphPool(1)
    finished = []

    def fail():
        raise RuntimeError("lane broke")

    def slow():
        finished.append(True)
        return 1

    try:
        with pytest.raises(RuntimeError, match="lane broke"):
            pool.run([slow, fail])
        assert finished == [True]
        assert pool.run([lambda: 1, lambda: 2]) == [1, 2]  # still usable
    finally:
        pool.close()


def _cold(store, frame):
    if frame == 0:
        for g in ("x", "y"):
            store.set(ParamKey("prior.temperature", g), 0.0, 0, glide_ms=0)


def test_two_graphs_in_parallel_sound_like_two_graphs_in_turn(tmp_path):
    sequential = run(make_engine(tmp_path, TWO, seed=3), 8, setup=_cold)
    engine = make_engine(tmp_path, TWO, seed=3)
    assert engine.parallel_lanes >= 1
    started = engine.start_parallel()
    try:
        parallel = run(engine, 8, setup=_cold)
    finally:
        engine.stop_parallel()
    assert started == (engine.parallel_lanes > 1)
    for g in ("x", "y"):
        assert parallel[g].shape == sequential[g].shape and np.isfinite(parallel[g]).all()
        level = np.sqrt(np.mean(sequential[g] ** 2))
        assert level > 1e-5
        assert abs(np.sqrt(np.mean(parallel[g] ** 2)) - level) < 0.5 * level


def test_one_graph_never_starts_threads(tmp_path):
    engine = make_engine(tmp_path, '\n[graphs.t]\nencoder = "a"\n')
    assert engine.parallel_lanes == 1 and engine.start_parallel() is False


def test_block_p99_adds_graphs_in_turn_and_takes_the_slowest_in_parallel(tmp_path):
    engine = make_engine(tmp_path, TWO)
    assert engine.block_p99() is None
    costs = engine.measure(calls=5, budget_s=0.5)
    x, y = costs["x"].total.p99, costs["y"].total.p99
    assert np.isclose(engine.block_p99(1), x + y)
    assert np.isclose(engine.block_p99(2), max(x, y, (x + y) / 2))
