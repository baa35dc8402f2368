"""PriorModel: an MSPrior export (or the prior half of a combined file) with typed setters.

Facts (acids-msprior 1.1.3, ``msprior export --continuous``):

* ``forward`` takes ``(batch, in_latents, k)`` RAVE latents (``in_latents`` =
  ``num_rave_quantizers``, plus semantic features for a model with an encoder)
  and returns ``(batch, num_rave_quantizers + 1, k)``: the latents, then one
  perplexity channel. One step stands for ``ratio`` audio samples.
* ``listen=True`` (the default) follows the input: the output latents are the
  input, quantised to the prior's tokens and dequantised with uniform noise.
  ``listen=False`` generates autoregressively from its own previous step.
* setters return 0, or -1 when they refuse a value (``set_temperature(-1)``).
* its attention window is fixed (``max_steps``): a longer call fails inside the model,
  so it is refused here first.

``forward``/``reset``/setters run on the inference worker thread (or the render
loop); construction runs on the loading thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ravebox.errors import ModelError
from ravebox.models.introspect import MethodInfo, ModelInfo, has_script_attr, script_attr
from ravebox.models.state import BufferSnapshot
from ravebox.models.vetting import vetted_call

COERCE = {"bool": bool, "int": int, "float": float, "str": str}


class PriorModel:
    """Prior calls with shape checks, nn~ attribute setters that raise on -1, and a reset."""

    def __init__(self, module: torch.jit.ScriptModule, info: ModelInfo, method: str = "forward",
                 state_prefix: str = "") -> None:
        self.module = module
        self.info = info
        self.path = Path(info.path)
        self._method = script_attr(module, method)  # the method by its nn~ name ("forward", or a combined file's "prior")
        params = info.methods[method]
        self.ratio: int = params.in_ratio
        self.in_latents: int = params.in_channels
        self.out_channels: int = params.out_channels
        latent = info.latent_size if info.kind == "prior" else self._latent_from(params)
        if latent is None:
            raise ModelError(f"{self.path}: the prior does not say how many latents it makes")
        self.latent_size: int = int(latent)
        self.sample_rate: int | None = info.sample_rate
        self.streaming: bool = info.streaming
        self.max_steps: int | None = info.max_prior_steps
        self._snapshot = BufferSnapshot(module, only=state_prefix)

    def __repr__(self) -> str:
        return (f"PriorModel({self.path.name}, ratio={self.ratio}, in={self.in_latents}, "
                f"latent={self.latent_size}, max_steps={self.max_steps})")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(1, in_latents, k)`` -> predicted latents ``(1, latent_size, k)``."""
        return self.forward_with_extras(z)[0]

    def forward_with_extras(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Like ``forward``, plus the extra output channels (MSPrior: perplexity), ``(1, e, k)``."""
        self._check(z)
        with torch.inference_mode():
            out = self._method(z.float())
        if out.dim() != 3 or out.shape[1] != self.out_channels or out.shape[-1] != z.shape[-1]:
            raise ModelError(f"{self.path}: prior returned shape {tuple(out.shape)}, "
                             f"expected (*, {self.out_channels}, {z.shape[-1]})")
        return out[:, : self.latent_size], out[:, self.latent_size:]

    def set_temperature(self, temperature: float) -> None:
        self.set_attribute("temperature", float(temperature))

    def set_listen(self, listen: bool) -> None:
        self.set_attribute("listen", bool(listen))

    def set_attribute(self, name: str, value: Any) -> None:
        """Call ``set_<name>`` with ``value`` coerced to the attribute's declared type."""
        setter = script_attr(self.module, f"set_{name}")  # nn~'s attribute protocol: set_<name> by name
        if setter is None:
            raise ModelError(f"{self.path}: the model has no attribute '{name}' (no set_{name} method)")
        attribute = self.info.attributes.get(name)
        kind = attribute.types[0] if attribute and attribute.types else None
        typed = COERCE[kind](value) if kind in COERCE else value
        try:
            status = setter(typed)
        except Exception as exc:
            raise ModelError(f"{self.path}: set_{name}({typed!r}) failed: {exc}") from exc
        if status == -1:
            raise ModelError(f"{self.path}: the model refused {name}={typed!r} (set_{name} returned -1)")

    def get_attribute(self, name: str) -> Any:
        getter = script_attr(self.module, f"get_{name}")  # nn~'s attribute protocol: get_<name> by name
        if getter is None:
            raise ModelError(f"{self.path}: the model has no attribute '{name}' (no get_{name} method)")
        return getter()

    def reset(self) -> None:
        """Restore the prior's buffers (caches, previous step) to their post-load state.

        Attribute values (temperature, listen) are settings, not stream state: they stay.
        """
        self._snapshot.restore()

    def warm_up(self, steps: int = 2, calls: int = 2) -> None:
        """First calls are slow (TorchScript optimisation); pay that now, then reset.

        Non-finite output or a raise refuses the model (a ModelError naming the file).
        """
        steps = min(steps, self.max_steps or steps)
        listen = self.get_attribute("listen") if has_script_attr(self.module, "get_listen") else None  # older exports lack it
        modes = [listen, not listen] if listen is not None else [None]
        for mode in modes:  # both branches of the scripted forward get optimised
            if mode is not None:
                self.set_listen(mode)
            for _ in range(calls):
                vetted_call(self.path, lambda: self.forward(torch.zeros(1, self.in_latents, steps)), "prior",
                        audio=False)
        if listen is not None:
            self.set_listen(listen)
        self.reset()

    def _check(self, z: torch.Tensor) -> None:
        if not isinstance(z, torch.Tensor) or z.dim() != 3 or z.shape[0] != 1 or z.shape[1] != self.in_latents:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ModelError(f"{self.path}: prior expects latents of shape (1, {self.in_latents}, k), got {shape}")
        k = z.shape[-1]
        if k <= 0:
            raise ModelError(f"{self.path}: prior needs at least one step, got {k}")
        if self.max_steps is not None and k > self.max_steps:
            raise ModelError(
                f"{self.path}: prior attention window is {self.max_steps} steps; a call of {k} steps "
                "would fail inside the model (split the block)")

    def _latent_from(self, params: MethodInfo) -> int:
        # a combined file's prior child and its count exist only in msprior >= 1.1 exports
        inner = script_attr(self.module, "prior_model")
        count = script_attr(inner, "num_rave_quantizers") if inner is not None else None
        return int(count) if count is not None else int(self.info.latent_size or params.out_channels)
