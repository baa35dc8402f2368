"""The engine's own box-config tables: ``[box]``, ``[models.*]``, ``[graphs.*]``, ``[output]``.

Why here and not in ``engine/``: validation must run without torch (``ravebox
check`` on a Pi answers in a blink), so this module only checks what the TOML
says; what the model files say (latent counts, ratios) is checked when the
engine is built. Every problem goes into the caller's :class:`Diagnostics`.

Latent matching (how an encoder's or prior's latents feed a decoder with a
different latent count) -- the ``match`` key of a graph:

* ``"pad_zeros"`` (default): extra source dims are dropped, missing target
  dims are 0. Safe because RAVE's latents are regularised toward N(0, 1), so 0
  is the mean ("neutral") value of every dim the source cannot drive.
* ``"crop"``: the same rule, named for the common case (source has more dims).
* ``"pad_noise"``: extra source dims dropped, missing target dims get seeded
  unit Gaussian noise per latent frame (livelier, still in distribution).
* ``"map"``: ``map = [i0, i1, ...]`` gives, for each target dim, the source
  dim that drives it, or -1 for 0.

Run by the thread that loads a box (main thread, check, render).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ravebox.config.diagnostics import Diagnostics, did_you_mean
from ravebox.config.schema import Choice, Field, Flag, Integer, IntegerOr, Number, Text, check_table, is_table, unknown_keys

_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
MATCH_MODES = ("pad_zeros", "crop", "pad_noise", "map")
GRAPH_KINDS = ("transfer", "prior", "mixed")
LATE_POLICIES = ("dry", "silence")
CONV_TUNING = ("auto", "on", "off")  # ravebox.models.convtune.POLICIES (config imports no torch)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model file of the box, by name; ``path`` is absolute (resolved from the config's folder)."""

    name: str
    path: Path
    allow_non_streaming: bool = False
    resample: str = "auto"   # "auto": play at the model's own rate, converted; "off": at the box rate (nn~)


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """One voice: encoder -> [prior] -> latent ops -> decoder, with its own output ports.

    ``decoders`` lists the alternatives ``model.select`` chooses among (index 0
    plays first). ``encoder`` is None for a prior-only graph with no input.
    """

    name: str
    kind: str
    decoders: tuple[str, ...]
    encoder: str | None = None
    prior: str | None = None
    match: str = "pad_zeros"
    index_map: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Output stage and engine-wide settings (``[output]``)."""

    ceiling_db: float = -1.0
    crossfade_ms: float = 200.0
    late_block: str = "dry"
    block_multiple: int | str = "auto"   # an int, or "auto": chosen at load from the measured cost (engine/autoblock.py)
    seed: int = 0
    torch_threads: int = 1
    dc_hz: float = 5.0
    release_ms: float = 80.0
    mute_fade_ms: float = 10.0
    conv_tuning: str = "auto"   # per-layer conv backends timed at load: "auto" (large models), "on", "off"


@dataclass(frozen=True, slots=True)
class BoxSettings:
    """``[box]``: identity of the box and the engine's sample rate when no JACK server says otherwise."""

    name: str = "box"
    sample_rate: int | None = None   # None: the models' own rate when they agree, else 48000 (see box_rate)


RESAMPLE_MODES = ("auto", "off")
_MODEL_FIELDS: dict[str, Field] = {
    "path": Text(what="model file path (a string)"),
    "allow_non_streaming": Flag(),
    "resample": Choice(RESAMPLE_MODES),
}
_MODEL_KEYS = tuple(_MODEL_FIELDS)
_GRAPH_KEYS = ("kind", "encoder", "decoder", "decoders", "prior", "match", "map")
#: Every key of ``[output]`` with its range.
_OUTPUT_FIELDS: dict[str, Field] = {
    "ceiling_db": Number(-60.0, 0.0),
    "crossfade_ms": Number(0.0, 10000.0),
    "late_block": Choice(LATE_POLICIES),
    "block_multiple": IntegerOr(Integer(1, 64), ("auto",)),
    "seed": Integer(),
    "torch_threads": Integer(1, 64),
    "dc_hz": Number(0.5, 40.0),
    "release_ms": Number(1.0, 2000.0),
    "mute_fade_ms": Number(0.0, 1000.0),
    "conv_tuning": Choice(CONV_TUNING),
}


_BOX_FIELDS: dict[str, Field] = {"name": Text(), "sample_rate": Integer(8000, 384000)}
_BOX_KEYS = tuple(_BOX_FIELDS)


def parse_box(table: object, diags: Diagnostics, prefix: str = "box") -> BoxSettings:
    if not is_table(table, diags, prefix):
        return BoxSettings()
    return BoxSettings(**check_table(table, _BOX_FIELDS, diags, prefix))


def parse_models(table: object, diags: Diagnostics, base: Path, prefix: str = "models") -> dict[str, ModelSpec]:
    """``[models.NAME] path = "..."`` -> specs; paths are relative to the config's folder."""
    models: dict[str, ModelSpec] = {}
    if not is_table(table, diags, prefix):
        return models
    for name, entry in table.items():
        key = f"{prefix}.{name}"
        if isinstance(entry, str):  # shorthand: a = "rave_a.ts"
            entry = {"path": entry}
        if not is_table(entry, diags, key):
            continue
        values = check_table(entry, _MODEL_FIELDS, diags, key)
        path = values.get("path")
        if not isinstance(path, str):
            if "path" not in entry:
                diags.error(f"{key}.path", "missing model file path")
            continue
        resolved = (base / path).resolve()
        if not resolved.is_file():
            diags.error(f"{key}.path", f"model file not found: {resolved}")
        allow = bool(values.get("allow_non_streaming", False))
        resample = str(values.get("resample", "auto"))
        models[name] = ModelSpec(name, resolved, allow, resample)
    return models


