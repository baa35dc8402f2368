"""RaveModel: a RAVE export's ``encode``/``decode``, guarded against stream corruption.

Why guard the length: a streaming export keeps cached_conv padding buffers; a
block that is not an exact multiple of the ratio leaves them misaligned and
silently corrupts every later block. So ``encode``/``decode`` refuse such input
with a ModelError instead of letting it through.

Facts (rave 2.3.1 exports): ``encode`` samples the posterior (``randn``), so two
encodes of the same audio differ by the posterior noise; ``decode`` fills the
dims past ``latent_size`` with noise, so it is deterministic only when the
export's dropped PCA components carry no variance (true for the test models).
Both use torch's global generator: seed it (``torch.manual_seed``) for a
reproducible render.

``encode``/``decode``/``reset`` run on the inference worker thread (or the
offline render loop); construction runs on the loading thread.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ravebox.errors import ModelError
from ravebox.models.convtune import TuneReport, tune_convs
from ravebox.models.introspect import ModelInfo
from ravebox.models.state import BufferSnapshot
from ravebox.models.vetting import vetted_call

if TYPE_CHECKING:
    from ravebox.models.prior import PriorModel


class RaveModel:
    """A loaded RAVE (or combined RAVE+prior) export with exact-ratio calls and a reset."""

    def __init__(self, module: torch.jit.ScriptModule, info: ModelInfo, skip_state: str | None = None) -> None:
        """``skip_state``: buffer-name prefix left out of the reset (a combined file's prior)."""
        self.module = module
        self.info = info
        self.path = Path(info.path)
        encode, decode = info.methods["encode"], info.methods["decode"]
        self.sample_rate: int | None = info.sample_rate
        self.ratio: int = int(info.ratio or decode.in_ratio)
        self.latent_size: int = decode.in_channels
        self.full_latent_size: int = int(info.full_latent_size or self.latent_size)
        self.in_channels: int = encode.in_channels
        self.out_channels: int = decode.out_channels
        self.streaming: bool = info.streaming
        self.discrete: bool = info.discrete            # latents are code indices: hold, never interpolate
        self.codebook_size: int | None = info.codebook_size
        self.prior: PriorModel | None = None  # set by load_model for a combined file
        self._snapshot = BufferSnapshot(module, skip=skip_state)
        self._calls: torch.jit.ScriptModule = module  # what encode/decode run: module, or its tuned copy
        self.tuning: TuneReport | None = None         # the last conv tuning, if any

    def __repr__(self) -> str:
        return (f"RaveModel({self.path.name}, sr={self.sample_rate}, ratio={self.ratio}, "
                f"latent={self.latent_size}/{self.full_latent_size}, streaming={self.streaming})")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Audio ``(1, in_channels, n)`` -> latents ``(1, latent_size, n // ratio)``; ``n % ratio == 0``."""
        self._check(x, self.in_channels, "encode", "audio", self.ratio)
        with torch.inference_mode():
            z = self._calls.encode(x.float())
        return self._checked_out(z, self.latent_size, x.shape[-1] // self.ratio, "encode")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(1, latent_size, k)`` -> audio ``(1, out_channels, k * ratio)``."""
        self._check(z, self.latent_size, "decode", "latents", 1)
        with torch.inference_mode():
            y = self._calls.decode(z.float())
        return self._checked_out(y, self.out_channels, z.shape[-1] * self.ratio, "decode")

    def reset(self) -> None:
        """Restore every buffer to its state right after load (before warm-up): a clean stream."""
        self._snapshot.restore()

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def tune_convs(self, block: int, min_gain: float = 0.10, backends: Sequence[str] | None = None) -> TuneReport:
        """Loading thread: pick each conv layer's backend at ``block`` samples (see ``convtune``).

        Encode/decode then run a frozen, tuned copy; the buffers (reset, snapshot,
        streaming) stay the original module's, which the copy's constants alias.
        The stream is reset afterwards. If tuning fails, the model plays untuned and
        the report says why.
        """
        if block <= 0 or block % self.ratio:
            raise ModelError(f"{self.path}: conv tuning needs a block that is a multiple of the ratio "
                             f"{self.ratio}, got {block}")
        self._calls = self.module
        calls: dict[str, Sequence[torch.Tensor]] = {"encode": [torch.zeros(1, self.in_channels, block)],
                 "decode": [torch.zeros(1, self.latent_size, block // self.ratio)]}
        try:
            tuned, self.tuning = tune_convs(self.module, calls, self.reset, min_gain=min_gain, backends=backends)
            if tuned is not None:
                self._calls = tuned
                self.warm_up(block=block)
        except Exception as exc:  # noqa: BLE001 - an export freeze cannot handle still plays untuned
            self._calls = self.module
            self.tuning = TuneReport(reason=f"tuning failed, playing untuned: {type(exc).__name__}: {exc}")
        self.reset()
        return self.tuning

    def untune(self) -> None:
        """Run encode/decode through the original module again (``ravebox fit`` compares both)."""
        self._calls, self.tuning = self.module, None

    def warm_up(self, blocks: int = 2, block: int | None = None) -> None:
        """Pay TorchScript's first-call optimisation cost now, then reset the stream.

        What came out is vetted (``models/vetting.py``): a model whose warm-up output
        is non-finite, huge or full-scale from silence is refused with a ModelError.
        Any exception the model raises (``torch.jit.Error`` is not a RuntimeError)
        becomes a ModelError naming the file.
        """
        silence = torch.zeros(1, self.in_channels, block or self.ratio * 2)
        for _ in range(blocks):
            z = vetted_call(self.path, lambda: self.encode(silence), "encode", audio=False)
            vetted_call(self.path, functools.partial(self.decode, torch.zeros_like(z)), "decode", from_silence=True)
        self.reset()

    def _check(self, t: torch.Tensor, channels: int, method: str, what: str, multiple: int) -> None:
        if not isinstance(t, torch.Tensor) or t.dim() != 3 or t.shape[0] != 1:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ModelError(f"{self.path}: {method} expects {what} of shape (1, {channels}, n), got {shape}")
        if t.shape[1] != channels:
            raise ModelError(
                f"{self.path}: {method} expects {channels} channel(s) of {what}, got {t.shape[1]}")
        n = t.shape[-1]
        if n <= 0 or n % multiple:
            raise ModelError(
                f"{self.path}: {method} needs a length that is a positive multiple of the ratio "
                f"{multiple}, got {n}; a partial block would corrupt the stream state")

    def _checked_out(self, out: torch.Tensor, channels: int, length: int, method: str) -> torch.Tensor:
        if out.dim() != 3 or out.shape[1] != channels or out.shape[-1] != length:
            raise ModelError(
                f"{self.path}: {method} returned shape {tuple(out.shape)}, expected (*, {channels}, {length})")
        return out

