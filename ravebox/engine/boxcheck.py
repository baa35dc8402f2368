"""``check_models(box)``: what the box's model files would make fail or mean nothing, before playing.

Why: a player validates a box on a laptop before copying it to the box, and the
config parsers never open a model file. This opens each file's interface
(``inspect_model``: TorchScript load and getters, no warm-up, no stream) and
reports, in the one ``file:line: key.path: message`` format:

* a file that is not a RAVE model or prior, or not a streaming export (unless allowed);
* a model in a role it cannot play (a prior as decoder, a RAVE model as prior);
* latent counts a ``map`` gets wrong, and mapping rules naming a graph and a latent dim it lacks;
* latent operations that make no sense on the code indices of a discrete model:
  ``latent.bias``, ``latent.scale`` and ``latent.noise`` (sigma-based offsets and
  gains of a continuous space) in a rule naming that graph, and ``match = "pad_noise"``
  (Gaussian noise as codes). A rule for every graph (no ``graph``) is not refused:
  the engine leaves the codes of a discrete graph alone (``GraphRunner``), and a dim a
  graph lacks is simply not there.

Runs on the main thread of ``ravebox check`` (imports torch when called).
"""

from __future__ import annotations

from ravebox.config.box import BoxConfig
from ravebox.config.diagnostics import Diagnostic, Diagnostics
from ravebox.config.graphs import GraphSpec, ModelSpec
from ravebox.engine.matching import LatentMatcher
from ravebox.errors import EngineError, ModelError
from ravebox.models.introspect import ModelInfo

CODE_NONSENSE = ("latent.bias", "latent.scale", "latent.noise")


def check_models(box: BoxConfig, dims: dict[str, int] | None = None) -> list[Diagnostic]:
    """Every model problem of ``box`` (empty when it would play); ``dims``, if given, gets each
    graph's latent count (for the mapping warnings of ``ravebox check``)."""
    diags = Diagnostics(str(box.path), box.path.read_text())
    used = {n for g in box.graphs for n in (*g.decoders, g.encoder, g.prior) if n}
    infos = {name: info for name, spec in box.models.items()
             if name in used and (info := _open(name, spec, diags)) is not None}
    dims = {} if dims is None else dims
    discrete: dict[str, str] = {}
    for g in box.graphs:
        _check_graph(g, infos, box, diags, dims, discrete)
    _check_mapping(box, dims, discrete, diags)
    return diags.items


def _open(name: str, spec: ModelSpec, diags: Diagnostics) -> ModelInfo | None:
    from ravebox.models.loader import inspect_model

    key = f"models.{name}"
    try:
        info = inspect_model(spec.path)
    except (ModelError, OSError, RuntimeError, ValueError) as exc:
        diags.error(f"{key}.path", f"cannot open the model: {exc}")
        return None
    if info.kind == "unknown":
        diags.error(f"{key}.path", "neither a RAVE model (encode and decode) nor a prior (forward and temperature); "
                                   f"nn~ methods found: {', '.join(info.methods) or 'none'}")
    elif not info.streaming and not spec.allow_non_streaming:
        diags.error(f"{key}.path", "not a streaming export (no cache buffers): it clicks at every block live; "
                                   "re-export with 'rave export --streaming', or set allow_non_streaming = true")
    return info


def _check_graph(g: GraphSpec, infos: dict, box: BoxConfig, diags: Diagnostics, dims: dict, discrete: dict) -> None:
    key = f"graphs.{g.name}"
    roles = [(f"{key}.decoders[{i}]" if len(g.decoders) > 1 else f"{key}.decoder", n, "rave")
             for i, n in enumerate(g.decoders)]
    roles += [(f"{key}.encoder", g.encoder, "rave")] if g.encoder else []
    roles += [(f"{key}.prior", g.prior, "prior")] if g.prior else []
    ok = True
    for where, name, role in roles:
        info = infos.get(name)
        if info is None:
            ok = False
        elif role == "rave" and info.kind not in ("rave", "combined"):
            diags.error(where, f"model '{name}' is a {info.kind}, not a RAVE model (no encode/decode)")
            ok = False
        elif role == "prior" and info.kind != "prior":
            diags.error(where, f"model '{name}' is a {info.kind}, not a prior (no forward with a temperature)")
            ok = False
    if not ok:
        return
    first = infos[g.decoders[0]]
    dims[g.name] = int(first.latent_size)
    if first.discrete:
        discrete[g.name] = g.decoders[0]
    _check_latents(g, infos, diags, key, first)


def _check_latents(g: GraphSpec, infos: dict, diags: Diagnostics, key: str, first: ModelInfo) -> None:
    where = f"{key}.map" if g.index_map is not None else f"{key}.match"
    sources = [infos[g.encoder].latent_size] if g.encoder else []
    sources += [infos[g.prior].latent_size] if g.prior else []
    for source in sources:
        try:
            LatentMatcher(int(source), int(first.latent_size), g.match, g.index_map, where=key)
        except EngineError as exc:
            diags.error(where, str(exc).removeprefix(f"{key}: "))
            return
    if first.discrete and g.match == "pad_noise" and any(int(s) < int(first.latent_size) for s in sources):
        diags.error(f"{key}.match", f"pad_noise fills missing dims with Gaussian noise, which means nothing as "
                    f"code indices of discrete model '{g.decoders[0]}' (codebook of {first.codebook_size}); "
                    "use pad_zeros, crop or map")


def _check_mapping(box: BoxConfig, dims: dict[str, int], discrete: dict[str, str], diags: Diagnostics) -> None:
    mapping = box.mapping.mapping
    if mapping is None:
        return
    file = str(mapping.path or box.path)
    for rule in mapping.rules:
        target = rule.target
        if target is None:
            continue
        if target.graph is None:  # a rule for every graph (a generic mapping) reaches what each graph has
            continue
        where = f"map[{rule.index}].target"
        for graph in [target.graph]:
            if graph in discrete and target.name in CODE_NONSENSE:
                diags.items.append(Diagnostic(file, rule.line, where, (
                    f"{target.name} shifts or scales a continuous latent space; on graph '{graph}' the decoder "
                    f"'{discrete[graph]}' is discrete and its latents are code indices, where that means nothing "
                    "(aim the rule at another graph, or use loop/freeze/prior controls)")))
                break
            if target.dim is not None and graph in dims and target.dim >= dims[graph]:
                diags.items.append(Diagnostic(file, rule.line, f"map[{rule.index}].dim", (
                    f"latent dim {target.dim} does not exist on graph '{graph}' ({dims[graph]} latent dims)")))
                break
