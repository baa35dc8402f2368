"""``load_model``: file -> checked, warmed-up RaveModel or PriorModel.

Why refuse so much at load time: everything found wrong here would otherwise
surface as noise or an exception on the inference thread during a show. The
checks, in order: a readable undamaged TorchScript archive; the methods the
role needs; a streaming export (cache buffers) unless non-streaming is
explicitly allowed (offline render); and, only when a caller asks for one, an
exact sample rate (the engine never does: it converts, see docs/rates.md).

Runs on the loading thread (main thread at start-up, or the hot-swap loader).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ravebox.errors import ModelError
from ravebox.models.archive import open_torchscript
from ravebox.models.introspect import ModelInfo, describe
from ravebox.models.prior import PriorModel
from ravebox.models.rave import RaveModel

ROLES = ("rave", "prior")


def inspect_model(path: str | Path) -> ModelInfo:
    """The interface facts of a model file, without role checks or warm-up."""
    return describe(open_torchscript(Path(path)), path)


def set_torch_threads(count: int) -> None:
    """The one place ravebox sets torch's intra-op thread count.

    torch keeps the count process-wide, but OpenMP keeps its team size per thread: a
    thread that never called this runs its MKL GEMMs and oneDNN convs with one OpenMP
    thread per core (measured: a fresh thread doing a conv started one more thread), so
    every thread that runs models also calls :func:`pin_torch_threads` once.
    Callers: the engine (``[output] torch_threads``), ``ravebox fit`` (1: it measures
    one core), and :func:`load_model` when asked.
    """
    torch.set_num_threads(count)


def pin_torch_threads() -> None:
    """Apply the process-wide count set by :func:`set_torch_threads` to the calling thread's
    OpenMP team (the inference worker, each graph thread, a swap's loading thread)."""
    torch.set_num_threads(torch.get_num_threads())


def load_model(
    path: str | Path,
    sample_rate: int | None = None,
    allow_non_streaming: bool = False,
    warm_up: bool = True,
    role: str | None = None,
    num_threads: int | None = 1,
) -> RaveModel | PriorModel:
    """Load a model for a role ("rave" or "prior"; default: what the file is).

    A combined file (``msprior combine``) loads as a RaveModel whose ``.prior``
    is a PriorModel on the same module, unless ``role="prior"`` asks for the prior.
    ``num_threads`` sets torch's intra-op threads for the whole process (None: leave it).
    """
    if num_threads is not None:
        set_torch_threads(num_threads)
    path = Path(path)
    module = open_torchscript(path)
    info = describe(module, path)
    role = role or _default_role(info)
    _check_role(info, role)
    _check_streaming(info, allow_non_streaming)
    _check_sample_rate(info, sample_rate)
    model = _wrap(module, info, role)
    if warm_up:
        model.warm_up()
        if isinstance(model, RaveModel) and model.prior is not None:
            model.prior.warm_up()
    return model


def _default_role(info: ModelInfo) -> str:
    if info.kind in ("rave", "combined"):
        return "rave"
    if info.kind == "prior":
        return "prior"
    found = ", ".join(info.methods) or "none"
    raise ModelError(
        f"{info.path}: neither a RAVE model (needs encode and decode methods) nor a prior "
        f"(needs forward and a temperature attribute); nn~ methods found: {found}")


def _check_role(info: ModelInfo, role: str) -> None:
    if role not in ROLES:
        raise ModelError(f"{info.path}: unknown model role '{role}' (expected one of {', '.join(ROLES)})")
    needed = {"rave": ("encode", "decode"), "prior": ("prior",) if info.kind == "combined" else ("forward",)}[role]
    missing = [m for m in needed if m not in info.methods]
    if role == "prior" and info.kind not in ("prior", "combined"):
        missing = missing or ["set_temperature"]
    if missing:
        found = ", ".join(info.methods) or "none"
        raise ModelError(
            f"{info.path}: cannot be used as a {role}: missing nn~ method(s) {', '.join(missing)} "
            f"(found: {found})")


def _check_streaming(info: ModelInfo, allow_non_streaming: bool) -> None:
    if not info.streaming and not allow_non_streaming:
        raise ModelError(
            f"{info.path}: not a streaming export (no cache buffers); live use clicks at every "
            "block. Re-export with 'rave export --streaming', or allow non-streaming for offline use")


def _check_sample_rate(info: ModelInfo, sample_rate: int | None) -> None:
    if sample_rate is not None and info.sample_rate is not None and info.sample_rate != sample_rate:
        raise ModelError(
            f"{info.path}: model sample rate is {info.sample_rate} Hz but the host runs at "
            f"{sample_rate} Hz (the engine converts rates itself and never asks for this check)")


def _wrap(module: torch.jit.ScriptModule, info: ModelInfo, role: str) -> RaveModel | PriorModel:
    combined = info.kind == "combined"
    if role == "prior":
        return PriorModel(module, info, method="prior" if combined else "forward",
                          state_prefix=(_child_prefix(module, "prior_model") or "") if combined else "")
    model = RaveModel(module, info, skip_state=_child_prefix(module, "prior_model") if combined else None)
    if combined:
        model.prior = PriorModel(module, info, method="prior",
                                 state_prefix=_child_prefix(module, "prior_model") or "")
    return model


def _child_prefix(module: torch.jit.ScriptModule, child: str) -> str | None:
    """msprior's CombinedModule keeps the prior in ``prior_model``; other files: no split."""
    return f"{child}." if any(name == child for name, _ in module.named_children()) else None
