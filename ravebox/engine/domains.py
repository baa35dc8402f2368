"""Rate domains: where each model's samples and latent frames sit on the box's clock.

Why: a model runs at its own sample rate and latent frame rate (``rate / ratio``),
the box at JACK's rate (live) or ``[box] sample_rate`` (render), and the engine
works in box blocks that need not hold a whole number of model frames. Every
count here is exact integer arithmetic on running totals of box frames, so the
schedule of model calls is the same for a render and for the live host, and
nothing drifts however long the box plays:

* a decoder runs ``frames_due(N)`` frames in total once the box has asked for
  ``N`` frames: just enough that its resampled output covers ``N``;
* an encoder has produced ``encoded_by(N)`` frames once ``N`` box frames went in;
* :func:`plan_graph` picks the smallest causal latent delay for the block size
  and turns the whole chain into one integer latency in box frames.

Pure functions and frozen values; built on the loading thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ravebox.engine.latent_rate import causal_delay
from ravebox.engine import resample

SCHEDULE_BLOCKS = 50_000  # blocks simulated to find the worst causal case (the schedule is periodic)


@dataclass(frozen=True, slots=True)
class Domain:
    """One model's clock: its sample rate (as it plays) and its ratio."""

    rate: int
    ratio: int

    def box_frames_per_frame(self, box_rate: int) -> Fraction:
        return Fraction(self.ratio * box_rate, self.rate)

    def frame_rate(self) -> Fraction:
        return Fraction(self.rate, self.ratio)


