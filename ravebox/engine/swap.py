"""Decoder alternatives and hot swap with a crossfade (inference worker thread).

Why both decoders run during a fade: a RAVE decoder is a streaming model with
state, so the new one cannot just take over mid-stream. On a switch the new
decoder is first primed with the last few latent frames (its cached
convolutions fill with the same recent past), then both decode the same
latents and the output crossfades linearly over ``fade`` box samples. The step
between two output samples is thus bounded by the two signals' own steps
plus ``|new - old| / fade`` -- no click larger than the crossfade allows.

Rates: each alternative runs in its own rate domain (sample rate and ratio).
The graph's latent frames are the first decoder's; another alternative reads
them through its own latent-rate converter, decodes exactly the frames its
output owes the box (``frames_due``) and returns to the box rate through its
own resampler, padded so every alternative lands on the same latency. The
crossfade therefore runs on box samples. An alternative that is not playing
keeps its counts (and its recent latents, for the priming) without running
its model or its resampler.

Loading and warming up a replacement file never happens here: the engine's
``prepare_swap`` does it on the caller's thread and hands over a ready model.
"""

from __future__ import annotations

import collections

import numpy as np
import torch

from ravebox.engine import seeds
from ravebox.engine.domains import BoxRates, Domain, frames_due, voice_latency
from ravebox.engine.latent_rate import LatentRateConverter
from ravebox.engine.matching import LatentMatcher
from ravebox.engine.roles import Codec
from ravebox.engine.resample import StreamResampler

PRIME_FRAMES = 8


class OutputQueue:
    """Decoder audio at the decoder's rate -> exactly ``n`` box frames per engine block.

    ``pad`` frames of silence first line this decoder up with the graph's (and the box's) latency.
    Identity (no copy) when the decoder runs at the box rate and fills the block exactly."""

    def __init__(self, resampler: StreamResampler, pad: int) -> None:
        self.resampler = resampler
        self.identity = resampler.identity and pad == 0
        self._queue = np.zeros((resampler.channels, max(0, pad)), dtype=np.float32)

    def take(self, y: np.ndarray | None, n: int) -> np.ndarray:
        y = self.resampler.process(y) if y is not None else None
        if not self._queue.shape[1] and y is not None and y.shape[1] == n:
            return y
        if y is not None and y.shape[1]:
            self._queue = np.concatenate([self._queue, y], axis=1)
        return self._cut(n)

    def skip(self, samples: int, n: int) -> None:
        """A decoder not playing: ``samples`` it would have decoded count as silence (no resampling)."""
        if self.identity:
            return
        due = self.resampler.skip(samples)
        if due:
            self._queue = np.concatenate([self._queue, np.zeros((self._queue.shape[0], due), np.float32)], axis=1)
        self._cut(n)

    def _cut(self, n: int) -> np.ndarray:
        have = self._queue.shape[1]
        if have < n:  # never expected: the schedule runs enough frames; pad rather than fail
            self._queue = np.concatenate([self._queue, np.zeros((self._queue.shape[0], n - have), np.float32)], axis=1)
        out, self._queue = self._queue[:, :n], self._queue[:, n:]
        return out


class Voice:
    """One decoder in its own domain: the matcher from the graph's latent dims to its dims, the
    converter from the graph's frames to its frames, and its queue back to the box rate."""

    def __init__(self, model: Codec, graph_dims: int, graph: Domain, rates: BoxRates, channels: int, latency: int,
                 hold: bool, rng: np.random.Generator) -> None:
        self.model = model
        self.matcher = LatentMatcher(graph_dims, int(model.latent_size), "pad_zeros", rng=rng)
        self.domain = domain = rates.domain(model)
        self.box_rate, self.channels = rates.box_rate, channels
        hop, self.latency = voice_latency(rates.box_rate, rates.block, graph, domain, channels)
        self.latents = LatentRateConverter(graph_dims, hop.step, hop.delay, hold=hold)
        pad = latency - self.latency
        self.late_by = max(0, -pad)   # box frames it plays behind the graph's latency (a hot swap only)
        self.output = OutputQueue(StreamResampler(domain.rate, rates.box_rate, channels), max(0, pad))
        self.native = self.latents.identity and self.output.identity
        self.frames = 0               # latent frames of its own domain so far (run or skipped)
        self.box_total = 0            # box frames asked of it so far
        # its last blocks' latents (graph dims), for priming: at most PRIME_FRAMES blocks of at least a frame
        self.recent: collections.deque[np.ndarray] = collections.deque(maxlen=PRIME_FRAMES)

    def frames_now(self, z: np.ndarray | None, n: int) -> np.ndarray:
        """Graph frames of this block in, this voice's frames of this block out (graph dims)."""
        self.box_total += n
        if self.latents.identity:  # same domain: the graph's frames are its frames
            out = z if z is not None else np.zeros((self.latents.dims, 0), np.float32)
        else:
            if z is not None:
                self.latents.push(z)
            k = int(frames_due(self.box_total, self.box_rate, self.domain)) - self.frames
            out = self.latents.pull(k)
        self.frames += out.shape[1]
        if out.shape[1]:
            self.recent.append(out)     # references, never written later
        return out

    def history(self) -> np.ndarray:
        """The last PRIME_FRAMES of its latent frames, zeros before the stream began."""
        past = np.concatenate([np.zeros((self.latents.dims, PRIME_FRAMES), np.float32), *self.recent], axis=1)
        return np.ascontiguousarray(past[:, -PRIME_FRAMES:])

    def decode(self, z: np.ndarray, seed: int) -> np.ndarray | None:
        if not z.shape[1]:
            return None
        torch.default_generator.manual_seed(seed)
        y = self.model.decode(torch.from_numpy(self.matcher.apply(z)[np.newaxis])).numpy()[0]
        if y.shape[0] == self.channels:
            return y
        return y[[min(c, y.shape[0] - 1) for c in range(self.channels)]]

    def play(self, z: np.ndarray, seed: int, n: int) -> np.ndarray:
        return self.output.take(self.decode(z, seed), n)

    def skip(self, z: np.ndarray, n: int) -> None:
        self.output.skip(z.shape[1] * self.domain.ratio, n)


