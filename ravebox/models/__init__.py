"""nn~-compatible TorchScript models: load, introspect, RAVE/prior wrappers, warm-up, reset.

Public API (the engine and the CLI code against exactly this)::

    from ravebox.models import load_model, inspect_model, RaveModel, PriorModel, ModelInfo
    m = load_model(path, sample_rate=48000)        # RaveModel | PriorModel, warmed up, reset
    z = m.encode(x)    # (1, in_ch, n), n % ratio == 0  -> (1, latent_size, n // ratio)
    y = m.decode(z)    # (1, latent_size, k)            -> (1, out_ch, k * ratio)
    m.reset()          # back to the post-load buffer state

Every failure is a ``ravebox.errors.ModelError`` naming the file and what was expected.
"""

from ravebox.models.introspect import AttributeInfo, MethodInfo, ModelInfo
from ravebox.models.loader import inspect_model, load_model
from ravebox.models.prior import PriorModel
from ravebox.models.rave import RaveModel

__all__ = [
    "AttributeInfo",
    "MethodInfo",
    "ModelInfo",
    "PriorModel",
    "RaveModel",
    "inspect_model",
    "load_model",
]
