"""GraphHealth: which wet blocks count as bad (non-finite or beyond +18 dBFS), and the run of them."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.engine.health import GraphHealth
from ravebox.levels import HUGE


def _block(value: float, at: int = 777, channels: int = 2, n: int = 2048) -> np.ndarray:
    y = (0.5 * np.random.default_rng(at).standard_normal((channels, n))).clip(-1, 1).astype(np.float32)
    y[at % channels, at % n] = value
    return y


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.nextafter(np.float32(HUGE), np.float32(np.inf)), -2 * HUGE, 1e30])
@pytest.mark.parametrize("at", [0, 777, 4095])
def test_one_bad_sample_anywhere_counts_the_block(value, at):
    h = GraphHealth()
    assert h.checked(_block(value, at)) == 1 and h.bad_blocks == 1


@pytest.mark.parametrize("value", [HUGE, -HUGE, 0.0, 1e-38])
def test_values_up_to_the_clamp_are_fine(value):
    h = GraphHealth()
    assert h.checked(_block(value)) == 0 and h.bad_blocks == 0


def test_a_good_block_ends_the_run_and_an_empty_block_is_good():
    h = GraphHealth()
    assert [h.checked(_block(np.nan, i)) for i in range(3)] == [1, 2, 3]
    assert h.checked(np.zeros((1, 0), np.float32)) == 0 and h.bad_blocks == 3
    assert h.checked(_block(np.inf)) == 1 and h.checked(_block(0.25)) == 0 and h.bad_blocks == 4
