"""Plain-torch nn~-style models that misbehave in one chosen way (built in tests, not committed).

Why built here: the exporters cannot make a model that buzzes at full scale,
decodes to +60 dBFS or raises inside TorchScript; the engine and the loader
must refuse or mute exactly these. ``MODES``: ``square`` (a full-scale
square wave from any input), ``huge`` (1000.0 everywhere), ``raise`` (a
TorchScript exception in decode, i.e. ``torch.jit.Error``), ``nan_after``
(plays a quiet sine, then NaN after ``limit`` decode calls), ``fine``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import torch

MODES = {"fine": 0, "square": 1, "huge": 2, "raise": 3, "nan_after": 4}


class Misbehaving(torch.nn.Module):
    def __init__(self, mode: int, limit: int) -> None:
        super().__init__()
        self.sr = 48000
        self.ratio = 2048
        self.latent_size = 8
        self.full_latent_size = 8
        self.mode = mode
        self.limit = limit
        for method, params in (("encode", [1, 1, 8, 2048]), ("decode", [8, 2048, 1, 1]),
                               ("forward", [1, 1, 1, 1])):
            self.register_buffer(f"{method}_params", torch.tensor(params))
        self.register_buffer("_cache_calls", torch.zeros(1))  # a cache buffer: "streaming"

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
        self._cache_calls += 1
        n = z.shape[-1] * self.ratio
        t = torch.arange(n, dtype=torch.float32).reshape(1, 1, n)
        if self.mode == 1:
            return torch.where((t % 8) < 4, 1.0, -1.0).repeat(z.shape[0], 1, 1)
        if self.mode == 2:
            return torch.full((z.shape[0], 1, n), 1000.0)
        if self.mode == 3:
            raise RuntimeError("this model is broken")
        if self.mode == 4 and float(self._cache_calls[0]) > self.limit:
            return torch.full((z.shape[0], 1, n), float("nan"))
        return (0.1 * torch.sin(t * 0.05)).repeat(z.shape[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def write_model(folder: Path, mode: str, limit: int = 0, name: str | None = None) -> Path:
    """Script and save one misbehaving model; returns its path."""
    path = folder / (name or f"{mode}.ts")
    torch.jit.script(Misbehaving(MODES[mode], limit)).save(str(path))
    return path
