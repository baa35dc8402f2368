"""What the engine asks of a loaded model in each role: the contracts where the consumer lives.

The real models are :class:`ravebox.models.RaveModel` (encoder, decoder) and
:class:`ravebox.models.PriorModel` (prior); tests wrap them by delegation (a
decode that raises, a slow one, a spy on the prior). The engine tells a model's
role by these Protocols when it loads or swaps one (``isinstance`` on a
runtime-checkable Protocol checks that every member exists), never per block.

Thread: whichever loads the model (start-up, a swap thread); no state here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Codec(Protocol):
    """A RAVE model: audio <-> latents at ``ratio`` samples per latent frame."""

    sample_rate: int | None   # None: the export does not say (it then plays at the box rate)
    ratio: int
    latent_size: int
    in_channels: int
    out_channels: int
    discrete: bool            # latents are code indices: held, never interpolated

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...

    def reset(self) -> None: ...


@runtime_checkable
class Prior(Protocol):
    """An MSPrior-style prior: latents in (``in_latents``), next latents (+1 extra channel) out."""

    sample_rate: int | None
    ratio: int
    in_latents: int
    latent_size: int
    max_steps: int | None     # the attention window in frames per call (None: unlimited)

    def set_temperature(self, temperature: float) -> None: ...

    def set_listen(self, listen: bool) -> None: ...

    def forward(self, z: torch.Tensor) -> torch.Tensor: ...

    def reset(self) -> None: ...
