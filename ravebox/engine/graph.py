"""One voice of the box: input -> encoder / prior -> latent ops -> decoder bank.

Rates: the graph's latent frames are its (first) decoder's, at that decoder's
own sample rate and ratio. Box audio reaches the encoder through a resampler
and the encoder's latents reach the decoder's frame rate through a latent-rate
converter (both identity when the rates agree); the decoder's audio returns to
the box rate through a resampler and a queue, so an engine block need not hold
a whole number of model frames (``ravebox.engine.domains`` plans the counts).

The stages a graph installs and swaps (an encoder with its feed across rates,
a prior with its own frame clock) are in ``stages.py``.

Thread: the inference worker (live) or the render loop, once per engine
block. Pure given its inputs, its state and the seed: the same audio,
parameters and clock give the same output, block for block.

Why one module of about 370 lines (over the house rule's 350): a block's path
through the graph -- input guard, encode or skip it, the prior, the loop, the
latent ops, the decoder bank, the crossfades of a swap -- reads and writes the
same per-graph state (frame counts, the skipped block, the fades) in one order;
each step is a short method, and a split would pass that state back and forth.
"""

from __future__ import annotations

import math

import numpy as np

from ravebox.clock.view import ClockView
from ravebox.config.graphs import GraphSpec
from ravebox.engine import seeds
from ravebox.engine.domains import BoxRates, Domain, box_frames, frames_due, graph_latency, plan_graph, plan_hop
from ravebox.engine.latent_rate import LatentRateConverter
from ravebox.engine.latent_ops import Freezer, Shaper, per_frame
from ravebox.engine.loop import LatentLoop
from ravebox.engine.matching import LatentMatcher
from ravebox.engine.prior import PriorDriver
from ravebox.engine.resample import ANALYSIS_CONVERTER, StreamResampler
from ravebox.engine.roles import Prior
from ravebox.engine.stages import EncoderFeed, EncoderStage, PriorClock, PriorStage
from ravebox.engine.swap import DecoderBank, LatentFade
from ravebox.params.store import ParamStore
from ravebox.params.table import PARAMS, ParamKey

_LN10_20 = np.log(10.0) / 20.0


