"""The period between a cycle's two halves: what the next cycle plays and where the stages think it plays."""

from __future__ import annotations

import numpy as np

from ravebox.host.audiopath import AudioPath, GraphIO
from ravebox.host.staging import StagedPeriod


def test_each_cycle_plays_what_the_previous_one_computed_and_keeps_its_input():
    staged = StagedPeriod(inputs=[1, 0], outputs=[2, 1], max_period=256)
    in_ports = [[np.full(128, 3.0, np.float32)], []]
    out_ports = [[np.full(128, 9.0, np.float32), np.full(128, 9.0, np.float32)], [np.full(128, 9.0, np.float32)]]
    staged.swap(128, in_ports, out_ports)
    assert all(np.all(arr == 0.0) for ports in out_ports for arr in ports)   # the first cycle: silence
    ins, outs = staged.views(128)
    assert [len(g) for g in ins] == [1, 0] and np.all(ins[0][0] == 3.0) and ins[0][0].shape == (128,)
    outs[0][0][:] = 0.5
    outs[0][1][:] = np.arange(128)
    outs[1][0][:] = -0.25
    in_ports[0][0][:] = 7.0
    staged.swap(128, in_ports, out_ports)
    assert np.all(out_ports[0][0] == 0.5) and np.array_equal(out_ports[0][1], np.arange(128, dtype=np.float32))
    assert np.all(out_ports[1][0] == -0.25) and np.all(staged.views(128)[0][0][0] == 7.0)
    assert staged.views(128) is staged.views(128)   # made once per period size
    staged.silence()
    staged.swap(128, in_ports, out_ports)
    assert all(np.all(arr == 0.0) for ports in out_ports for arr in ports)


def test_a_period_larger_than_the_staging_plays_silence():
    staged = StagedPeriod(inputs=[1], outputs=[1], max_period=64)
    out = [[np.full(128, 1.0, np.float32)]]
    staged.swap(128, [[np.ones(128, np.float32)]], out)
    assert np.all(out[0][0] == 0.0)


class RecordingStage:
    def __init__(self):
        self.frames = []

    def process(self, wet, dry, start_frame, store, clock, out, late=None):
        self.frames.append(start_frame)
        out[:] = 0.0


def test_output_stages_evaluate_parameters_and_gates_where_the_output_plays():
    path = AudioPath([GraphIO("g", 1, 1)], 48000, block=512, period=128, headroom_periods=1, engine_latency=0,
                     max_period=256)
    stage = RecordingStage()
    path.stages = [stage]
    path.start_at(0)
    for frame in (0, 128, 256):
        path.cycle(frame, 128, [[np.zeros(128, np.float32)]], [[np.zeros(128, np.float32)]], plays_at=frame + 128)
    path.cycle(384, 128, [[np.zeros(128, np.float32)]], [[np.zeros(128, np.float32)]])
    assert stage.frames == [128, 256, 384, 384]
    assert path.port_latency == path.latency + 128 == 512 + 128 + 128
