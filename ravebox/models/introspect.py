"""Discover what an nn~-compatible TorchScript file offers, from the file alone.

Facts established on the real exporters (acids-rave 2.3.1, acids-msprior 1.1.3,
nn-tilde 1.6.0) and older exports:

* nn~ methods: ``get_methods()`` lists them (nn_tilde >= 1.5); RAVE v1 exports
  have none, only ``<method>_params`` buffers = ``[in_ch, in_ratio, out_ch, out_ratio]``.
* attributes: ``get_attributes()``; nn_tilde 1.5 returns a fake ``"none"`` entry
  first. ``<attr>_params`` holds one nn_tilde type code per value
  (0 bool, 1 int, 2 float, 3 str, 4 tensor, 5 buffer).
* sample rate: ``sr`` attribute (RAVE 2.x; ``None`` on an MSPrior export),
  ``get_sample_rate()`` (nn_tilde 1.6; ``-1`` when unknown) or the v1 buffer
  ``sampling_rate``. A combined file (``msprior combine``) only knows it through
  its ``rave_model`` child, so direct children are searched too.
* RAVE: ``decode_params[0]`` = dims kept by the export's fidelity (2.x also stores
  it as ``latent_size``) and ``full_latent_size``. v1 stores the *full* count in a
  ``latent_size`` tensor buffer and the kept one as ``cropped_latent_size``.
* old nn_tilde stored ``<attr>_params`` type codes as a float tensor (``[2.]``).
* MSPrior: ``forward`` takes ``num_rave_quantizers`` latent dims (plus semantic
  features when it has an encoder) and returns those dims *plus one perplexity
  channel*; ``num_rave_quantizers`` is a scripted int attribute. Its attention
  keeps a fixed window (``*_cached_attention_bias`` is ``[heads, L, L]``): one call
  may not exceed ``L`` steps, or it raises a size mismatch.
* discrete RAVE (``discrete`` config): ``latent_size`` is the number of
  quantizers; ``encode`` returns code indices and ``decode`` takes them (clamped
  to ``0..n_codes-1``), read from the export's ``quantizer`` child.
* streaming: cached_conv's ``*.cache.pad`` buffers, MSPrior's ``_keys_cache`` /
  ``_cache_length``: any buffer whose name mentions ``cache``.

Why this module probes (looks members up by name, present or not): a TorchScript
export has no type to check against, and every member read here is one that
some exporter above writes and another does not; finding out which is the job.
Nothing outside ``models/`` probes a model: the engine checks roles against
the Protocols in ``ravebox.engine.roles``.

Runs on the loading thread (main), never on the audio or inference threads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

TYPE_CODES = {0: "bool", 1: "int", 2: "float", 3: "str", 4: "tensor", 5: "buffer"}
FAKE_ATTRIBUTE = "none"


@dataclass(frozen=True)
class MethodInfo:
    """One nn~ method: tensor (batch, in_channels, n / in_ratio) -> (batch, out_channels, n / out_ratio)."""

    in_channels: int
    in_ratio: int
    out_channels: int
    out_ratio: int


@dataclass(frozen=True)
class AttributeInfo:
    """One nn~ attribute: the type of each of its values, and its value at load time."""

    types: tuple[str, ...]
    value: Any = None


@dataclass(frozen=True)
class ModelInfo:
    """Everything ravebox knows about a model file; ``to_json`` feeds ``ravebox inspect --json``."""

    path: str
    kind: str  # "rave", "prior", "combined" or "unknown"
    sample_rate: int | None
    ratio: int | None
    latent_size: int | None
    full_latent_size: int | None
    methods: dict[str, MethodInfo]
    attributes: dict[str, AttributeInfo]
    streaming: bool
    cache_buffers: int = 0
    in_latents: int | None = None
    prior_ratio: int | None = None
    max_prior_steps: int | None = None
    codebook_size: int | None = None  # a discrete RAVE: decode takes code indices 0..codebook_size-1

    @property
    def discrete(self) -> bool:
        """Latents are code indices: converted by holding, never interpolating (docs/rates.md)."""
        return self.codebook_size is not None
    sources: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        data["attributes"] = {
            name: {"types": list(a.types), "value": _jsonable(a.value)}
            for name, a in self.attributes.items()
        }
        return data


def describe(module: torch.jit.ScriptModule, path: Path | str) -> ModelInfo:
    """Read the interface of a loaded TorchScript module (calls only getters)."""
    methods, methods_source = discover_methods(module)
    attributes, attributes_source = discover_attributes(module)
    sample_rate, rate_source = discover_sample_rate(module)
    kind = classify(module, methods, attributes)
    caches = [name for name, _ in module.named_buffers() if "cache" in name.lower()]
    latent, full = discover_latent_sizes(module, kind, methods)
    prior = methods.get("prior" if kind == "combined" else "forward") if kind in ("prior", "combined") else None
    return ModelInfo(
        path=str(path),
        kind=kind,
        sample_rate=sample_rate,
        ratio=_ratio(kind, methods),
        latent_size=latent,
        full_latent_size=full,
        methods=methods,
        attributes=attributes,
        streaming=bool(caches),
        cache_buffers=len(caches),
        in_latents=prior.in_channels if prior else None,
        prior_ratio=prior.in_ratio if prior else None,
        max_prior_steps=_max_prior_steps(module) if prior else None,
        codebook_size=_codebook_size(module) if kind in ("rave", "combined") else None,
        sources={"methods": methods_source, "attributes": attributes_source, "sample_rate": rate_source},
    )


def script_attr(module: object, name: str, default: Any = None) -> Any:
    """``module.<name>``, or ``default`` when the export has no such member.

    The one place ravebox reads a model's members by name (the engine and the
    wrappers call the typed methods of ``RaveModel``/``PriorModel``). Why by name:
    an nn~ export describes itself only through names -- ``get_methods()``,
    ``<method>_params`` buffers, ``set_<attr>``/``get_<attr>`` methods, ``sr`` or
    ``sampling_rate`` or ``latent_size`` members, a ``quantizer`` child -- and which
    of them exist differs between RAVE v1 and v2, MSPrior and nn~ versions; a
    ScriptModule's members are unknown to the type checker. So each such read is
    a lookup that may miss, written here once.
    """
    return getattr(module, name, default)


def has_script_attr(module: object, name: str) -> bool:
    """Whether the export has member ``name`` (see :func:`script_attr`)."""
    return script_attr(module, name) is not None


def discover_methods(module: torch.jit.ScriptModule) -> tuple[dict[str, MethodInfo], str]:
    """``get_methods()`` when present, else every ``<name>_params`` buffer naming a method."""
    buffers = _top_buffers(module)
    if has_script_attr(module, "get_methods"):
        names, source = list(module.get_methods()), "get_methods()"
    else:
        names = [key[: -len("_params")] for key in buffers if key.endswith("_params")]
        names = [n for n in names if has_script_attr(module, n) and buffers[f"{n}_params"].numel() == 4]
        names = [n for n in names if not has_script_attr(module, f"set_{n}")]
        source = "<method>_params scan"
    methods = {}
    for name in names:
        params = buffers.get(f"{name}_params")
        if params is not None and params.numel() == 4:
            methods[name] = MethodInfo(*(int(v) for v in params.tolist()))
    return methods, source


def discover_attributes(module: torch.jit.ScriptModule) -> tuple[dict[str, AttributeInfo], str]:
    """``get_attributes()`` minus the fake ``none``; else ``<x>_params`` buffers with a ``set_<x>``."""
    buffers = _top_buffers(module)
    if has_script_attr(module, "get_attributes"):
        names, source = [n for n in module.get_attributes() if n != FAKE_ATTRIBUTE], "get_attributes()"
    else:
        names = [k[: -len("_params")] for k in buffers if k.endswith("_params")]
        names, source = [n for n in names if has_script_attr(module, f"set_{n}")], "set_<attr> scan"
    attributes = {}
    for name in names:
        codes = buffers.get(f"{name}_params")
        types = tuple(TYPE_CODES.get(int(c), f"code {int(c)}") for c in codes.tolist()) if codes is not None else ()
        attributes[name] = AttributeInfo(types=types, value=_attribute_value(module, name))
    return attributes, source


def discover_sample_rate(module: torch.jit.ScriptModule) -> tuple[int | None, str]:
    """First positive rate from ``sr``, ``get_sample_rate()``, ``sampling_rate``; then children."""
    for owner, prefix in [(module, "")] + [(c, f"{n}.") for n, c in module.named_children()]:
        for getter in ("sr", "get_sample_rate()", "sampling_rate"):
            value = _scalar(owner, getter)
            if value is not None and value > 0:
                return int(value), prefix + getter
    return None, "unknown"


def discover_latent_sizes(module, kind: str, methods: dict[str, MethodInfo]) -> tuple[int | None, int | None]:
    if kind == "prior":
        latent = _scalar(module, "num_rave_quantizers")
        if latent is None and "forward" in methods:
            labels = script_attr(module, "forward_output_labels")
            extra = sum(1 for label in labels or [] if "perplexity" in str(label))
            latent = methods["forward"].out_channels - extra
        return latent, latent
    if "decode" in methods:  # what decode takes is authoritative in every version
        latent = methods["decode"].in_channels
    else:
        latent = _scalar_anywhere(module, "latent_size")
    full = _scalar_anywhere(module, "full_latent_size")
    if full is None:  # RAVE v1: the ``latent_size`` buffer is the full count
        stored = _scalar_anywhere(module, "latent_size")
        full = stored if stored is not None and latent is not None and stored > latent else latent
    return latent, full


def classify(module, methods: dict[str, MethodInfo], attributes: dict[str, AttributeInfo]) -> str:
    if "encode" in methods and "decode" in methods:
        return "combined" if "prior" in methods else "rave"
    if "forward" in methods and ("temperature" in attributes or has_script_attr(module, "set_temperature")):
        return "prior"
    return "unknown"


def _ratio(kind: str, methods: dict[str, MethodInfo]) -> int | None:
    if "decode" in methods:
        decode = methods["decode"]
        return decode.in_ratio // max(decode.out_ratio, 1)
    if kind == "prior" and "forward" in methods:
        return methods["forward"].in_ratio
    return None


def _codebook_size(module) -> int | None:
    """Codes per quantizer of a discrete RAVE export (its ``quantizer`` child's ``n_codes``), else None."""
    for owner in [module] + [child for _, child in module.named_children()]:
        quantizer = script_attr(owner, "quantizer")
        if quantizer is not None:
            return _scalar(quantizer, "n_codes")
    return None


def _max_prior_steps(module) -> int | None:
    windows = [b.shape[-1] for n, b in module.named_buffers() if n.endswith("_cached_attention_bias")]
    return min(windows) if windows else None


def _top_buffers(module) -> dict[str, torch.Tensor]:
    return dict(module.named_buffers(recurse=False))


def _scalar(owner, name: str) -> int | None:
    """An int from an attribute, a 0-d buffer or a getter call (``name()``); None if absent."""
    try:
        if name.endswith("()"):
            getter = script_attr(owner, name[:-2])
            value = getter() if getter is not None else None
        else:
            value = script_attr(owner, name)
    except Exception:  # a getter that throws tells us nothing
        return None
    if isinstance(value, torch.Tensor):
        return int(value.item()) if value.numel() == 1 else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _scalar_anywhere(module, name: str) -> int | None:
    value = _scalar(module, name)
    for _, child in module.named_children():
        if value is not None:
            break
        value = _scalar(child, name)
    return value


def _attribute_value(module, name: str) -> Any:
    getter = script_attr(module, f"get_{name}")
    if getter is None:
        return None
    try:
        return getter()
    except Exception:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return f"tensor{list(value.shape)}"
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