class DecoderBank:
    """The decoder alternatives of one graph; ``decode`` gives the box frames of one engine block."""

    def __init__(self, decoders: list[Codec], dims: int, channels: int, fade_samples: int, seed: int,
                 graph_index: int, rng: np.random.Generator, rates: BoxRates, latency: int) -> None:
        """``latency``: box frames from the graph's latent frames to the box output that every
        alternative is padded to (its slowest alternative's, or more to match the box's slowest graph)."""
        self.dims, self.channels = dims, channels
        self.fade_samples = max(0, int(fade_samples))
        self.seed, self.graph_index, self._rng = seed, graph_index, rng
        self.rates, self.domain = rates, rates.domain(decoders[0])
        self.hold = bool(decoders[0].discrete)
        self.latency = latency
        self.voices = [self._voice(m) for m in decoders]
        self.current = 0
        self._old: Voice | None = None
        self._fade_pos = 0
        self.swaps = 0

    def _voice(self, model: Codec) -> Voice:
        return Voice(model, self.dims, self.domain, self.rates, self.channels, self.latency, self.hold, self._rng)

    @property
    def native(self) -> bool:
        return all(v.native for v in self.voices)

    @property
    def fading(self) -> bool:
        return self._old is not None

    def select(self, index: int, seed_at: int) -> None:
        """Crossfade to alternative ``index`` (clamped) if it is not already playing."""
        index = min(max(int(index), 0), len(self.voices) - 1)
        if index != self.current:
            self._start_fade(self.voices[self.current], index, seed_at)

    def replace(self, index: int, model: Codec, seed_at: int, fade: bool = True) -> Voice:
        """Put a freshly loaded model at ``index`` and crossfade to it (``fade=False``: cut over,
        the old model is never called again -- for a graph whose old model is too slow)."""
        old = self.voices[self.current]
        new = self.voices[index] = self._voice(model)
        new.frames, new.box_total = self._counts_at(new, old.box_total)
        self._start_fade(old, index, seed_at, fade)
        return new

    def _counts_at(self, voice: Voice, box_total: int) -> tuple[int, int]:
        """A voice joining mid-stream: the frames it owes by now (its converter starts at the graph's now)."""
        due = int(frames_due(box_total, voice.box_rate, voice.domain))
        if not voice.latents.identity:
            voice.latents.start_at(int(frames_due(box_total, voice.box_rate, self.domain)), due)
        voice.output.resampler.skip_to(due * voice.domain.ratio)
        return due, box_total

    def _start_fade(self, old: Voice, index: int, seed_at: int, fade: bool = True) -> None:
        self.current = index
        new = self.voices[index]
        torch.default_generator.manual_seed(seeds.mix(self.seed, self.graph_index, seeds.PRIME, seed_at))
        new.model.decode(torch.from_numpy(new.matcher.apply(new.history())[np.newaxis]))
        self._old, self._fade_pos = (old, 0) if fade and self.fade_samples > 0 else (None, 0)
        self.swaps += 1

    def decode(self, z: np.ndarray | None, seed: int, n: int) -> np.ndarray:
        """The graph's (dims, k) latents of this block -> (channels, n) box frames, crossfading while a
        fade runs (``z`` None: the graph ran no frame this block)."""
        out: np.ndarray | None = None
        old: np.ndarray | None = None
        for i, voice in enumerate(self.voices):
            frames = voice.frames_now(z, n)
            if i == self.current:
                out = voice.play(frames, seed if voice.latents.identity else seeds.mix(seed, i), n)
            elif voice is self._old:
                old = voice.play(frames, seed if voice.latents.identity else seeds.mix(seed, i), n)
            else:
                voice.skip(frames, n)
        if self._old is not None and self._old not in self.voices:   # a replaced model fading out
            voice = self._old
            old = voice.play(voice.frames_now(z, n), seed if voice.latents.identity else seeds.mix(seed, -1), n)
        assert out is not None   # the current voice always plays
        if old is None:
            return out
        g = np.clip((self._fade_pos + 1 + np.arange(n)) / self.fade_samples, 0.0, 1.0).astype(np.float32)
        y = old + g * (out - old)
        self._fade_pos += n
        if self._fade_pos >= self.fade_samples:
            self._old = None
        return y

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
