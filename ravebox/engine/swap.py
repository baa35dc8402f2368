"""Decoder alternatives and hot swap with a crossfade (inference worker thread).

Why both decoders run during a fade: a RAVE decoder is a streaming model with
state, so the new one cannot just take over mid-stream. On a switch the new
decoder is first primed with the last few latent frames (its cached
convolutions fill with the same recent past), then both decode the same
latents and the output crossfades linearly over ``fade`` samples. The step
between two output samples is thus bounded by the two signals' own steps
plus ``|new - old| / fade`` -- no click larger than the crossfade allows.

Loading and warming up a replacement file never happens here: the engine's
``prepare_swap`` does it on the caller's thread and hands over a ready model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ravebox.engine import seeds
from ravebox.engine.matching import LatentMatcher

PRIME_FRAMES = 8


@dataclass
class Voice:
    """One decoder with the matcher from the graph's latent space to its dims."""

    model: object
    matcher: LatentMatcher


class DecoderBank:
    def __init__(self, decoders: list, dims: int, channels: int, fade_samples: int, seed: int,
                 graph_index: int, rng: np.random.Generator) -> None:
        self.dims, self.channels = dims, channels
        self.fade_samples = max(0, int(fade_samples))
        self.seed, self.graph_index, self._rng = seed, graph_index, rng
        self.voices = [self._voice(m) for m in decoders]
        self.current = 0
        self._old: Voice | None = None
        self._fade_pos = 0
        self._recent: list[np.ndarray] = []   # last blocks' latents (references, no copies)
        self.swaps = 0

    def _voice(self, model) -> Voice:
        return Voice(model, LatentMatcher(self.dims, int(model.latent_size), "pad_zeros", rng=self._rng))

    @property
    def fading(self) -> bool:
        return self._old is not None

    def select(self, index: int, seed_at: int) -> None:
        """Crossfade to alternative ``index`` (clamped) if it is not already playing."""
        index = min(max(int(index), 0), len(self.voices) - 1)
        if index != self.current:
            self._start_fade(self.voices[self.current], index, seed_at)

    def replace(self, index: int, model, seed_at: int, fade: bool = True) -> None:
        """Put a freshly loaded model at ``index`` and crossfade to it (``fade=False``: cut over,
        the old model is never called again -- for a graph whose old model is too slow)."""
        old = self.voices[self.current]
        self.voices[index] = self._voice(model)
        self._start_fade(old, index, seed_at, fade)

    def _start_fade(self, old: Voice, index: int, seed_at: int, fade: bool = True) -> None:
        self.current = index
        new = self.voices[index]
        torch.default_generator.manual_seed(seeds.mix(self.seed, self.graph_index, seeds.PRIME, seed_at))
        new.model.decode(torch.from_numpy(new.matcher.apply(self._history())[np.newaxis]))
        self._old, self._fade_pos = (old, 0) if fade and self.fade_samples > 0 else (None, 0)
        self.swaps += 1

    def decode(self, z: np.ndarray, seed: int) -> np.ndarray:
        """(dims, k) latents -> (channels, n) audio, crossfading while a fade runs."""
        self._remember(z)
        y = self._run(self.voices[self.current], z, seed)
        if self._old is None:
            return y
        old = self._run(self._old, z, seed)
        n = y.shape[1]
        g = np.clip((self._fade_pos + 1 + np.arange(n)) / self.fade_samples, 0.0, 1.0).astype(np.float32)
        y = old + g * (y - old)
        self._fade_pos += n
        if self._fade_pos >= self.fade_samples:
            self._old = None
        return y

    def _run(self, voice: Voice, z: np.ndarray, seed: int) -> np.ndarray:
        torch.default_generator.manual_seed(seed)
        y = voice.model.decode(torch.from_numpy(voice.matcher.apply(z)[np.newaxis])).numpy()[0]
        if y.shape[0] == self.channels:
            return y
        return y[[min(c, y.shape[0] - 1) for c in range(self.channels)]]

    def _remember(self, z: np.ndarray) -> None:
        """Keep references to the latest blocks covering PRIME_FRAMES frames (z is never written later)."""
        recent = self._recent
        recent.append(z)
        if len(recent) > PRIME_FRAMES:
            del recent[0]

    def _history(self) -> np.ndarray:
        """The last PRIME_FRAMES latent frames, zeros before the stream began."""
        past = np.concatenate([np.zeros((self.dims, PRIME_FRAMES), np.float32), *self._recent], axis=1)
        return np.ascontiguousarray(past[:, -PRIME_FRAMES:])

    def reset(self) -> None:
        for voice in self.voices:
            voice.model.reset()
        self._old = None


class LatentFade:
    """A linear 0 -> 1 ramp over ``frames`` latent frames (encoder and prior swaps fade latents)."""

    def __init__(self, frames: int) -> None:
        self.frames, self.pos = max(1, frames), 0

    @property
    def done(self) -> bool:
        return self.pos >= self.frames

    def gains(self, k: int) -> np.ndarray:
        g = np.clip((self.pos + 1 + np.arange(k)) / self.frames, 0.0, 1.0).astype(np.float32)
        self.pos += k
        return g
