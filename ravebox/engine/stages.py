"""The stages a graph installs and hot-swaps: an encoder with its feed across rates, a prior with its clock.

Split out of ``graph.py``: a stage is built on any thread (``GraphRunner.encoder_stage``,
``prior_stage``: a swap prepares one beside the playing graph) and installed by the
worker; once installed it runs on the inference worker (live) or the render loop,
once per engine block. Deterministic given its inputs and seeds.
"""

from __future__ import annotations

import numpy as np
import torch

from ravebox.engine import seeds
from ravebox.engine.domains import Domain, LatentHop, frames_due
from ravebox.engine.latent_rate import LatentRateConverter
from ravebox.engine.matching import LatentMatcher
from ravebox.engine.prior import PriorDriver
from ravebox.engine.resample import StreamResampler
from ravebox.engine.roles import Codec


class EncoderFeed:
    """Box audio -> encoder rate -> whole encoder blocks; latents -> the graph's frame rate.

    Both halves are identity when the encoder runs at the box rate and the graph's frame rate:
    then every block is encoded whole and its frames pass straight through."""

    def __init__(self, resampler: StreamResampler, ratio: int, converter: LatentRateConverter) -> None:
        self.resampler, self.ratio, self.converter = resampler, ratio, converter
        self.native = resampler.identity and converter.identity
        self._pending = np.zeros((resampler.channels, 0), dtype=np.float32)
        self.encoded = 0   # encoder frames produced so far (seeds)

    def whole_blocks(self, audio: np.ndarray) -> np.ndarray:
        """The samples (at the encoder's rate) that fill whole encoder frames now; the rest waits."""
        a = self.resampler.process(audio)
        if not self._pending.shape[1] and not a.shape[1] % self.ratio:
            return a   # the steady state of an encoder at the box's rate: whole frames, nothing waits
        if self._pending.shape[1]:
            a = np.concatenate([self._pending, a], axis=1)
        whole = a.shape[1] - a.shape[1] % self.ratio
        self._pending = a[:, whole:]
        return a[:, :whole] if whole < a.shape[1] else a


class EncoderStage:
    """An encoder, its feed across rates, and the matchers that bring its latents to the graph
    (and to the prior)."""

    def __init__(self, model: Codec, live: LatentMatcher, listen: LatentMatcher | None, feed: EncoderFeed) -> None:
        self.model, self.live, self.listen, self.feed = model, live, listen, feed
        self.native = feed.native

    def run(self, audio: np.ndarray, k: int, seed_base: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(live, listen) latents for the next ``k`` graph frames, from one box block of ``audio``."""
        feed = self.feed
        block = feed.whole_blocks(audio)
        if block.shape[1]:
            torch.default_generator.manual_seed(seeds.at(seed_base, feed.encoded))
            z = self.model.encode(torch.from_numpy(np.ascontiguousarray(block)[np.newaxis])).numpy()[0]
            feed.encoded += z.shape[1]
            feed.converter.push(z)
        z = feed.converter.pull(k)
        return self.live.apply(z), (self.listen.apply(z) if self.listen is not None else None)

    def prime(self, audio: np.ndarray, seed: int) -> None:
        """Let the encoder hear ``audio`` (its stream state moves on); the latents are dropped and
        the feed's counts stay (native encoders only: their feed is an identity)."""
        torch.default_generator.manual_seed(seed)
        self.model.encode(torch.from_numpy(np.ascontiguousarray(audio)[np.newaxis]))


class PriorClock:
    """A prior in its own rate domain (another frame rate than its graph's decoder).

    The graph's per-frame inputs -- the latents the prior listens to, ``prior.listen`` and
    ``prior.temperature`` -- cross to the prior's frames through one latent converter (as extra
    rows: listen is interpolated, then thresholded at 0.5); the prior runs exactly the frames
    due on the box's clock (``frames_due``); its latents cross back to the graph's frames through
    another. Both hops are causal for the engine's block schedule (``plan_hop``); the prior's
    latents are generated, not an image of the input, so their lag is not added to the latency.
    """

    def __init__(self, domain: Domain, box_rate: int, inbound: LatentHop, outbound: LatentHop, hold: bool) -> None:
        self.domain, self.box_rate = domain, box_rate
        self._inbound, self._outbound, self._hold = inbound, outbound, hold
        self.inbound: LatentRateConverter | None = None   # sized by the first call (the prior's in_latents + 2)
        self.outbound: LatentRateConverter | None = None
        self.frames = 0          # prior frames run so far
        self._joined = (0, 0)    # (graph frames, prior frames) when it started

    def start_at(self, box_total: int, graph_frames: int) -> None:
        """A prior swapped in mid-stream: its counts join the graph's now."""
        self.frames = int(frames_due(box_total, self.box_rate, self.domain))
        self._joined = (graph_frames, self.frames)

    def run(self, driver: PriorDriver, z_in: np.ndarray | None, temperature: np.ndarray, listen: np.ndarray,
            box_total: int) -> np.ndarray:
        """The prior's latents at the graph's frames for this block's ``len(temperature)`` graph frames."""
        k = len(temperature)
        if self.inbound is None:
            self.inbound = LatentRateConverter(driver.in_latents + 2, self._inbound.step, self._inbound.delay)
            self.outbound = LatentRateConverter(driver.latent_size, self._outbound.step, self._outbound.delay,
                                                hold=self._hold)
            graph_frames, frames = self._joined
            self.inbound.start_at(graph_frames, frames)
            self.outbound.start_at(frames, graph_frames)
        assert self.outbound is not None
        rows = np.zeros((driver.in_latents + 2, k), np.float32)
        if z_in is not None:
            rows[:-2] = z_in
        rows[-2], rows[-1] = listen, temperature
        self.inbound.push(rows)
        due = int(frames_due(box_total, self.box_rate, self.domain)) - self.frames
        if due > 0:
            heard = self.inbound.pull(due)
            z = driver.run(heard[:-2] if z_in is not None else None, heard[-1],
                           (heard[-2] >= 0.5).astype(np.float32), self.frames)
            self.frames += due
            self.outbound.push(z)
        return self.outbound.pull(k)


class PriorStage:
    """A prior driver, its output matcher into the graph, the loop's matcher into its input and,
    for a prior at another frame rate than the graph's, its :class:`PriorClock`."""

    def __init__(self, driver: PriorDriver, out: LatentMatcher, loop_in: LatentMatcher,
                 clock: PriorClock | None = None) -> None:
        self.driver, self.out, self.loop_in, self.clock = driver, out, loop_in, clock

    def run(self, z_in: np.ndarray | None, temperature: np.ndarray, listen: np.ndarray, first: int,
            box_total: int) -> np.ndarray:
        if self.clock is None:
            return self.out.apply(self.driver.run(z_in, temperature, listen, first))
        return self.out.apply(self.clock.run(self.driver, z_in, temperature, listen, box_total))
