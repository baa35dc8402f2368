"""A model whose warm-up output would buzz or blow up is refused at load, with its reason."""

from __future__ import annotations

import pytest
import torch

from ravebox.errors import ModelError
from ravebox.models import load_model
from ravebox.models.vetting import output_problem
from tests.models.misbehaving import write_model


def test_the_nan_model_is_refused_at_warm_up(models_dir):
    with pytest.raises(ModelError, match=r"nan_a\.ts: refused: warm-up decode output has \d+ NaN/infinite"):
        load_model(models_dir / "nan_a.ts", sample_rate=48000)


@pytest.mark.parametrize(("mode", "reason"), [
    ("square", r"turns silence into a full-scale signal \(0\.0 dBFS rms\)"),
    ("huge", r"output peaks at 1e\+03, beyond 8"),
    ("raise", r"warm-up decode raised .*Error.*this model is broken"),
])
def test_misbehaving_models_are_refused_with_their_reason(tmp_path, mode, reason):
    with pytest.raises(ModelError, match=reason):
        load_model(write_model(tmp_path, mode), sample_rate=48000)


def test_a_torchscript_raise_is_not_a_runtime_error_but_still_refuses(tmp_path):
    """``torch.jit.Error`` escaped the swap's ``except RuntimeError`` before."""
    model = load_model(write_model(tmp_path, "raise"), sample_rate=48000, warm_up=False)
    with pytest.raises(Exception) as caught:
        model.decode(torch.zeros(1, 8, 1))
    assert not isinstance(caught.value, ModelError)
    with pytest.raises(ModelError):
        model.warm_up()


@pytest.mark.parametrize("name", ["rave_a.ts", "rave_b.ts", "combined_a.ts", "prior_a.ts", "v1_like.ts",
                                  "nntilde15_like.ts"])
def test_every_healthy_committed_model_still_loads(models_dir, name):
    load_model(models_dir / name, sample_rate=48000)


def test_a_model_that_turns_bad_later_passes_warm_up(tmp_path):
    model = load_model(write_model(tmp_path, "nan_after", limit=3), sample_rate=48000)
    outs = [model.decode(torch.zeros(1, 8, 1)) for _ in range(4)]
    assert all(torch.isfinite(y).all() for y in outs[:3]) and torch.isnan(outs[3]).all()


@pytest.mark.parametrize("seed", range(8))
def test_quiet_noise_is_never_refused(seed):
    g = torch.Generator().manual_seed(seed)
    y = 0.3 * torch.randn(1, 2, 4096, generator=g)
    assert output_problem(y, "decode", from_silence=True) is None
    assert output_problem(y * 1e30, "encode", audio=False) is None
    assert "NaN/infinite" in output_problem(y * float("inf"), "encode", audio=False)
