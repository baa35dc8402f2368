"""LatentRateConverter: causal reads at exact rational positions; codes held, never interpolated."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ravebox.engine.latent_rate import LatentRateConverter, causal_delay


def _ramp(a: int, b: int) -> np.ndarray:
    return np.arange(a, b, dtype=np.float32)[None]


def test_equal_rates_pass_frames_through():
    c = LatentRateConverter(3, Fraction(1))
    z = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    c.push(z)
    assert np.array_equal(c.pull(5), z[:, :5]) and np.array_equal(c.pull(3), z[:, 5:])
    assert c.late == 0


def test_equal_rates_whole_and_split_blocks_read_the_same_stream():
    """The identity's whole-block shortcut and its split reads give one stream, with the same counts."""
    rng = np.random.default_rng(3)
    blocks = [rng.standard_normal((2, m)).astype(np.float32) for m in (4, 4, 3, 5, 4, 4)]
    whole, split = LatentRateConverter(2, Fraction(1)), LatentRateConverter(2, Fraction(1))
    got_whole, got_split = [], []
    for z in blocks:
        whole.push(z)
        got_whole.append(whole.pull(z.shape[1]))
        split.push(z)
        got_split.append(split.pull(3))
    got_split.append(split.pull(whole.pulled - split.pulled))
    stream = np.concatenate(blocks, axis=1)
    assert np.array_equal(np.concatenate(got_whole, axis=1), stream)
    assert np.array_equal(np.concatenate(got_split, axis=1), stream)
    assert (whole.pushed, whole.pulled, whole.late) == (split.pushed, split.pulled, split.late) == (24, 24, 0)


@pytest.mark.parametrize("step", [Fraction(1), Fraction(441, 120)])
def test_a_pull_of_no_frames_reads_nothing_queued_or_not(step):
    c = LatentRateConverter(3, step)
    assert c.pull(0).shape == (3, 0)                 # nothing pushed yet
    c.push(np.ones((3, 4), np.float32))
    assert c.pull(0).shape == (3, 0) and c.pulled == 0 and c.late == 0
    assert c.pull(1).shape == (3, 1)                 # the queue is untouched by the empty read


@pytest.mark.parametrize("step,delay", [(Fraction(441, 120), Fraction(9, 2)), (Fraction(120, 441), Fraction(1)),
                                        (Fraction(4), Fraction(3)), (Fraction(1, 4), Fraction(0))])
def test_a_ramp_reads_back_its_exact_positions(step, delay):
    """Source frame i holds the value i: target frame k must read ``k * step - delay``."""
    c = LatentRateConverter(1, step, delay)
    pushed, out = 0, []
    for k in range(300):
        need = int(np.floor(float(k * step - delay))) + 2
        if need > pushed:
            c.push(_ramp(pushed, need))
            pushed = need
        out.append(c.pull(1)[0, 0])
    expected = [max(0.0, float(k * step - delay)) if k * step - delay >= 0 else 0.0 for k in range(300)]
    assert np.allclose(out, expected, atol=1e-3)
    assert c.late == 0


def test_codes_are_held_never_interpolated():
    c = LatentRateConverter(2, Fraction(3, 7), hold=True)
    codes = np.random.default_rng(1).integers(0, 16, size=(2, 50)).astype(np.float32)
    c.push(codes)
    out = c.pull(100)
    assert set(np.unique(out)) <= set(np.unique(codes)) | {0.0}
    for k in range(100):
        assert np.array_equal(out[:, k], codes[:, (k * 3) // 7])


def test_ten_hours_of_frames_land_on_the_exact_position():
    """Integer positions: after ten hours at 48 kHz / 2048 reading 44.1 kHz / 512 frames, no drift."""
    step = Fraction(2048 * 44100, 48000 * 512)
    c = LatentRateConverter(1, step)
    frames = 10 * 3600 * 48000 // 2048
    chunk = 1000
    pushed = 0
    for start in range(0, frames, chunk):
        count = min(chunk, frames - start)
        need = int((start + count - 1) * step) + 2
        c.push(_ramp(pushed, need) % 1000)  # small values keep float32 exact
        pushed = need
        last = c.pull(count)
    k = frames - 1
    assert last[0, -1] == pytest.approx(float(k * step) % 1000, abs=1e-2)
    assert c.late == 0
    assert c._frames.shape[1] <= 10  # only the frames not yet read stay


def test_a_read_before_the_source_exists_is_counted_and_held():
    c = LatentRateConverter(1, Fraction(1, 2), hold=False)
    c.push(_ramp(0, 2))
    out = c.pull(6)  # positions 0 .. 2.5: 2 and 2.5 are past the newest frame (1)
    assert c.late == 2 and out[0, -1] == 1.0


def test_causal_delay_is_the_smallest_that_keeps_reads_available():
    # encoder 44.1k/512 in a 48k box of 2230-frame blocks, decoder 48k/2048
    n = 2230

    def available(calls):
        return (calls * n * 44100 // 48000) // 512

    def needed(calls):
        return -(-(calls * n) // 2048)      # ceil(calls * n / 2048)

    step = Fraction(2048 * 44100, 48000 * 512)
    delay = causal_delay(available, needed, step, 5000)
    calls = np.arange(1, 5001)
    e, k = available(calls), needed(calls)
    last = (k - 1) * step.numerator / step.denominator - float(delay)
    assert np.all(last <= e - 1 + 1e-9)
    assert np.any(last > e - 1 - 1e-3 - 1.0 / step.denominator)  # tight: one step less would fail
    assert causal_delay(lambda c: c * 4, lambda c: c * 4, Fraction(1), 100) == 0


def test_bad_steps_are_refused():
    with pytest.raises(ValueError):
        LatentRateConverter(1, Fraction(0))
