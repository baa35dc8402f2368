"""What one engine block of a graph costs on this machine: ``measure_role`` and ``GraphCost``.

Why per role: a hot swap replaces one model of a playing graph, and the models
that keep playing cannot be timed beside the worker (their calls advance the
stream). So each model is timed alone, in the call its role makes (encoder:
``encode``, decoder: ``decode``, prior: ``forward``) at the engine block, and a
graph's cost is the sum: encoder + prior + the costliest decoder. Adding p99s
over-estimates the graph's p99 a little, which is the safe side for headroom.

Runs on the loading thread (start-up, a swap) or the ``fit`` command; every
timed model is reset afterwards, so measuring leaves no trace in the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ravebox.models.timing import ZERO, CallTiming, evict_caches, time_calls

ROLES = ("encoder", "prior", "decoder")
# how the daemon times a box before it plays (``Engine.measure``), and ``ravebox fit`` the same way, so that
# fit recommends what the auto block multiple chooses: 60 calls (a p99 of 12 is their slowest), at most 4 s
# per model, caches flushed before each call
STARTUP_CALLS = 60
STARTUP_BUDGET_S = 4.0


def measure_role(model, role: str, block: int, calls: int = 30, budget_s: float = 2.0,
                 cold: bool = False) -> CallTiming:
    """Seconds per engine block of ``model`` in ``role`` (``"decoder"`` or ``"decoder:N"``), reset afterwards.

    Inputs are seeded noise, not zeros (audio and latents as played, never denormal-free by
    luck); ``cold``: caches are flushed before each timed call (:func:`evict_caches`), as the
    rest of the box does between two blocks."""
    ratio = int(model.ratio)
    k = max(1, -(-block // ratio))  # a model at another rate runs about this many frames a block
    kind = role.split(":")[0]
    noise = torch.Generator().manual_seed(block)
    if kind == "encoder":
        x = 0.1 * torch.randn(1, int(model.in_channels), k * ratio, generator=noise)

        def call() -> object:
            return model.encode(x)
    elif kind == "decoder":
        z = torch.randn(1, int(model.latent_size), k, generator=noise)

        def call() -> object:
            return model.decode(z)
    elif kind == "prior":
        step = min(k, int(model.max_steps or k))
        z = torch.randn(1, int(model.in_latents), step, generator=noise)
        chunks = -(-k // step)

        def call() -> object:
            for _ in range(chunks):
                model.forward(z)
            return None
    else:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    try:
        return time_calls(call, calls=calls, budget_s=budget_s, between=evict_caches if cold else None)
    finally:
        model.reset()


@dataclass(frozen=True, slots=True)
class GraphCost:
    """Measured seconds per engine block of one graph, per role; ``block_s`` is the block's audio time."""

    graph: str
    block_s: float
    parts: dict[str, CallTiming] = field(default_factory=dict)

    @property
    def total(self) -> CallTiming:
        decoders = [t for role, t in self.parts.items() if role.startswith("decoder")]
        worst_decoder = max(decoders, key=lambda t: t.p99, default=ZERO)
        return self.parts.get("encoder", ZERO) + self.parts.get("prior", ZERO) + worst_decoder

    @property
    def realtime_factor(self) -> float:
        """Median block cost over the block's duration (above 1: cannot keep up)."""
        return self.total.p50 / self.block_s if self.block_s else 0.0

    @property
    def over_budget(self) -> bool:
        """The measured p99 exceeds the block's own duration: no headroom can save it."""
        return self.total.p99 > self.block_s

    def with_part(self, role: str, timing: CallTiming) -> "GraphCost":
        return GraphCost(self.graph, self.block_s, {**self.parts, role: timing})

    def to_json(self) -> dict[str, object]:
        total = self.total
        return {"block_ms": round(self.block_s * 1e3, 3), **total.to_json(),
                "realtime_factor": round(self.realtime_factor, 3), "over_budget": self.over_budget,
                "parts": {role: t.to_json() for role, t in self.parts.items()}}


def measure_graph(name: str, roles: dict[str, object], block: int, sample_rate: int, calls: int = 30,
                  budget_s: float = 2.0, cold: bool = False) -> GraphCost:
    """``roles`` maps ``"encoder"``/``"prior"``/``"decoder:N"`` to the model playing it."""
    parts = {role: measure_role(model, role, block, calls, budget_s, cold) for role, model in roles.items()}
    return GraphCost(name, block / float(sample_rate), parts)
