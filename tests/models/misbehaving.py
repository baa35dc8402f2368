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

import torch

from tests.models.nntilde import NnTildeCodec

MODES = {"fine": 0, "square": 1, "huge": 2, "raise": 3, "nan_after": 4}


class Misbehaving(NnTildeCodec):
    def __init__(self, mode: int, limit: int) -> None:
        super().__init__()
        self.mode = mode
        self.limit = limit

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


def write_model(folder: Path, mode: str, limit: int = 0, name: str | None = None) -> Path:
    """Script and save one misbehaving model; returns its path."""
    path = folder / (name or f"{mode}.ts")
    torch.jit.script(Misbehaving(MODES[mode], limit)).save(str(path))
    return path
