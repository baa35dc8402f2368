"""The engine tests' model loader and the committed models' folder.

(The stand-in models that filled in while ``ravebox.models`` was being written are gone:
the tests load the real exports through it.)
"""

from __future__ import annotations

from pathlib import Path

from ravebox.models import load_model

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "tests" / "models"


def loader():
    """An ``Engine`` loader over ``ravebox.models.load_model`` (warmed up, threads left as the engine set them)."""
    def load(spec, sample_rate):
        return load_model(spec.path, sample_rate=sample_rate, allow_non_streaming=spec.allow_non_streaming,
                          warm_up=True, num_threads=None)

    return load
