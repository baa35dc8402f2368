"""Per-layer conv tuning: the tuned copy computes the same stream, and reset/snapshot still work.

The small test models never gain from oneDNN, so these tests force the switch
(``min_gain`` far below zero switches every conv node oneDNN can run) to check
the rewrite itself; which nodes win on a given CPU is the benchmark's business.
"""

from __future__ import annotations

import pytest
import torch

from ravebox.models import load_model
from ravebox.models.convtune import AUTO_MIN_PARAMETERS, CONV_T, ONEDNN, wants_tuning

FORCE = -1e9  # switch every switchable node
BLOCK = 4096


def _audio(samples: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.2 * torch.randn(1, 1, samples, generator=generator)


def _count(model, kind: str) -> int:
    """Nodes of ``kind`` in the decode graph once everything is inlined (as in the frozen copy)."""
    graph = model.module.decode.graph.copy()
    torch._C._jit_pass_inline(graph)
    return sum(n.kind() == kind for n in graph.nodes())


def _stream(model, x: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode + decode ``x`` block by block from a reset stream, seeded per block."""
    model.reset()
    zs, ys = [], []
    for i in range(x.shape[-1] // block):
        torch.manual_seed(100 + i)
        z = model.encode(x[..., i * block:(i + 1) * block])
        zs.append(z)
        ys.append(model.decode(z))
    return torch.cat(zs, -1), torch.cat(ys, -1)


@pytest.fixture(scope="module", params=[("rave_a", ("onednn", "linear")), ("combined_a", ("onednn", "linear")),
                                        ("rave_a", ("gemm",)), ("combined_a", ("gemm",))],
                ids=lambda p: f"{p[0]}-{'+'.join(p[1])}")
def pair(request, models_dir):
    """(plain, force-tuned) instances of the same file, each switched node on the one path of its kind
    in ``backends``: convs to oneDNN and transposed convs to ``linear`` + fold, or both kinds to GEMM."""
    name, backends = request.param
    path = models_dir / f"{name}.ts"
    plain, tuned = load_model(path, sample_rate=48000), load_model(path, sample_rate=48000)
    report = tuned.tune_convs(BLOCK, min_gain=FORCE, backends=backends)
    return plain, tuned, report, backends


def test_forced_tuning_switches_nodes_and_keeps_the_stream(pair):
    plain, tuned, report, backends = pair
    assert report.switched > 0 and tuned._calls is not tuned.module
    nodes = [n.kind() for n in tuned._calls.decode.graph.nodes()]
    decode = [t for t in report.timings if t.method == "decode"]
    convs = [t for t in decode if not t.transposed]
    assert all(t.switched for t in convs)                    # forced: every conv node takes another path
    assert {t.backend for t in decode} == set(backends)
    assert nodes.count(ONEDNN) == sum(t.backend == "onednn" for t in convs)
    assert nodes.count("aten::unfold") == sum(t.backend == "gemm" for t in convs)   # _conv_gemm, inlined
    switched_up = sum(t.switched for t in decode if t.transposed)
    assert switched_up > 0 and "transposed convs to GEMM + fold" in report.summary()
    assert nodes.count(CONV_T) == _count(tuned, CONV_T) - switched_up
    x = _audio(BLOCK * 4, seed=3)
    z0, y0 = _stream(plain, x, BLOCK)
    z1, y1 = _stream(tuned, x, BLOCK)
    assert torch.allclose(z0, z1, atol=1e-4, rtol=1e-3)
    assert torch.allclose(y0, y1, atol=1e-4, rtol=1e-3)
    assert y0.abs().max() > 1e-4  # a real signal, not two silences


def test_reset_through_the_original_module_resets_the_tuned_copy(pair):
    _, tuned, _, _ = pair
    x = _audio(BLOCK * 3, seed=7)
    first = _stream(tuned, x, BLOCK)
    second = _stream(tuned, x, BLOCK)  # _stream resets first: the same stream again, bit for bit
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert len(list(tuned.module.named_buffers())) > 0 and tuned.streaming


def test_tuning_that_wins_nothing_keeps_the_original_module(models_dir):
    model = load_model(models_dir / "rave_a.ts", sample_rate=48000)
    report = model.tune_convs(BLOCK, min_gain=1e9)  # nothing can be infinitely faster
    assert report.switched == 0 and model._calls is model.module
    assert "0 of 55 conv layers switched (0 to oneDNN, 0 to GEMM), 0 of 4 transposed convs" in report.summary()


def test_tuning_needs_a_block_of_whole_ratios(models_dir):
    from ravebox.errors import ModelError

    model = load_model(models_dir / "rave_a.ts", sample_rate=48000)
    with pytest.raises(ModelError, match="multiple of the ratio 2048"):
        model.tune_convs(3000)


def test_auto_policy_tunes_only_large_models(models_dir):
    small = load_model(models_dir / "rave_a.ts", sample_rate=48000)
    prior = load_model(models_dir / "prior_a.ts", sample_rate=48000)
    assert small.parameter_count < AUTO_MIN_PARAMETERS
    assert not wants_tuning(small, "auto") and wants_tuning(small, "on") and not wants_tuning(small, "off")
    assert not wants_tuning(prior, "on")  # a prior has no conv tuning
    with pytest.raises(ValueError, match="auto, on, off"):
        wants_tuning(small, "fast")


def test_a_model_tuning_cannot_handle_plays_untuned_and_says_why(models_dir, monkeypatch):
    import ravebox.models.rave as rave_module

    def broken(*args, **kwargs):
        raise RuntimeError("freeze cannot handle this export")

    model = load_model(models_dir / "rave_a.ts", sample_rate=48000)
    monkeypatch.setattr(rave_module, "tune_convs", broken)
    report = model.tune_convs(BLOCK)
    assert model._calls is model.module and report.switched == 0
    assert "tuning failed, playing untuned: RuntimeError: freeze cannot handle this export" in report.summary()
    assert model.decode(torch.zeros(1, model.latent_size, 2)).shape == (1, 1, 4096)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 0, 1), (1, 3, 1), (4, 2, 1), (1, 0, 3),
                                                     (2, 1, 9), (3, 5, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_the_conv_gemm_computes_conv1d(stride, padding, dilation, bias):
    from ravebox.models.convtune import _conv_gemm

    generator = torch.Generator().manual_seed(stride * 100 + padding * 10 + dilation)
    x = torch.randn(1, 12, 61, generator=generator)
    weight = torch.randn(20, 12, 3, generator=generator)
    b = torch.randn(20, generator=generator) if bias else None
    expected = torch.conv1d(x, weight, b, stride, padding, dilation)
    got = _conv_gemm(x, weight.reshape(20, -1), b, 3, stride, padding, dilation)
    assert got.shape == expected.shape and got.is_contiguous()
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_conv_with_its_padding_as_a_string_stays_on_the_default_path():
    from ravebox.models.convtune import _time_node

    class Same(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(4, 4, 3, padding="same")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    frozen = torch.jit.freeze(torch.jit.script(Same()).eval())
    graph = frozen.graph.copy()
    torch._C._jit_pass_inline(graph)
    node = next(n for n in graph.nodes() if n.kind() in ("aten::conv1d", "aten::_convolution"))
    assert _time_node("forward", 0, node, (1, 4, 16), 0.1, 3, None) is None