def frames_due(box_total, box_rate: int, d: Domain):
    """Latent frames a decoder must have run once ``box_total`` box frames are asked for (int or array)."""
    samples = -(-(box_total * d.rate) // box_rate)        # ceil: model samples covering the box frames
    return -(-samples // d.ratio)


def encoded_by(box_total, box_rate: int, d: Domain):
    """Latent frames an encoder has produced once ``box_total`` box frames went in (int or array)."""
    return (box_total * d.rate // box_rate) // d.ratio


def box_frame_of(k, box_rate: int, d: Domain):
    """Box frame (floor) at which latent frame ``k`` of domain ``d`` starts."""
    return k * d.ratio * box_rate // d.rate


def block_size(domains: list[Domain], box_rate: int, multiple: int) -> int:
    """An engine block: the lcm of the model frames that fit whole in box frames, stretched to
    hold the longest model frame. With every model at the box rate this is the plain lcm of
    the ratios (as before conversion existed)."""
    units = [d.box_frames_per_frame(box_rate) for d in domains] or [Fraction(1)]
    whole = [int(u) for u in units if u.denominator == 1]
    base = math.lcm(*whole) if whole else 1
    return base * math.ceil(max(units) / base) * max(1, int(multiple))


@dataclass(frozen=True, slots=True)
class GraphPlan:
    """How one graph crosses domains: the latent delay (encoder frames) and its latency (box frames)."""

    latent_step: Fraction       # encoder frames per decoder frame
    latent_delay: Fraction      # encoder frames the decoder reads behind
    latency: int                # box frames from input to output added by conversion


def plan_graph(box_rate: int, block: int, decoder: Domain, encoder: Domain | None, channels_out: int,
               channels_in: int, latency: int | None = None) -> GraphPlan:
    """The causal delay and the integer latency for one graph at block size ``block``.

    Latency = output resampler + (input resampler + latent delay) on the encoder's
    clock, rounded *up* to whole box frames by lengthening the latent delay, so the
    graph's content lands on an exact box frame (dry and wet line up sample-exact).
    ``latency``: a longer target to meet (a swapped-in encoder keeps its graph's).
    """
    out_lat = resample.latency_of(decoder.rate, box_rate)
    if encoder is None:
        return GraphPlan(Fraction(1), Fraction(0), out_lat)
    step = Fraction(decoder.ratio * encoder.rate, decoder.rate * encoder.ratio)
    delay = causal_delay(lambda c: encoded_by(c * block, box_rate, encoder),
                         lambda c: frames_due(c * block, box_rate, decoder), step, SCHEDULE_BLOCKS)
    in_lat = resample.latency_of(box_rate, encoder.rate, resample.ANALYSIS_CONVERTER)
    encoder_side = (in_lat + delay * encoder.ratio) * Fraction(box_rate, encoder.rate)
    latency = max(out_lat + math.ceil(encoder_side), latency or 0)
    if latency == out_lat and encoder_side == 0:
        return GraphPlan(step, delay, latency)
    delay = ((latency - out_lat) * Fraction(encoder.rate, box_rate) - in_lat) / encoder.ratio
    return GraphPlan(step, delay, latency)


@dataclass(frozen=True, slots=True)
class LatentHop:
    """Latents from one domain's frames to another's within a graph: the converter's step and
    delay (source frames) and, in box frames, how much later the target's content is."""

    step: Fraction              # source frames per target frame
    delay: Fraction             # source frames the target reads behind
    lag: Fraction               # the delay in box frames

    @property
    def identity(self) -> bool:
        return self.step == 1 and self.delay == 0


def plan_hop(box_rate: int, block: int, source: Domain, target: Domain, extra: int = 0) -> LatentHop:
    """The smallest causal hop from ``source`` frames (run ``frames_due`` each block) to ``target``
    frames (also ``frames_due``); ``extra``: box frames of latency the target side adds after the
    hop (an output resampler), so that lag + extra is lengthened to a whole box frame."""
    if source == target:
        return LatentHop(Fraction(1), Fraction(0), Fraction(0))
    step = Fraction(target.ratio * source.rate, target.rate * source.ratio)
    delay = causal_delay(lambda c: frames_due(c * block, box_rate, source),
                         lambda c: frames_due(c * block, box_rate, target), step, SCHEDULE_BLOCKS)
    per_frame = source.box_frames_per_frame(box_rate)
    whole = math.ceil(delay * per_frame + extra)
    delay = (whole - extra) / per_frame
    return LatentHop(step, delay, delay * per_frame)


def voice_latency(box_rate: int, block: int, graph: Domain, voice: Domain, channels: int) -> tuple[LatentHop, int]:
    """A decoder alternative in its own domain: the hop from the graph's frames to its frames and the
    box frames its output lags the graph's latent frames by (hop + output resampler, whole)."""
    out_lat = resample.latency_of(voice.rate, box_rate)
    hop = plan_hop(box_rate, block, graph, voice, out_lat)
    return hop, int(hop.lag) + out_lat


def graph_latency(box_rate: int, block: int, decoders: list[Domain], encoder: Domain | None, channels_out: int,
                  channels_in: int) -> tuple[GraphPlan, int, int]:
    """One graph's own latency: (the encoder's plan into the first decoder's frames, the encoder's
    side of it in box frames, the graph's latency: that side + its slowest decoder alternative's)."""
    first = decoders[0]
    plan = plan_graph(box_rate, block, first, encoder, channels_out, channels_in)
    encoder_side = plan.latency - resample.latency_of(first.rate, box_rate)
    slowest = max(voice_latency(box_rate, block, first, d, channels_out)[1] for d in decoders)
    return plan, encoder_side, encoder_side + slowest


def box_frames(k0: int, k: int, box_rate: int, d: Domain) -> np.ndarray:
    """Box frame of each of the latent frames ``k0 .. k0 + k - 1`` (int64)."""
    return box_frame_of(np.arange(k0, k0 + k, dtype=np.int64), box_rate, d)


@dataclass(frozen=True, slots=True)
class BoxRates:
    """What every graph of one engine shares: the box's rate, the engine block, the box-wide
    conversion latency every graph is padded to, and the rate each model plays at."""

    box_rate: int
    block: int
    latency: int = 0
    played: dict | None = None   # id(model) -> the rate it plays at; absent: its own rate, or the box's

    def domain(self, model) -> Domain:
        rate = (self.played or {}).get(id(model))
        if rate is None:
            rate = int(model.sample_rate or self.box_rate)  # None: the export does not say
        return Domain(int(rate), int(model.ratio))
