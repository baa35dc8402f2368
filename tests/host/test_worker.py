"""The inference worker alone, without JACK: the audio path's rings are fed by calling its cycle directly.

The engine contract (``WorkerEngine``): a graph whose model fails is the engine's to mute
(``failed``); an exception out of ``process`` is one the engine could not pin on a graph,
so the worker mutes every graph (with the declick fade) and keeps running.
"""

from __future__ import annotations

import numpy as np

from ravebox.host.audiopath import AudioPath, GraphIO
from ravebox.host.worker import InferenceWorker
from ravebox.params.store import ParamStore
from tests.host.standins import PassEngine

GRAPHS = [GraphIO("a", 1, 1), GraphIO("b", 1, 1)]
BLOCK = PERIOD = 256


class Raising(PassEngine):
    def process(self, inputs, start_frame, store, clock):
        super().process(inputs, start_frame, store, clock)
        raise RuntimeError("the engine itself exploded")


def fed_path(periods: int) -> AudioPath:
    path = AudioPath(GRAPHS, 48000, BLOCK, PERIOD, headroom_periods=4, engine_latency=0)
    ins = [[np.full(PERIOD, 0.5, np.float32)] for _ in GRAPHS]
    outs = [[np.zeros(PERIOD, np.float32)] for _ in GRAPHS]
    path.start_at(0)
    for i in range(periods):
        path.cycle(i * PERIOD, PERIOD, ins, outs)
    return path


def worker_for(engine, path: AudioPath) -> InferenceWorker:
    return InferenceWorker(lambda: path, engine, ParamStore({g.name: 8 for g in GRAPHS}, 48000), lambda: None)


def test_a_graph_the_engine_muted_fades_and_the_other_plays():
    path, engine = fed_path(3), PassEngine(GRAPHS, block_size=BLOCK)
    engine.fail_graph = "a"
    worker = worker_for(engine, path)
    worker._drain(path)
    assert worker.progress >= 2 and worker.errors == 0 and worker.muted == set()
    assert [m.target for m in path.mutes] == [0.0, 1.0]


def test_an_exception_out_of_process_mutes_every_graph_once_and_unmute_restores_them():
    path, engine = fed_path(3), Raising(GRAPHS, block_size=BLOCK)
    worker = worker_for(engine, path)
    worker._drain(path)
    assert worker.muted == {"a", "b"} and worker.errors == worker.progress >= 2
    assert worker.last_error == "RuntimeError: the engine itself exploded"
    assert [m.target for m in path.mutes] == [0.0, 0.0]
    worker.unmute(path)
    assert worker.muted == set() and [m.target for m in path.mutes] == [1.0, 1.0]
