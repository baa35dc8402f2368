"""The export recipe's fidelity trick: RAVE's exporter must keep exactly ``keep`` latent dims."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_test_models.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("make_test_models", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exporter_keeps(fidelity: np.ndarray, threshold: float = 0.95) -> int:
    """rave 2.3.1's rule: 2**ceil(log2(max(argmax(fidelity > threshold), 1)))."""
    first = max(int(np.argmax(fidelity > threshold)), 1)
    return 2 ** math.ceil(math.log2(first))


@pytest.mark.parametrize(("full", "keep"), [(16, 8), (32, 16), (128, 16)])
def test_fidelity_curve_keeps_exactly_keep_dims(tool, full, keep):
    curve = tool.fidelity_curve(full, keep).numpy()
    assert curve.shape == (full,)
    assert np.all(np.diff(curve) >= 0) and curve[-1] == 1.0  # cumulative explained variance
    assert exporter_keeps(curve) == keep


def test_latent_pca_dropped_components_are_silent(tool):
    pca = tool.latent_pca(16, 8).numpy()
    assert np.allclose(pca[8:], 0.0)
    assert np.allclose(pca[:8] @ pca[:8].T, np.eye(8), atol=1e-5)  # kept rows stay orthonormal


def test_recipes_match_the_committed_manifest(tool, recipes):
    assert recipes["rave"]["rave_a"]["keep"] == tool.RAVE_RECIPES["rave_a"]["keep"] == 8
    assert recipes["rave"]["rave_b"]["keep"] == tool.RAVE_RECIPES["rave_b"]["keep"] == 16
    assert recipes["pins"] == tool.PINS + tool.NO_DEPS_PINS
    assert "torch==2.13.0" in recipes["pins"]
