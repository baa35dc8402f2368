"""The nn~ 1.6 model interface in plain torch, written once: the base of every hand-written test model.

Why: quirks the exporters cannot make (a model that buzzes, decodes to NaN, raises, or runs at
another rate) need a module that ravebox loads as it loads a real export: ``sr``, ``ratio``,
``latent_size``/``full_latent_size``, the ``<method>_params`` buffers, ``get_methods``,
``get_attributes``, ``get_sample_rate``, and a ``_cache`` buffer so the loader sees a streaming
model. A subclass overrides ``decode`` (and ``encode`` if the frame means will not do).

Used by ``tests/models/misbehaving.py`` (built in tests) and by ``tools/make_test_models.py
--only synthetic`` (the committed ``nan_a.ts`` and the tone probes), which imports it from the
source tree: torch is all it needs.
"""

from __future__ import annotations

from typing import List

import torch


class NnTildeCodec(torch.nn.Module):
    """A mono codec with the nn~ 1.6 interface: ``encode`` gives each frame's mean on every latent,
    ``decode`` silence (override it), ``forward`` is ``decode(encode(x))``."""

    def __init__(self, sr: int = 48000, ratio: int = 2048, latent_size: int = 8) -> None:
        super().__init__()
        self.sr = sr
        self.ratio = ratio
        self.latent_size = latent_size
        self.full_latent_size = latent_size
        for method, params in (("encode", [1, 1, latent_size, ratio]), ("decode", [latent_size, ratio, 1, 1]),
                               ("forward", [1, 1, 1, 1])):
            self.register_buffer(f"{method}_params", torch.tensor(params))
        self.register_buffer("_cache_calls", torch.zeros(1))  # a cache buffer: "streaming"; decode may count in it

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode", "forward"]

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return []

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return self.sr

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1] // self.ratio
        frames = x[..., : n * self.ratio].reshape(x.shape[0], 1, n, self.ratio)
        return frames.mean(-1).repeat(1, self.latent_size, 1)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], 1, z.shape[-1] * self.ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
