"""Stand-in for ``ravebox.models`` while it is being written: the same API over raw TorchScript.

Used by the engine and render tests only when ``ravebox.models.load_model``
cannot be imported; once the models package lands, the tests load through it.
"""

from __future__ import annotations

from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "models"


class _Rave:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.m = torch.jit.load(str(path))
        enc, dec = self.m.encode_params.tolist(), self.m.decode_params.tolist()
        self.in_channels, self.latent_size, self.ratio = enc[0], enc[2], enc[3]
        self.out_channels = dec[2]
        self.sample_rate = 48000
        self.streaming = True
        self.info = None

    def encode(self, x):
        return self.m.encode(x)

    def decode(self, z):
        return self.m.decode(z)

    def reset(self) -> None:
        pass


class _Prior:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.m = torch.jit.load(str(path))
        p = self.m.forward_params.tolist()
        self.in_latents, self.ratio = p[0], p[1]
        self.latent_size = p[2] - 1
        self.info = None

    def set_temperature(self, t: float) -> None:
        self.m.set_temperature(float(t))

    def set_listen(self, on: bool) -> None:
        self.m.set_listen(bool(on))

    def forward(self, z):
        return self.m.forward(z)

    def reset(self) -> None:
        pass


def fallback_load(path, sample_rate=None, allow_non_streaming=False, warm_up=True):
    m = torch.jit.load(str(path))
    names = set(m._c._method_names())
    return _Rave(Path(path)) if "decode" in names else _Prior(Path(path))


def loader():
    """An ``Engine`` loader: the real ``ravebox.models`` if present, else the stand-in."""
    try:
        from ravebox.models import load_model
    except ImportError:
        load_model = fallback_load

    def load(spec, sample_rate):
        return load_model(spec.path, sample_rate=sample_rate, allow_non_streaming=spec.allow_non_streaming,
                          warm_up=True)

    return load
