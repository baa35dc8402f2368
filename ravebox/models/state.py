"""A copy of every buffer of a TorchScript module, restorable in place.

Why: RAVE exports have no reset method; their stream state lives in
cached_conv's padding buffers (MSPrior's in attention key/value caches and
counters). Copying all buffers back is the one reset that works for any
nn~ export, and it also undoes the warm-up calls.

``restore`` runs on the inference worker thread (between blocks) or on the
loading thread; it never allocates when every buffer still has its shape.
"""

from __future__ import annotations

import torch

from ravebox.models.introspect import script_attr


class BufferSnapshot:
    """The values of the buffers of ``module`` at construction time.

    ``only``/``skip`` are dotted-name prefixes: a combined file keeps RAVE's and the
    prior's state in two children, which must reset independently.
    """

    def __init__(self, module: torch.jit.ScriptModule, only: str = "", skip: str | None = None) -> None:
        self._module = module
        with torch.inference_mode():
            self._saved = {
                name: buf.detach().clone()
                for name, buf in module.named_buffers()
                if name.startswith(only) and not (skip and name.startswith(skip))
            }

    def __len__(self) -> int:
        return len(self._saved)

    def restore(self) -> None:
        """Copy the saved values back; a buffer the model replaced by another shape is re-set."""
        with torch.inference_mode():
            live = dict(self._module.named_buffers())
            for name, saved in self._saved.items():
                current = live.get(name)
                if current is not None and current.shape == saved.shape and current.dtype == saved.dtype:
                    current.copy_(saved)
                else:
                    self._set(name, saved.clone())

    def _set(self, dotted: str, value: torch.Tensor) -> None:
        owner = self._module
        *parents, leaf = dotted.split(".")
        for part in parents:
            owner = script_attr(owner, part)  # walk a dotted buffer name down the submodules
        setattr(owner, leaf, value)
