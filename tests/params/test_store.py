"""The parameter store: glides evaluated at any frame, broadcast keys, triggers, clamping."""

from __future__ import annotations

import numpy as np
import pytest

from ravebox.params.store import Glide, ParamStore
from ravebox.params.table import PARAMS, ParamKey, ParamScope

RATE = 48000


def store() -> ParamStore:
    return ParamStore({"a": 4, "b": 2}, RATE)


def test_unset_values_read_as_the_table_default():
    s = store()
    assert s.value(ParamKey("mix.wet", "a"), 0) == PARAMS["mix.wet"].default == 1.0
    assert s.value(ParamKey("latent.scale", "b", 1), 10) == 1.0
    assert s.snapshot() == {}


def test_a_change_glides_linearly_over_its_smoothing_time_from_its_own_frame():
    s = store()
    key = ParamKey("mix.wet", "a")
    s.set(key, 0.0, frame=1000, glide_ms=10.0)          # 480 frames at 48 kHz
    assert s.value(key, 999) == 1.0
    assert s.value(key, 1000) == 1.0
    assert s.value(key, 1240) == pytest.approx(0.5)
    assert s.value(key, 1480) == 0.0
    frames = np.array([1000, 1120, 1240, 1360, 1480, 5000])
    np.testing.assert_allclose(s.over(key, frames), [1.0, 0.75, 0.5, 0.25, 0.0, 0.0])
    assert s.target(key) == 0.0


def test_a_change_during_a_glide_starts_from_where_the_glide_is():
    s = store()
    key = ParamKey("out.gain_db", "a")
    s.set(key, -40.0, frame=0, glide_ms=10.0)
    s.set(key, 0.0, frame=240, glide_ms=10.0)           # halfway: -20 dB
    assert s.value(key, 240) == pytest.approx(-20.0)
    assert s.value(key, 480) == pytest.approx(-10.0)
    assert s.value(key, 720) == 0.0


def test_toggles_and_choices_never_glide_and_are_rounded():
    s = store()
    s.set(ParamKey("latent.freeze", "a"), 0.7, frame=100, glide_ms=50.0)
    assert s.value(ParamKey("latent.freeze", "a"), 100) == 1.0
    s.set(ParamKey("gate.pattern", "a"), 2.4, frame=100)
    assert s.value(ParamKey("gate.pattern", "a"), 100) == 2.0


def test_values_are_clamped_to_the_table_range():
    s = store()
    s.set(ParamKey("latent.bias", "a", 0), 99.0, frame=0, glide_ms=0.0)
    assert s.value(ParamKey("latent.bias", "a", 0), 0) == PARAMS["latent.bias"].maximum


def test_a_broadcast_key_fans_out_to_every_graph_and_dimension():
    s = store()
    s.set(ParamKey("latent.bias"), 1.5, frame=0, glide_ms=0.0)
    assert s.dims_over("latent.bias", "a", np.array([0, 10])).tolist() == [[1.5] * 4] * 2
    assert s.dims_over("latent.bias", "b", np.array([0])).tolist() == [[1.5, 1.5]]
    s.set(ParamKey("latent.bias", "b", 1), -1.0, frame=0, glide_ms=0.0)
    assert s.dims_over("latent.bias", "b", np.array([0])).tolist() == [[1.5, -1.0]]
    assert s.expand(ParamKey("latent.bias", "a", 9)) == []        # no such dimension: nothing
    assert s.expand(ParamKey("clock.bpm", "a")) == [ParamKey("clock.bpm")]
    assert PARAMS["clock.bpm"].scope is ParamScope.BOX


def test_triggers_count_instead_of_holding_a_value():
    s = store()
    key = ParamKey("loop.retrigger", "a")
    assert s.trigger_count(key) == 0
    s.set(ParamKey("loop.retrigger"), 1.0, frame=0)             # every graph
    s.set(key, 1.0, frame=10)
    assert (s.trigger_count(key), s.trigger_count(ParamKey("loop.retrigger", "b"))) == (2, 1)


def test_snapshot_lists_targets_and_restore_recalls_them():
    s = store()
    s.restore([(ParamKey("mix.wet", "a"), 0.25), (ParamKey("loop.dissolve", "b"), 0.5)], frame=0, glide_ms=100.0)
    assert s.snapshot() == {"a/mix.wet": 0.25, "b/loop.dissolve": 0.5}
    assert s.value(ParamKey("mix.wet", "a"), 0) == 1.0            # still gliding from the default


def test_a_zero_length_glide_is_a_step():
    glide = Glide(100, 0.0, 100, 1.0)
    assert (glide.at(99), glide.at(100)) == (0.0, 1.0)
    assert glide.over(np.array([0, 99, 100, 200])).tolist() == [0.0, 0.0, 1.0, 1.0]