def parse_graphs(table: object, diags: Diagnostics, models: Mapping[str, ModelSpec],
                 prefix: str = "graphs") -> tuple[GraphSpec, ...]:
    """``[graphs.NAME]`` tables -> specs, checking kinds, model references and matching."""
    if not is_table(table, diags, prefix):
        return ()
    graphs = []
    for name, entry in table.items():
        if not _NAME.fullmatch(name):
            diags.error(f"{prefix}.{name}", "graph names use letters, digits, '_' and '-' (they name JACK ports)")
            continue
        spec = _parse_graph(name, entry, diags, models, f"{prefix}.{name}")
        if spec is not None:
            graphs.append(spec)
    if not table:
        diags.error(prefix, "a box needs at least one graph")
    return tuple(graphs)


def _parse_graph(name: str, entry: object, diags: Diagnostics, models: Mapping[str, ModelSpec],
                 key: str) -> GraphSpec | None:
    if not is_table(entry, diags, key):
        return None
    unknown_keys(entry, _GRAPH_KEYS, diags, key)
    kind = entry.get("kind", "prior" if "prior" in entry and "encoder" not in entry else "transfer")
    if kind not in GRAPH_KINDS:
        diags.error(f"{key}.kind", f"must be one of {', '.join(GRAPH_KINDS)}{did_you_mean(str(kind), GRAPH_KINDS)}")
        # no return: the rest of the graph is still checked, so `check` reports every problem at once
    decoders = _decoders(entry, diags, key)
    encoder = _model_ref(entry, "encoder", models, diags, key)
    prior = _model_ref(entry, "prior", models, diags, key)
    for i, dec in enumerate(decoders):
        _check_ref(dec, models, diags, f"{key}.decoders[{i}]" if "decoders" in entry else f"{key}.decoder")
    if kind in ("transfer", "mixed") and encoder is None and "encoder" not in entry:
        diags.error(f"{key}.encoder", f"a {kind} graph needs an encoder model")
    if kind in ("prior", "mixed") and prior is None and "prior" not in entry:
        diags.error(f"{key}.prior", f"a {kind} graph needs a prior model")
    match, index_map = _matching(entry, diags, key)
    if kind not in GRAPH_KINDS:
        return None
    return GraphSpec(name, kind, decoders, encoder, prior, match, index_map)


def _decoders(entry: Mapping, diags: Diagnostics, key: str) -> tuple[str, ...]:
    if "decoder" in entry and "decoders" in entry:
        diags.error(f"{key}.decoders", "give either decoder or decoders, not both")
    raw = entry.get("decoders", [entry["decoder"]] if "decoder" in entry else None)
    if raw is None:
        if "encoder" in entry:  # reconstruction: decode with the encoder's own model
            return (str(entry["encoder"]),)
        diags.error(f"{key}.decoder", "missing decoder model")
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(d, str) for d in raw):
        diags.error(f"{key}.decoders", "must be a non-empty list of model names")
        return ()
    return tuple(raw)


def _model_ref(entry: Mapping, role: str, models: Mapping[str, ModelSpec], diags: Diagnostics,
               key: str) -> str | None:
    ref = entry.get(role)
    if ref is None:
        return None
    if not isinstance(ref, str):
        diags.error(f"{key}.{role}", "must be a model name")
        return None
    return ref if _check_ref(ref, models, diags, f"{key}.{role}") else None


def _check_ref(ref: str, models: Mapping[str, ModelSpec], diags: Diagnostics, key: str) -> bool:
    if ref in models:
        return True
    diags.error(key, f"no model named '{ref}' in [models]{did_you_mean(ref, models)}")
    return False


def _matching(entry: Mapping, diags: Diagnostics, key: str) -> tuple[str, tuple[int, ...] | None]:
    match = entry.get("match", "map" if "map" in entry else "pad_zeros")
    if match not in MATCH_MODES:
        diags.error(f"{key}.match", f"must be one of {', '.join(MATCH_MODES)}{did_you_mean(str(match), MATCH_MODES)}")
        return "pad_zeros", None
    raw = entry.get("map")
    if match != "map":
        if raw is not None:
            diags.error(f"{key}.map", f"only used with match = \"map\" (match is \"{match}\")")
        return match, None
    if not isinstance(raw, list) or not raw or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= -1 for i in raw):
        diags.error(f"{key}.map", "must be a non-empty list of source dims (integers >= 0, or -1 for zero)")
        return match, None
    return match, tuple(raw)


def parse_output(table: object, diags: Diagnostics, prefix: str = "output") -> OutputSettings:
    """``[output]`` -> settings, each value type- and range-checked."""
    if not is_table(table, diags, prefix):
        return OutputSettings()
    return OutputSettings(**check_table(table, _OUTPUT_FIELDS, diags, prefix))


def freeze(mapping: Mapping) -> Mapping:
    """A read-only view (BoxConfig stays immutable while keeping dict lookups)."""
    return MappingProxyType(dict(mapping))


__all__ = [
    "BoxSettings", "GraphSpec", "ModelSpec", "OutputSettings", "MATCH_MODES", "GRAPH_KINDS",
    "parse_box", "parse_models", "parse_graphs", "parse_output", "freeze",
]
