"""Deterministic seeds for every random draw the engine causes.

Why: RAVE decoders and MSPrior sample from torch's global generator, so a
render repeats byte for byte only if each model call starts from a seed that
depends on *what* is computed (seed, graph, role, position), never on what
ran before (a warm-up on another thread, say). ``torch.default_generator.
manual_seed`` costs about a microsecond; ``torch.manual_seed`` costs ~70 us
because it also visits every device, so the engine uses the former.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1


def mix(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix64 over the parts)."""
    state = 0x9E3779B97F4A7C15
    for part in parts:
        state = (state ^ (int(part) & _MASK)) & _MASK
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        state = z ^ (z >> 31)
    return state & 0x7FFFFFFFFFFFFFFF


def at(base: int, position: int) -> int:
    """A per-position seed from a :func:`mix` base: one multiply and xor (the per-block hot path)."""
    return (base ^ ((position * 0x9E3779B97F4A7C15) & _MASK)) & 0x7FFFFFFFFFFFFFFF


ENCODE, PRIOR, DECODE, LOOP, PRIME = 1, 2, 3, 4, 5
