"""Warm-up output checks: a model that would buzz or blow up is refused before it plays.

Why at warm-up: the warm-up already runs every method a live block runs, on
silence, so looking at what came out costs nothing, and a model refused here
never reaches the PA (a hot swap keeps the old model; a start-up names the file).
Three refusals, each with its reason:

* any NaN or infinite output value (one would poison the stream, the safety
  stage would turn the rest into a limiter-pinned buzz);
* any output value beyond :data:`HUGE` (+18 dBFS; no trained model decodes
  silence to that);
* a full-scale signal decoded from silence: an rms of at least
  :data:`FULL_SCALE_RMS` (-6 dBFS) from zero latents, which is what a constant
  or periodic full-scale pattern (a stuck model, a test buzz) looks like.

Thread: whichever thread loads the model (main thread at start-up, a swap thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch

from ravebox.errors import ModelError
from ravebox.levels import HUGE

#: rms of a decode of silence at or above which the model is refused (-6 dBFS).
FULL_SCALE_RMS = 0.5


def output_problem(y: torch.Tensor, what: str, audio: bool = True, from_silence: bool = False) -> str | None:
    """Why ``y`` (a model's output) must not be played, or None when it is fine.

    ``audio=False`` (latents): only non-finite values are refused, latents have no ceiling.
    """
    y = y.detach().to(torch.float64)
    total = y.numel()
    if total == 0:
        return None
    finite = torch.isfinite(y)
    bad = total - int(finite.sum())
    if bad:
        return f"{what} output has {bad} NaN/infinite value(s) in {total}"
    if not audio:
        return None
    peak = float(y.abs().max())
    if peak > HUGE:
        return f"{what} output peaks at {peak:.3g}, beyond {HUGE:g} (+18 dBFS)"
    rms = math.sqrt(float((y * y).mean()))
    if from_silence and rms >= FULL_SCALE_RMS:
        return f"{what} turns silence into a full-scale signal ({20 * math.log10(rms):.1f} dBFS rms)"
    return None


def vetted_call(path: Path, call: Callable[[], torch.Tensor], what: str, **checks: bool) -> torch.Tensor:
    """Run one warm-up call; a raise or an unplayable output becomes a ModelError naming ``path``.

    Any exception counts (``torch.jit.Error`` is not a RuntimeError): the model is refused.
    """
    try:
        out = call()
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a model raises refuses it
        lines = str(exc).strip().splitlines()
        raise ModelError(f"{path}: refused: warm-up {what} raised {type(exc).__name__}: "
                         f"{lines[-1] if lines else ''}") from exc
    problem = output_problem(out, what, **checks)
    if problem:
        raise ModelError(f"{path}: refused: warm-up {problem}")
    return out
