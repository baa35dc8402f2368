"""Every way a model file or a call can be wrong ends in a ModelError that says what and where."""

from __future__ import annotations

import shutil
import warnings

import pytest
import torch

from ravebox.errors import ModelError
from ravebox.models import PriorModel, RaveModel, load_model


def test_text_file_is_not_torchscript(tmp_path):
    bad = tmp_path / "readme.ts"
    bad.write_text("hello")
    with pytest.raises(ModelError, match=r"readme\.ts: not a TorchScript file \(expected a zip archive"):
        load_model(bad)


def test_truncated_file(models_dir, tmp_path):
    data = (models_dir / "rave_a.ts").read_bytes()
    cut = tmp_path / "rave_a_cut.ts"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"rave_a_cut\.ts: truncated or damaged model file: the zip directory"):
        load_model(cut)


def test_corrupted_copy_is_caught_by_crc(models_dir, tmp_path):
    """torch.jit.load accepts this file silently; the archive check must not."""
    copy = tmp_path / "rave_a_corrupt.ts"
    shutil.copyfile(models_dir / "rave_a.ts", copy)
    data = bytearray(copy.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        load_model(copy)
    message = str(caught.value)
    assert message.startswith(f"{copy}: damaged model file: member 'rave_a_streaming/data/")
    assert message.endswith("fails its CRC-32 check; copy the file again")


def test_training_checkpoint_is_not_an_export(tmp_path):
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, ckpt)
    with pytest.raises(ModelError, match="a zip archive but not a TorchScript export"):
        load_model(ckpt)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match=r"no such model file"):
        load_model(tmp_path / "nope.ts")


def test_non_streaming_export_refused_unless_allowed(models_dir):
    path = models_dir / "rave_a_nostream.ts"
    with pytest.raises(ModelError, match=r"not a streaming export \(no cache buffers\)"):
        load_model(path, warm_up=False)
    model = load_model(path, allow_non_streaming=True, warm_up=False)
    assert isinstance(model, RaveModel) and not model.streaming


def test_sample_rate_mismatch(models_dir):
    with pytest.raises(ModelError, match=r"model sample rate is 48000 Hz but the host runs at 44100 Hz"):
        load_model(models_dir / "rave_a.ts", sample_rate=44100, warm_up=False)
    assert load_model(models_dir / "rave_a.ts", sample_rate=48000, warm_up=False).sample_rate == 48000


def test_prior_without_rate_loads_at_any_host_rate(models_dir):
    assert isinstance(load_model(models_dir / "prior_a.ts", sample_rate=44100, warm_up=False), PriorModel)


def test_wrong_role(models_dir):
    with pytest.raises(ModelError, match=r"cannot be used as a rave: missing nn~ method\(s\) encode, decode "
                                         r"\(found: forward\)"):
        load_model(models_dir / "prior_a.ts", role="rave", warm_up=False)
    with pytest.raises(ModelError, match="cannot be used as a prior"):
        load_model(models_dir / "rave_a.ts", role="prior", warm_up=False)


class _OnlyForward(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("_cache", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_module_without_nn_tilde_methods(tmp_path):
    path = tmp_path / "plain.ts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(_OnlyForward()).save(str(path))
    with pytest.raises(ModelError, match=r"plain\.ts: neither a RAVE model \(needs encode and decode methods\)"):
        load_model(path)


@pytest.fixture(scope="module")
def rave_a(models_dir):
    return load_model(models_dir / "rave_a.ts", sample_rate=48000, warm_up=False)


def test_encode_refuses_partial_blocks(rave_a):
    with pytest.raises(ModelError, match=r"encode needs a length that is a positive multiple of the ratio 2048, "
                                         r"got 3000; a partial block would corrupt the stream state"):
        rave_a.encode(torch.zeros(1, 1, 3000))
    with pytest.raises(ModelError, match="multiple of the ratio 2048, got 0"):
        rave_a.encode(torch.zeros(1, 1, 0))


def test_wrong_shapes(rave_a):
    with pytest.raises(ModelError, match=r"decode expects 8 channel\(s\) of latents, got 16"):
        rave_a.decode(torch.zeros(1, 16, 2))
    with pytest.raises(ModelError, match=r"encode expects audio of shape \(1, 1, n\), got \(2048,\)"):
        rave_a.encode(torch.zeros(2048))
    with pytest.raises(ModelError, match=r"decode expects latents of shape \(1, 8, n\), got \(2, 8, 1\)"):
        rave_a.decode(torch.zeros(2, 8, 1))  # the stream caches hold one batch row


@pytest.fixture(scope="module")
def prior(models_dir):
    return load_model(models_dir / "prior_a.ts", warm_up=False)


def test_prior_setter_returning_minus_one(prior):
    with pytest.raises(ModelError, match=r"prior_a\.ts: the model refused temperature=-1\.0 "
                                         r"\(set_temperature returned -1\)"):
        prior.set_temperature(-1)
    prior.set_temperature(0.5)
    assert prior.get_attribute("temperature") == 0.5
    prior.set_listen(False)
    assert prior.get_attribute("listen") is False
    prior.set_listen(True)


def test_prior_unknown_attribute(prior):
    with pytest.raises(ModelError, match="has no attribute 'gain'"):
        prior.set_attribute("gain", 1.0)


def test_prior_call_longer_than_its_window(prior):
    with pytest.raises(ModelError, match="attention window is 32 steps; a call of 40 steps"):
        prior.forward(torch.zeros(1, 8, 40))
