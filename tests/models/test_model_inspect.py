"""Introspection facts of every committed model, compared with what the export asked for."""

from __future__ import annotations

import json

import pytest
import torch

from ravebox.models import inspect_model
from ravebox.service import cli

RAVE_ATTRIBUTES = {"learn_target", "reset_target", "learn_source", "reset_source"}
PRIOR_ATTRIBUTES = {"temperature": ("float", 1.0), "listen": ("bool", True),
                    "learn_context": ("bool", False), "reset": ("bool", False)}


@pytest.mark.parametrize("name", ["rave_a", "rave_b"])
def test_rave_exports_match_their_recipe(models_dir, recipes, name):
    recipe = recipes["rave"][name]
    info = inspect_model(models_dir / f"{name}.ts")
    keep = recipe["keep"]
    assert (info.kind, info.sample_rate, info.ratio) == ("rave", 48000, 2048)
    assert (info.latent_size, info.full_latent_size) == (keep, recipe["full_latent"])
    assert info.streaming and info.cache_buffers > 0
    assert info.methods["encode"].__dict__ == dict(in_channels=1, in_ratio=1, out_channels=keep, out_ratio=2048)
    assert info.methods["decode"].__dict__ == dict(in_channels=keep, in_ratio=2048, out_channels=1, out_ratio=1)
    assert set(info.attributes) == RAVE_ATTRIBUTES
    assert all(a.types == ("bool",) for a in info.attributes.values())
    assert info.sources == {"methods": "get_methods()", "attributes": "get_attributes()", "sample_rate": "sr"}


def test_the_two_raves_disagree_on_latent_count(models_dir):
    a, b = (inspect_model(models_dir / f"rave_{x}.ts") for x in "ab")
    assert (a.latent_size, b.latent_size) == (8, 16)


def test_prior_export(models_dir, recipes):
    info = inspect_model(models_dir / "prior_a.ts")
    keep = recipes["rave"][recipes["prior"]["on"]]["keep"]
    assert info.kind == "prior"
    assert info.sample_rate is None  # msprior stores none; the host does not refuse it
    assert (info.ratio, info.in_latents, info.latent_size, info.prior_ratio) == (2048, keep, keep, 2048)
    assert info.methods["forward"].out_channels == keep + 1  # + perplexity
    assert "SEQ_LEN=32" in recipes["prior"]["bindings"] and info.max_prior_steps == 32
    assert {n: (a.types[0], a.value) for n, a in info.attributes.items()} == PRIOR_ATTRIBUTES
    assert info.streaming


def test_combined_file_is_both(models_dir):
    info = inspect_model(models_dir / "combined_a.ts")
    assert info.kind == "combined"
    assert set(info.methods) == {"encode", "decode", "forward", "prior"}
    assert (info.sample_rate, info.sources["sample_rate"]) == (48000, "rave_model.sr")
    assert (info.latent_size, info.full_latent_size, info.in_latents) == (8, 16, 8)
    assert set(info.attributes) == set(PRIOR_ATTRIBUTES)


def test_non_streaming_export_is_detected(models_dir):
    info = inspect_model(models_dir / "rave_a_nostream.ts")
    assert (info.kind, info.streaming, info.cache_buffers, info.latent_size) == ("rave", False, 0, 8)


def test_v1_fallbacks(models_dir):
    info = inspect_model(models_dir / "v1_like.ts")
    assert info.sources == {"methods": "<method>_params scan", "attributes": "set_<attr> scan",
                            "sample_rate": "sampling_rate"}
    assert set(info.methods) == {"encode", "decode", "forward"}
    assert (info.kind, info.sample_rate, info.ratio, info.latent_size, info.full_latent_size) == (
        "rave", 48000, 2048, 8, 16)  # v1 buffer latent_size = full count
    assert info.attributes == {}


def test_nn_tilde_1_5_fallbacks(models_dir):
    info = inspect_model(models_dir / "nntilde15_like.ts")
    assert "none" not in info.attributes
    assert info.attributes["gain"].types == ("float",) and info.attributes["gain"].value == 1.0
    assert (info.sample_rate, info.sources["sample_rate"]) == (48000, "sr")
    assert (info.latent_size, info.full_latent_size) == (8, 16)


def test_inspect_json_has_the_documented_keys(models_dir, capsys):
    assert cli.main(["inspect", str(models_dir / "prior_a.ts"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("kind", "sample_rate", "ratio", "latent_size", "full_latent_size", "methods",
                "attributes", "streaming"):
        assert key in data
    assert data["methods"]["forward"] == {"in_channels": 8, "in_ratio": 2048, "out_channels": 9, "out_ratio": 2048}
    assert data["attributes"]["temperature"] == {"types": ["float"], "value": 1.0}


def test_inspect_text_and_refusal(models_dir, tmp_path, capsys):
    assert cli.main(["inspect", str(models_dir / "rave_b.ts")]) == 0
    out = capsys.readouterr().out
    assert "kind              rave" in out and "latent size       16 (full 32)" in out
    bad = tmp_path / "notes.ts"
    bad.write_text("not a model")
    assert cli.main(["inspect", str(bad)]) == 1
    assert "not a TorchScript file" in capsys.readouterr().err


class _Quantizer(torch.nn.Module):
    """What RAVE's discrete export keeps of its residual VQ: the codebook size."""

    def __init__(self) -> None:
        super().__init__()
        self.n_codes = 1024

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.clamp(z, 0, self.n_codes - 1)


class _DiscreteRave(torch.nn.Module):
    """A plain-torch stand-in for a ``discrete`` RAVE export (4 quantizers, ratio 2048)."""

    def __init__(self) -> None:
        super().__init__()
        self.quantizer = _Quantizer()
        self.register_buffer("encode_params", torch.tensor([1, 1, 4, 2048]))
        self.register_buffer("decode_params", torch.tensor([4, 2048, 1, 1]))
        self.register_buffer("freeze_params", torch.tensor([0]))
        self.sr = 48000

    @torch.jit.export
    def get_attributes(self) -> list[str]:
        return ["freeze"]

    @torch.jit.export
    def get_freeze(self) -> tuple[bool]:   # nn~ getters return one value per declared type
        return (False,)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 4, x.shape[-1] // 2048)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], 1, z.shape[-1] * 2048) + self.quantizer(z).sum() * 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def test_inspect_says_a_discrete_model_decodes_codes(tmp_path, capsys):
    path = tmp_path / "discrete.ts"
    torch.jit.script(_DiscreteRave()).save(str(path))
    assert inspect_model(path).codebook_size == 1024
    assert cli.main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "latent size       4 codes per step (discrete: decode takes code indices 0..1023" in out
    assert "(full" not in out
    assert "freeze          bool = False" in out and "(False,)" not in out


def test_inspect_the_committed_discrete_probe(models_dir, capsys):
    assert cli.main(["inspect", str(models_dir / "codes_44k_2048.ts")]) == 0
    assert "latent size       2 codes per step (discrete: decode takes code indices 0..15" in capsys.readouterr().out
