"""Pure parts of the host: rings, the 64-bit timeline, gain ramps, the audio path's late handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ravebox.host.audiopath import AudioPath, GainRamp, GraphIO
from ravebox.host.rings import AudioRing, ByteRing, MidiRing
from ravebox.host.timeline import MASK32, Timeline


@given(st.integers(0, 10_000), st.integers(1, 300))
def test_audio_ring_round_trip_across_the_wrap(frame, n):
    ring = AudioRing(2, 512)
    block = np.arange(2 * n, dtype=np.float32).reshape(2, n)
    n = min(n, 512)
    ring.write(frame, block[:, :n])
    out = np.zeros((2, n), np.float32)
    ring.read(frame, out)
    assert np.array_equal(out, block[:, :n])
    assert ring.written == frame + n


def test_midi_ring_fifo_drop_and_oversize():
    ring = MidiRing(slots=4, max_bytes=3)
    assert ring.push(10, 0, b"\xb0\x07\x40")
    assert not ring.push(11, 1, b"\xf0\x01\x02\x03\xf7")    # SysEx longer than a slot
    for i in range(3):
        assert ring.push(12 + i, 1, memoryview(b"\xf8"))
    assert not ring.push(20, 0, b"\xfa")                     # full: dropped, never blocks
    assert (ring.dropped, ring.oversized, len(ring)) == (1, 1, 4)
    assert ring.pop() == (10, 0, b"\xb0\x07\x40")
    assert [ring.pop()[0] for _ in range(3)] == [12, 13, 14]
    assert ring.pop() is None


def test_byte_ring_peeks_without_copying():
    ring = ByteRing(slots=2)
    ring.push(0, 0, b"\x90\x3c\x7f")
    view = ring.peek_view()
    assert bytes(view) == b"\x90\x3c\x7f"
    ring.advance()
    assert ring.peek_view() is None


def test_timeline_unwraps_32_bit_frame_time():
    tl = Timeline(48000)
    lft = MASK32 - 300
    assert tl.on_cycle(lft, 256) == lft
    assert tl.on_cycle((lft + 256) & MASK32, 256) == lft + 256
    assert tl.on_cycle((lft + 512) & MASK32, 256) == lft + 512        # past 2**32


def test_timeline_follows_skips_but_never_goes_back():
    tl = Timeline(48000)
    assert tl.on_cycle(1000, 256) == 1000
    assert tl.on_cycle(1000 + 3 * 256, 256) == 1000 + 3 * 256         # JACK skipped us twice
    assert tl.skips == 1
    assert tl.on_cycle(1000 + 3 * 256, 256) == 1000 + 4 * 256         # a late, repeated reading
    assert tl.repeats == 1


def test_timeline_continues_across_a_new_server():
    tl = Timeline(48000)
    tl.on_cycle(5_000_000, 256)
    tl.new_session()
    assert tl.on_cycle(0, 256) >= 5_000_000                           # the new server counts from 0


def test_gain_ramp_is_linear_and_reaches_target():
    ramp = GainRamp(48000, 1024, ms=1.0)
    ramp.set_target(0.0)
    block = np.ones((1, 96), np.float32)
    ramp.apply(block, 96)
    assert block[0, -1] == 0.0 and ramp.settled
    steps = np.diff(block[0, :48])
    assert np.allclose(steps, -1 / 48, atol=1e-6)


def make_path(late_policy="dry"):
    path = AudioPath([GraphIO("g", 1, 1)], 48000, block=512, period=128, headroom_periods=1,
                     engine_latency=0, late_policy=late_policy, max_period=256)
    path.start_at(0)
    return path


def cycle(path, frame, value):
    ins = [[np.full(128, value, np.float32)]]
    outs = [[np.zeros(128, np.float32)]]
    path.cycle(frame, 128, ins, outs)
    return outs[0][0]


def test_late_block_plays_delayed_dry_and_counts_once():
    path = make_path("dry")
    frames = range(0, 4096, 128)
    outs = {f: cycle(path, f, float(f)) for f in frames}
    # no worker ran: every block after the first is late, counted once per block
    late = path.late_blocks
    assert late == len(range(0, 4096 - path.delay, 512)) - 1
    f = 2048
    assert np.all(outs[f] == float(f - path.latency))                 # the dry input from H frames back


def test_committed_block_plays_wet_and_silence_policy():
    path = make_path("silence")
    for f in range(0, 1024, 128):
        cycle(path, f, 1.0)
    buf = [np.zeros((1, 512), np.float32)]
    path.read_block(512, buf)
    path.write_wet(512, 0, np.full((1, 512), 0.25, np.float32))
    path.commit(512)
    start = 512 + path.delay
    for f in range(1024, start, 128):
        assert np.all(cycle(path, f, 1.0) == 0.0)                      # late and silence policy
    assert np.all(cycle(path, start, 1.0) == 0.25)                     # block 1 arrives on time
    assert np.all(path.inputs[0].data[0, 512:1024] == 1.0)


@pytest.mark.parametrize("n", [64, 128])
def test_gap_zero_fills_missing_input(n):
    path = make_path()
    cycle(path, 0, 1.0)
    path.gap(1024)
    buf = np.zeros((1, 512), np.float32)
    path.inputs[0].read(512, buf)
    assert np.all(buf == 0.0)
