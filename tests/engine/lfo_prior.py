"""A rate-sensitive plain-torch prior (built in tests, not committed): ``LfoPrior``.

Why: MSPrior exports carry no sample rate and real priors are not periodic, so nothing
shows whether a prior's frames are converted to its decoder's frame rate. This one
ignores its input and generates ``[0.3 + 0.2 sin(2 pi f t), 0]`` with ``t`` its own
frame clock (``frame * ratio / sr``): driving a tone probe decoder, whose output level
is ``|z0 + 0.25|``, the level swings at ``f`` Hz of real time only if every prior frame
lands on the right decoder frames. Phase from an integer frame counter (exact forever).
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import torch


class LfoPrior(torch.nn.Module):
    def __init__(self, sr: int, ratio: int, lfo_hz: int, with_rate: bool) -> None:
        super().__init__()
        self.clock_rate, self.ratio, self.lfo_hz, self.with_rate = sr, ratio, lfo_hz, with_rate
        self.num_rave_quantizers = 2
        self.temperature = 1.0
        self.listen = True
        self.register_buffer("forward_params", torch.tensor([2, ratio, 2, 1]))
        self.register_buffer("_cache_frame", torch.zeros(1, dtype=torch.long))   # a cache: "streaming"

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["forward"]

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["temperature", "listen"]

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return self.clock_rate if self.with_rate else 0

    @torch.jit.export
    def set_temperature(self, temperature: float) -> int:
        self.temperature = temperature
        return 0

    @torch.jit.export
    def get_temperature(self) -> float:
        return self.temperature

    @torch.jit.export
    def set_listen(self, listen: bool) -> int:
        self.listen = listen
        return 0

    @torch.jit.export
    def get_listen(self) -> bool:
        return self.listen

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        k = z.shape[-1]
        frames = self._cache_frame + torch.arange(k)
        self._cache_frame.copy_(self._cache_frame + k)
        phase = (frames * self.ratio * self.lfo_hz) % self.clock_rate
        lfo = 0.3 + 0.2 * torch.sin(phase.double() * (2.0 * 3.141592653589793 / self.clock_rate))
        out = torch.zeros(z.shape[0], 2, k)
        out[:, 0] = lfo.float()
        return out


def save_lfo_prior(path: Path, sr: int, ratio: int, lfo_hz: int = 5, with_rate: bool = True) -> Path:
    torch.jit.script(LfoPrior(sr, ratio, lfo_hz, with_rate)).save(str(path))
    return path
