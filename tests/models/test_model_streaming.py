"""Streaming continuity, warm-up + reset, and the engine-facing facts of each model.

Continuity: N consecutive blocks through a streaming model must equal one long
call. RAVE's decode is deterministic for the test models (their dropped latent
components carry no variance), so it is compared to float tolerance. RAVE's
encode samples its posterior (``randn``), so the chunked encode is compared
statistically with the posterior noise itself, under a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ravebox.models import PriorModel, RaveModel, load_model

DECODERS = ["rave_a", "rave_b", "combined_a", "v1_like", "nntilde15_like"]


def _latents(model: RaveModel, frames: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, model.latent_size, frames, generator=generator)


def _audio(samples: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 48000
    tone = 0.3 * torch.sin(2 * torch.pi * 220 * t)
    return (tone + 0.05 * torch.randn(samples, generator=generator)).reshape(1, 1, -1)


@pytest.fixture(scope="module", params=DECODERS)
def rave(request, models_dir) -> RaveModel:
    return load_model(models_dir / f"{request.param}.ts", sample_rate=48000)


def test_decode_blocks_equal_one_long_call(rave):
    z = _latents(rave, 12)
    rave.reset()
    whole = rave.decode(z)
    rave.reset()
    blocks = torch.cat([rave.decode(z[..., i:i + 3]) for i in range(0, 12, 3)], -1)
    assert whole.shape == (1, 1, 12 * 2048)
    assert float(whole.abs().max()) > 1e-4  # not trivially silent
    np.testing.assert_allclose(blocks.numpy(), whole.numpy(), atol=1e-5, rtol=1e-4)


def test_encode_blocks_match_one_long_call_up_to_posterior_noise(rave):
    x = _audio(8 * 2048)
    torch.manual_seed(1)
    rave.reset()
    whole = rave.encode(x)
    rave.reset()
    again = rave.encode(x)
    rave.reset()
    blocks = torch.cat([rave.encode(x[..., i:i + 2048]) for i in range(0, x.shape[-1], 2048)], -1)
    assert blocks.shape == whole.shape == (1, rave.latent_size, 8)
    noise = float((again - whole).abs().mean())
    if noise == 0.0:  # deterministic encoder (the synthetic models): exact
        np.testing.assert_allclose(blocks.numpy(), whole.numpy(), atol=1e-5)
    else:
        assert float((blocks - whole).abs().mean()) < 1.3 * noise


def test_reset_after_warm_up_equals_a_fresh_load(models_dir):
    path = models_dir / "rave_a.ts"
    fresh = load_model(path, warm_up=False)
    warmed = load_model(path)  # warm-up, then snapshot restore
    z = _latents(fresh, 4, seed=3)
    x = _audio(4 * 2048, seed=3)
    outputs = []
    for model in (fresh, warmed):
        torch.manual_seed(7)
        outputs.append((model.decode(z), model.encode(x)))
    np.testing.assert_array_equal(outputs[0][0].numpy(), outputs[1][0].numpy())
    np.testing.assert_array_equal(outputs[0][1].numpy(), outputs[1][1].numpy())
    for _ in range(3):  # dirty the stream, then reset again
        warmed.decode(_latents(warmed, 2, seed=9))
    warmed.reset()
    torch.manual_seed(7)
    np.testing.assert_array_equal(warmed.decode(z).numpy(), outputs[0][0].numpy())


def test_without_reset_the_stream_state_matters(models_dir):
    """The reset is not a no-op: a dirty stream decodes the same latents differently."""
    model = load_model(models_dir / "rave_a.ts", warm_up=False)
    z = _latents(model, 2, seed=4)
    clean = model.decode(z)
    model.decode(_latents(model, 4, seed=5))
    assert float((model.decode(z) - clean).abs().max()) > 1e-6


@pytest.fixture(scope="module")
def prior(models_dir) -> PriorModel:
    return load_model(models_dir / "prior_a.ts")


def _tokens(z: torch.Tensor, num_tokens: int = 64) -> torch.Tensor:
    """msprior's quantiser (continuous latents -> token ids), to compare listen-mode outputs."""
    p = 0.5 * (1 + torch.erf(z / 2 / np.sqrt(2)))
    return torch.floor(p * num_tokens - 1).long()


def test_prior_listen_blocks_equal_one_call_in_tokens(prior):
    z = torch.randn(1, prior.in_latents, 24, generator=torch.Generator().manual_seed(2))
    prior.reset()
    whole = prior.forward(z)
    prior.reset()
    blocks = torch.cat([prior.forward(z[..., i:i + 4]) for i in range(0, 24, 4)], -1)
    assert whole.shape == blocks.shape == (1, 8, 24)
    assert torch.equal(_tokens(blocks), _tokens(whole))
    # listen mode follows the input: its tokens come back (msprior's quantiser is off by one)
    assert torch.equal(_tokens(whole), _tokens(z).clamp(0, 64) - 1)


def test_prior_streams_past_its_attention_window_and_generates(prior):
    prior.reset()
    z = torch.zeros(1, prior.in_latents, 4)
    for _ in range(12):  # 48 steps > the 32-step window
        prior.forward(z)
    prior.set_listen(False)
    try:
        latents, extras = prior.forward_with_extras(z)
    finally:
        prior.set_listen(True)
    assert latents.shape == (1, 8, 4) and extras.shape == (1, 1, 4)
    assert torch.isfinite(latents).all()


def test_prior_reset_equals_fresh_load(models_dir, prior):
    fresh = load_model(models_dir / "prior_a.ts", warm_up=False)
    prior.reset()
    z = torch.randn(1, 8, 6, generator=torch.Generator().manual_seed(6))
    outs = []
    for model in (fresh, prior):
        torch.manual_seed(11)
        outs.append(model.forward_with_extras(z))
    for a, b in zip(outs[0], outs[1]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_combined_file_resets_its_halves_independently(models_dir):
    """msprior combine test-calls the prior before saving: the file starts 4 steps into its cache."""
    model = load_model(models_dir / "combined_a.ts")
    assert isinstance(model.prior, PriorModel) and model.prior.latent_size == model.latent_size == 8
    key = "prior_model.decoder.net.0.attention._cache_length"

    def cache_length() -> int:
        return int(dict(model.module.named_buffers())[key])

    assert cache_length() == 4
    model.prior.forward(torch.randn(1, 8, 4))
    assert cache_length() == 8
    model.reset()  # the RAVE half only
    assert cache_length() == 8
    model.prior.reset()
    assert cache_length() == 4


def test_nan_model_produces_what_the_safety_stage_must_scrub(models_dir):
    model = load_model(models_dir / "nan_a.ts", sample_rate=48000, warm_up=False)  # warm-up refuses it
    y = model.decode(torch.zeros(1, 8, 1)).flatten()
    assert torch.isnan(y[0::4]).all() and (y[1::4] == float("inf")).all()
    assert (y[2::4] == float("-inf")).all() and (y[3::4] == 1.0e6).all()


def test_load_model_pins_torch_to_one_thread_by_default(models_dir):
    torch.set_num_threads(2)
    load_model(models_dir / "v1_like.ts", warm_up=False)
    assert torch.get_num_threads() == 1
    load_model(models_dir / "v1_like.ts", warm_up=False, num_threads=None)
    assert torch.get_num_threads() == 1
