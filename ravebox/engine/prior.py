"""Drives an MSPrior per latent frame: temperature and listen change at frame rate.

Why split calls: temperature and listen are model attributes, one value per
call. To honour per-frame parameter values the block is cut into runs of
frames that share both values, and the prior runs once per run -- a single
call in the common case. Thread: inference worker.

``listen = 1`` feeds the encoded live input (matched to the prior's input
count) into the prior's context; switching back to 0 generates onward from
that context. A graph without an encoder cannot listen to input: it
generates, except while its latent loop primes the prior (see
``GraphRunner._prime_from_loop``), which passes the loop as ``z_in``.
"""

from __future__ import annotations

import numpy as np
import torch

from ravebox.engine import seeds
from ravebox.engine.roles import Prior


class PriorDriver:
    def __init__(self, prior: Prior, seed: int, graph_index: int) -> None:
        self.prior = prior
        self.seed, self.graph_index = seed, graph_index
        self.in_latents = int(prior.in_latents)
        self.latent_size = int(prior.latent_size)
        self.max_steps = int(prior.max_steps or 1 << 30)  # frames per call (None: unlimited)
        self._temperature: float | None = None
        self._listen: bool | None = None
        self._zeros = np.zeros((self.in_latents, 64), dtype=np.float32)

    def run(self, z_in: np.ndarray | None, temperature: np.ndarray, listen: np.ndarray,
            start_latent: int) -> np.ndarray:
        """Prior latents (latent_size, k) for ``k = len(temperature)`` frames."""
        k = len(temperature)
        source = z_in if z_in is not None else self._silence(k)
        out = np.empty((self.latent_size, k), dtype=np.float32)
        a = 0
        while a < k:
            b = a + 1
            while (b < k and b - a < self.max_steps
                   and temperature[b] == temperature[a] and listen[b] == listen[a]):
                b += 1
            self._configure(float(temperature[a]), bool(listen[a]) and z_in is not None)
            torch.default_generator.manual_seed(seeds.mix(self.seed, self.graph_index, seeds.PRIOR, start_latent + a))
            y = self.prior.forward(torch.from_numpy(np.ascontiguousarray(source[np.newaxis, :, a:b])))
            out[:, a:b] = y.numpy()[0, :self.latent_size]
            a = b
        return out

    def _configure(self, temperature: float, listen: bool) -> None:
        if temperature != self._temperature:
            self.prior.set_temperature(temperature)
            self._temperature = temperature
        if listen != self._listen:
            self.prior.set_listen(listen)
            self._listen = listen

    def _silence(self, k: int) -> np.ndarray:
        if self._zeros.shape[1] < k:
            self._zeros = np.zeros((self.in_latents, k), dtype=np.float32)
        return self._zeros[:, :k]

    def reset(self) -> None:
        self.prior.reset()
        self._temperature = self._listen = None