class GraphRunner:
    """Runs one :class:`GraphSpec` with loaded models; owns all per-graph state."""

    def __init__(self, spec: GraphSpec, index: int, models: dict, sample_rate: int, seed: int,
                 fade_samples: int, rates: BoxRates | None = None) -> None:
        self.spec, self.name, self.index, self.seed = spec, spec.name, index, seed
        decoders = [models[name] for name in spec.decoders]
        self.encoder = models[spec.encoder] if spec.encoder else None
        self.rates = rates or BoxRates(sample_rate, int(decoders[0].ratio))
        self.domain = self.rates.domain(decoders[0])
        self.ratio = int(decoders[0].ratio)
        self.dims = int(decoders[0].latent_size)
        self.discrete = bool(decoders[0].discrete)  # latents are code indices
        self.channels = int(decoders[0].out_channels)
        self.in_channels = int(self.encoder.in_channels) if self.encoder else 0
        self._rng = rng = np.random.default_rng(seeds.mix(seed, index, 0))
        self._frame_box = self.domain.box_frames_per_frame(sample_rate)   # box frames per latent frame
        self._fade_frames = max(1, int(fade_samples // self._frame_box))
        self.plan, encoder_side, own = graph_latency(
            self.rates.box_rate, self.rates.block, [self.rates.domain(d) for d in decoders],
            self.rates.domain(self.encoder) if self.encoder is not None else None, self.channels, self.in_channels)
        self.latency = max(own, self.rates.latency)  # padded to the box's slowest graph
        self._box_total = 0      # box frames asked of this graph so far
        self._frames_done = 0    # latent frames run so far
        self._origin: int | None = None  # latent frame index of the first block (seeds)
        self.prior = self.prior_stage(models[spec.prior]) if spec.prior else None
        self.enc = self.encoder_stage(self.encoder) if self.encoder is not None else None
        self._old_enc: tuple[EncoderStage, LatentFade] | None = None
        self._old_prior: tuple[PriorStage, LatentFade] | None = None
        self.bank = DecoderBank(decoders, self.dims, self.channels, fade_samples, seed, index, rng, self.rates,
                                self.latency - encoder_side)
        # room for the longest loop at the slowest tempo the parameter table allows
        longest = PARAMS["loop.beats"].maximum * 60.0 / PARAMS["clock.bpm"].minimum * sample_rate / float(self._frame_box)
        self.freezer, self.loop = Freezer(self.dims), LatentLoop(self.dims, int(math.ceil(longest)) + 1)
        self.shaper = Shaper(self.name, self.dims, np.random.default_rng(seeds.mix(seed, index, 1)))
        self.sample_rate = sample_rate
        self.native = self._frame_box.denominator == 1 and self.bank.native and (
            self.enc is None or self.enc.native)
        self._select = ParamKey("model.select", self.name)
        self._encode_seed = seeds.mix(seed, index, seeds.ENCODE)
        self._decode_seed = seeds.mix(seed, index, seeds.DECODE)
        self._offsets = np.zeros(0, dtype=np.int64)
        self._retrigger = ParamKey("loop.retrigger", self.name)
        self.reset_key = ParamKey("engine.reset", self.name)
        self.scrubbed: dict[str, int] = {}  # non-finite values kept out of the models, by stage
        self.skip_unused_encodes = True     # see _encode_unused
        self.skipped_encodes = 0
        self._skipped: tuple[np.ndarray, int] | None = None  # (last skipped input block, its first frame)

    # -- stages (built on any thread; installed by the worker) ------------------------------
    def encoder_stage(self, model) -> EncoderStage:
        """An encoder with its matchers into this graph's latent space (and the prior's input)."""
        spec, where = self.spec, f"graphs.{self.spec.name}"
        live = LatentMatcher(int(model.latent_size), self.dims, spec.match, spec.index_map, self._rng, where)
        listen = (LatentMatcher(int(model.latent_size), self.prior.driver.in_latents, "pad_zeros", rng=self._rng)
                  if self.prior is not None else None)
        return EncoderStage(model, live, listen, self._feed(model))

    def _feed(self, model) -> EncoderFeed:
        """Box audio -> the encoder's rate -> whole encoder blocks -> latents at the graph's frame rate.

        The first encoder gets the planned delay; a swapped-in encoder of another rate keeps the
        graph's latency where it can (never less than its own causal minimum)."""
        rates, domain = self.rates, self.rates.domain(model)
        plan = plan_graph(rates.box_rate, rates.block, self.domain, domain, self.channels, int(model.in_channels))
        if model is not self.encoder and plan.latency < self.plan.latency:
            plan = plan_graph(rates.box_rate, rates.block, self.domain, domain, self.channels,
                              int(model.in_channels), latency=self.plan.latency)
        converter = LatentRateConverter(int(model.latent_size), plan.latent_step, plan.latent_delay,
                                        hold=bool(model.discrete))
        resampler = StreamResampler(rates.box_rate, domain.rate, int(model.in_channels), ANALYSIS_CONVERTER)
        return EncoderFeed(resampler, domain.ratio, converter)

    def prior_stage(self, model) -> PriorStage:
        spec, where = self.spec, f"graphs.{self.spec.name}"
        driver = PriorDriver(model, self.seed, self.index)
        out = LatentMatcher(driver.latent_size, self.dims, spec.match, spec.index_map, self._rng, where)
        loop_in = LatentMatcher(self.dims, driver.in_latents, "pad_zeros", rng=self._rng)
        domain = self._prior_domain(model)
        if domain == self.domain:
            return PriorStage(driver, out, loop_in)
        rates = self.rates
        inbound = plan_hop(rates.box_rate, rates.block, self.domain, domain)     # the graph's frames -> the prior's
        outbound = plan_hop(rates.box_rate, rates.block, domain, self.domain)    # and back
        return PriorStage(driver, out, loop_in, PriorClock(domain, rates.box_rate, inbound, outbound, self.discrete))

    def _prior_domain(self, model: Prior) -> Domain:
        """The prior's frames: its own rate if it says one (an MSPrior export does not: then its graph's
        first decoder's, the rate of the latents it was trained on), at its own ratio."""
        rate = (self.rates.played or {}).get(id(model)) or model.sample_rate or self.domain.rate
        return Domain(int(rate), int(model.ratio))

    def install(self, role: str, stage, fade: bool = True) -> None:
        """Worker thread: make a prepared stage current, crossfading latents from the old one
        (``fade=False``: cut over, the old model is never called again)."""
        if role == "encoder":
            self._old_enc = (self.enc, LatentFade(self._fade_frames)) if fade else None
            self.enc, self.encoder = stage, stage.model
        elif role == "prior":
            self._old_prior = (self.prior, LatentFade(self._fade_frames)) if fade else None
            if stage.clock is not None:
                stage.clock.start_at(self._box_total, self._frames_done)
            self.prior = stage
        else:
            raise ValueError(role)

    def process(self, x: np.ndarray | None, n: int, start: int, store: ParamStore, clock: ClockView,
                active: frozenset[str]) -> np.ndarray:
        """Wet audio (channels, n) for input ``x`` (ch, n) or None (``n``: the engine block)."""
        k0 = self._frames_done
        if self._origin is None:
            self._origin = start // int(self._frame_box) if self.native else int(start / self._frame_box)
        self._box_total += n
        k = int(frames_due(self._box_total, self.rates.box_rate, self.domain)) - k0
        self._frames_done += k
        offsets = self._frame_offsets(k0, k, n)
        # absolute frames are only read when a parameter was set or the loop runs (saves an alloc)
        frames = start + offsets if active or self.loop.state != "idle" else offsets
        first = self._origin + k0
        encoded: tuple = (None, None)
        if self.enc is not None:  # skipping is for encoders at the graph's rates (a converter keeps counts)
            if self.enc.native and self._encode_unused(frames, store, clock, active):
                encoded = self._skip_encode(x, n, start, store, active, k)
            else:
                encoded = self._encode(x, n, start, store, active, k)
        if k == 0:
            return self.bank.decode(None, seeds.at(self._decode_seed, first), n)
        z = self._source(encoded, frames, store, clock, active, first)
        if "latent.freeze" in active:
            self.freezer.process(z, per_frame(store, "latent.freeze", self.name, frames, active))
        exact = self._loop(z, frames, store, clock, active)
        if not self.discrete:  # bias/scale/noise mean nothing on code indices (ravebox check refuses them)
            self.shaper.process(z, frames, store, active)
        z = self._guard(z, "latent")
        if "model.select" in active:
            self.bank.select(int(store.value(self._select, start)), first)
        seed = (seeds.mix(self.seed, self.index, seeds.LOOP, self.loop.generation, self.loop.slot)
                if exact else seeds.at(self._decode_seed, first))
        return self.bank.decode(z, seed, n)

    def _frame_offsets(self, k0: int, k: int, n: int) -> np.ndarray:
        """Box frame of each latent frame of this block, relative to the block's start."""
        if not self.native:
            return box_frames(k0, k, self.rates.box_rate, self.domain) - (self._box_total - n)
        if len(self._offsets) != k:
            self._offsets = np.arange(k, dtype=np.int64) * self.ratio
        return self._offsets

    def _encode_unused(self, frames: np.ndarray, store: ParamStore, clock: ClockView, active: frozenset[str]) -> bool:
        """Nobody will use this block's encoding: skip the encoder (the costliest call of a transfer graph).

        - a transfer graph whose loop replays exactly (dissolve 0, no re-arm, no freeze
          capturing the input): the loop overwrites every latent frame;
        - a prior graph whose prior does not listen (``prior.listen`` 0 on every frame, and
          no loop priming it): the prior then generates and ignores its input.
        Not while an encoder swap crossfades. A muted graph (``graph.mute``) is NOT skipped:
        the output stage applies the mute at play time, a block after the engine computes it,
        so the first block after an unmute must already be real.
        """
        if not self.skip_unused_encodes or self._old_enc is not None:
            return False
        if self.spec.kind == "transfer":
            if self.loop.state != "playing" or "latent.freeze" in active:
                return False
            return self.loop.replays_exactly(
                clock.epoch, store.trigger_count(self._retrigger),
                per_frame(store, "loop.enabled", self.name, frames, active),
                per_frame(store, "loop.beats", self.name, frames, active),
                per_frame(store, "loop.dissolve", self.name, frames, active))
        if self.spec.kind == "prior":
            return self.loop.state != "playing" and not per_frame(store, "prior.listen", self.name, frames, active).any()
        return False

    def _skip_encode(self, x: np.ndarray | None, n: int, start: int, store: ParamStore, active: frozenset[str],
                     k: int) -> tuple[np.ndarray | None, None]:
        """Keep this block's input (for the resume) and stand in for the unused latents."""
        audio = self._guard(self._input(x, n, start, store, active), "input")
        held = self._skipped[0] if self._skipped is not None and self._skipped[0].shape == audio.shape else None
        if held is None:
            held = np.empty_like(audio)
        np.copyto(held, audio)
        self._skipped = (held, self.enc.feed.encoded)
        self.enc.feed.encoded += k   # seeds stay where an unskipped run would have them
        self.skipped_encodes += 1
        return (np.zeros((self.dims, k), np.float32) if self.spec.kind == "transfer" else None), None

    def _resume_encoder(self) -> None:
        """The encoder's stream state on resume: it hears the last skipped block first (output unused).

        Why: its cached convolutions then hold the audio right before the block it encodes
        now, as if it had never paused (exactly so when its receptive field fits in one block);
        an untouched cache would splice audio from before the pause onto the present, and a
        reset would start from silence. Costs one extra encode, once per resume.
        """
        audio, first = self._skipped
        self._skipped = None
        self.enc.prime(audio, seeds.at(self._encode_seed, first))

    def _encode(self, x: np.ndarray | None, n: int, start: int, store: ParamStore, active: frozenset[str],
                k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(latents in the graph's space, latents for the prior's input) for the block's ``k`` frames."""
        audio = self._guard(self._input(x, n, start, store, active), "input")
        if self._skipped is not None:
            self._resume_encoder()
        live, listen = self.enc.run(audio, k, self._encode_seed)
        if self._old_enc is None:
            return live, listen
        old, fade = self._old_enc
        old_live, old_listen = old.run(audio, k, self._encode_seed)
        g = fade.gains(live.shape[1])
        if fade.done:
            self._old_enc = None
        return _blend(old_live, live, g), (None if listen is None else _blend(old_listen, listen, g))

    def _guard(self, x: np.ndarray, what: str) -> np.ndarray:
        """Keep NaN/Inf out of a model: one bad value would poison its streaming state for good.

        ``vdot(x, x)`` is a sub-microsecond one-pass check: NaN and Inf propagate, and a
        finite overflow (|x| > 1e19) only costs a needless look at every value.
        """
        if math.isfinite(np.vdot(x, x)):
            return x
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, np.float32(0.0), x).astype(np.float32)
            self.scrubbed[what] = self.scrubbed.get(what, 0) + int(bad.sum())
        return x

    def _input(self, x: np.ndarray | None, n: int, start: int, store: ParamStore, active: frozenset[str]) -> np.ndarray:
        if x is None:
            x = np.zeros((self.in_channels, n), dtype=np.float32)
        if x.shape[0] != self.in_channels:  # a mono encoder hears a downmix; otherwise map channels
            x = (x.mean(axis=0, keepdims=True) if self.in_channels == 1
                 else x[[min(c, x.shape[0] - 1) for c in range(self.in_channels)]])
        if x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float32)
        if "in.gain_db" in active:
            frames = start + np.arange(x.shape[1], dtype=np.int64)
            x = x * np.exp(store.over(ParamKey("in.gain_db", self.name), frames) * _LN10_20).astype(np.float32)
        return x

    def _source(self, encoded: tuple, frames: np.ndarray, store: ParamStore, clock: ClockView,
                active: frozenset[str], first: int) -> np.ndarray:
        kind = self.spec.kind
        z_live, z_in = encoded
        if kind == "transfer":
            return self._writable(z_live)
        temperature = per_frame(store, "prior.temperature", self.name, frames, active)
        listen = per_frame(store, "prior.listen", self.name, frames, active)
        if self.loop.state == "playing":
            z_in, listen = self._prime_from_loop(z_in, listen, frames, store, clock, active)
        z_prior = self._writable(self._run_prior(z_in, temperature, listen, first))
        if kind == "prior":
            return z_prior
        amount = (store.dims_over("prior.mix", self.name, frames).T.astype(np.float32)
                  if "prior.mix" in active else np.float32(1.0))
        return (z_live + amount * (z_prior - z_live)).astype(np.float32)

    def _prime_from_loop(self, z_in: np.ndarray | None, listen: np.ndarray, frames: np.ndarray,
                         store: ParamStore, clock: ClockView, active: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """While the loop repeats untouched (dissolve 0), the prior listens to the loop itself.

        Why: the prior's context then holds the very pattern being heard, so when the
        player raises dissolve the prior stops listening and *continues that pattern*,
        drifting away from it -- the loop dissolves into new patterns instead of
        cross-fading to an unrelated stream. An explicit ``prior.listen`` wins.
        """
        dissolve = per_frame(store, "loop.dissolve", self.name, frames, active)
        prime = (dissolve <= 0.0) & (listen < 0.5)
        if not prime.any():
            return z_in, listen
        heard = self.prior.loop_in.apply(np.ascontiguousarray(self.loop.peek(clock.beats_over(frames), clock.running).T))
        z_in = np.zeros_like(heard) if z_in is None else np.array(z_in, dtype=np.float32)
        z_in[:, prime] = heard[:, prime]
        return z_in, np.where(prime, 1.0, listen)

    def _run_prior(self, z_in, temperature, listen, first: int) -> np.ndarray:
        z = self.prior.run(z_in, temperature, listen, first, self._box_total)
        if self._old_prior is None:
            return z
        old, fade = self._old_prior
        g = fade.gains(z.shape[1])
        if fade.done:
            self._old_prior = None
        return _blend(old.run(z_in, temperature, listen, first, self._box_total), z, g)

    @staticmethod
    def _writable(z: np.ndarray) -> np.ndarray:
        return z if z.flags.writeable and z.dtype == np.float32 else np.array(z, dtype=np.float32)

    def _loop(self, z: np.ndarray, frames: np.ndarray, store: ParamStore, clock: ClockView,
              active: frozenset[str]) -> bool:
        if "loop.enabled" not in active and self.loop.state == "idle":
            return False
        self.loop.rearm_if(clock.epoch, store.trigger_count(self._retrigger))
        enabled = per_frame(store, "loop.enabled", self.name, frames, active)
        length = per_frame(store, "loop.beats", self.name, frames, active)
        dissolve = per_frame(store, "loop.dissolve", self.name, frames, active)
        beats = clock.beats_over(frames)
        frame_beats = float(self._frame_box) * clock.beats_per_frame
        return self.loop.process(z, enabled, length, dissolve, beats, frame_beats, clock.running)

    def reset(self) -> None:
        """Panic: clear model stream states, freeze and loop."""
        if self.enc is not None:
            self.enc.model.reset()
        if self.prior is not None:
            self.prior.driver.reset()
        self._old_enc = self._old_prior = None
        self._skipped = None
        self.bank.reset()
        self.freezer.on = False
        self.loop.state = "idle"



def _blend(old: np.ndarray, new: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per latent frame crossfade ``old + g (new - old)`` (g has one value per frame)."""
    return (old + g * (new - old)).astype(np.float32)
