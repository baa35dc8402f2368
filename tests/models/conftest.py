"""Shared fixtures for the model-host tests: the committed model files and their recipes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

MODELS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS


@pytest.fixture(scope="session")
def recipes() -> dict:
    """What tools/make_test_models.py asked the exporters for (written at export time)."""
    return json.loads((MODELS / "manifest.json").read_text())["_recipes"]


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)
    yield
