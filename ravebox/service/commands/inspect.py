"""`ravebox inspect MODEL.ts [--json]`: print what a model file offers.

Why a command of its own: before wiring a model into a box config a user needs
its kind, rate, ratio and latent counts, and nn~ exports from different
RAVE/nn_tilde/MSPrior versions describe themselves differently; this shows
what ravebox's loader will see. It never warms up or runs the model.
Runs on the main thread; exit code 0, or 1 when the file is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ravebox.models.introspect import ModelInfo

HELP = "print what a model file offers (methods, ratios, attributes)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="+", help="TorchScript model file(s) (.ts)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (a list for several)")


def run(args: argparse.Namespace) -> int:
    from ravebox.errors import ModelError
    from ravebox.models import inspect_model

    infos, status = [], 0
    for path in args.model:
        try:
            infos.append(inspect_model(path))
        except ModelError as exc:
            print(f"ravebox inspect: {exc}", file=sys.stderr)
            status = 1
    if args.json:
        data = [info.to_json() for info in infos]
        print(json.dumps(data[0] if len(args.model) == 1 and data else data, indent=2))
    else:
        print("\n\n".join(format_text(info) for info in infos))
    return status


def format_text(info: ModelInfo) -> str:
    """A human summary of a ModelInfo, one fact per line."""
    rate = f"{info.sample_rate} Hz" if info.sample_rate else "unknown (not stored in the file)"
    lines = [
        f"{info.path}",
        f"  kind              {info.kind}",
        f"  sample rate       {rate}  [{info.sources.get('sample_rate')}]",
        f"  ratio             {info.ratio}",
        _latent_line(info),
        f"  streaming         {'yes' if info.streaming else 'no'} ({info.cache_buffers} cache buffers)",
    ]
    if info.in_latents is not None:
        lines.append(f"  prior             takes {info.in_latents} dims, {info.prior_ratio} samples/step, "
                     f"at most {info.max_prior_steps or '?'} steps/call")
    lines.append(f"  methods           [{info.sources.get('methods')}]")
    for name, m in info.methods.items():
        lines.append(f"    {name:<16}({m.in_channels} ch / {m.in_ratio}) -> ({m.out_channels} ch / {m.out_ratio})")
    lines.append(f"  attributes        [{info.sources.get('attributes')}]" + ("" if info.attributes else " none"))
    for name, a in info.attributes.items():
        lines.append(f"    {name:<16}{', '.join(a.types) or '?'} = {value_text(a.value)}")
    return "\n".join(lines)


def _latent_line(info: ModelInfo) -> str:
    if info.codebook_size:
        return (f"  latent size       {info.latent_size} codes per step (discrete: decode takes code indices "
                f"0..{info.codebook_size - 1}, not latent values)")
    return f"  latent size       {info.latent_size} (full {info.full_latent_size})"


def value_text(value: object) -> str:
    """An attribute value as a person reads it: nn~ getters return one value per type, as a tuple or list."""
    if isinstance(value, (tuple, list)):
        return ", ".join(value_text(v) for v in value) if value else "(none)"
    import torch  # loaded already: the model was

    if isinstance(value, torch.Tensor):
        return f"tensor{list(value.shape)}"
    return repr(value) if isinstance(value, str) else str(value)
