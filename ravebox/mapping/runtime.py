"""The running mapping: MIDI events in, ParamStore changes out; swappable while playing.

Threads: :meth:`MappingRuntime.handle` runs on the control thread only (the
one ParamStore writer). :meth:`MappingRuntime.swap` may be called from the
main thread (hot reload): it builds the new active mapping completely and
then replaces one attribute, which is atomic under the GIL, so ``handle``
sees either the old or the new mapping, never a mix.

Why releases are routed by press: a button held down while the mapping
changes must be released by the mapping that saw the press (mididings'
habit), or a momentary "freeze" would stay stuck on forever.

Why one module of about 370 lines: every message kind (CC, 14-bit, (N)RPN,
notes, buttons, pitch bend, program change) ends in the same per-rule state
(takeover, held presses, the mapping that saw a press), which a split would
have to share; the pure shaping (curves, relative encoders) is ``shaping.py``.
"""

from __future__ import annotations

import collections
from dataclasses import asdict, dataclass, field

import mido

from ravebox.mapping.inputs import (DATA_DEC, DATA_INC, DATA_LSB, DATA_MSB, NRPN_LSB, NRPN_MSB, RPN_LSB,
                                    RPN_MSB, ControlInput, ControllerState)
from ravebox.mapping.model import Mapping, Preset, PresetBank, Rule
from ravebox.mapping.presets import is_sound_parameter
from ravebox.mapping.shaping import accelerate, curve, denormalise, normalise, relative_delta
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.params.table import PARAMS, ParamKey, ParamKind

TAKEOVER_TOLERANCE = 0.01 + 1e-9  # normalised distance at which a control "has" its parameter
RECALL = "preset.recall"
PAIR_WINDOW_MS = 2  # an LSB this close before its MSB is the pair's fine part (LSB-first senders)


@dataclass(slots=True)
class MappingStats:
    """Counters for the status output; ``errors`` should stay 0 (a bug if not)."""

    events: int = 0
    matched: int = 0        # inputs at least one rule took
    unmatched: int = 0      # inputs no rule listens to
    waiting: int = 0        # moves held back by soft takeover
    recalls: int = 0
    unknown_presets: int = 0
    unknown_graphs: int = 0  # events whose entry aims at a graph the box lacks (dropped)
    unknown_dims: int = 0    # ... at a latent dimension no addressed graph has (dropped)
    errors: int = 0
    last_error: str = ""

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


@dataclass(slots=True)
class _RuleState:
    last_u: float | None = None   # previous normalised control position (takeover)
    locked: bool = False          # the control has picked the parameter up
    last_set: float | None = None
    last_index: int | None = None  # the preset a knob last recalled


@dataclass(slots=True)
class _Active:
    """A mapping plus the per-rule state of this activation of it."""

    mapping: Mapping
    presets: PresetBank
    states: dict[int, _RuleState] = field(default_factory=dict)
    coalescable: frozenset[int] | None = None

    def state(self, rule: Rule) -> _RuleState:
        st = self.states.get(id(rule))
        if st is None:
            st = self.states[id(rule)] = _RuleState()
        return st

    def press_threshold(self, kind: str, number: int | None) -> int | None:
        for rule in self.mapping.rules_for(kind, number):
            if rule.mode == "button":
                return rule.threshold
        return None


class KeepPresets:
    """The type of :data:`KEEP_PRESETS`: a swap that leaves the box's preset bank as it is."""


KEEP_PRESETS = KeepPresets()


class MappingRuntime:
    """Applies a :class:`Mapping` to MIDI events, writing the :class:`ParamStore`."""

    def __init__(self, mapping: Mapping, store: ParamStore, presets: PresetBank | None = None) -> None:
        self.store = store
        self.stats = MappingStats()
        self.controller = ControllerState(pair_window=max(1, store.sample_rate * PAIR_WINDOW_MS // 1000))
        self._explicit_presets = presets
        self._active = _Active(mapping, presets if presets is not None else mapping.presets)
        self._held: dict[tuple[str, int | None, str, int | None], tuple[_Active, int]] = {}
        self.last_preset: str | None = None   # name of the last preset recalled (status shows it)
        self._bends: dict[tuple[str, int | None], int] = {}   # last pitch bend per (port, channel)
        # learn buttons pressed (control thread appends; the main thread takes them): (target, the button's stream)
        self.learn_requests: collections.deque[tuple[ParamKey, tuple[str, int | None, int]]] = collections.deque()

    @property
    def mapping(self) -> Mapping:
        return self._active.mapping

    @property
    def presets(self) -> PresetBank:
        return self._active.presets

    @property
    def explicit_presets(self) -> PresetBank | None:
        """Presets given by the box config instead of the mapping's own, if any."""
        return self._explicit_presets

    def swap(self, mapping: Mapping, presets: PresetBank | None | KeepPresets = KEEP_PRESETS) -> None:
        """Make ``mapping`` current (atomic); held buttons still release through the old one.

        Presets: ``presets`` is the box's own bank (``[mapping] presets``) as a
        reload just read it, None when the box names none any more (the bank is
        dropped, the mapping's own presets play); left out (MIDI learn's edited
        mapping, a tool's swap), the box's bank stays as it was.
        """
        if not isinstance(presets, KeepPresets):
            self._explicit_presets = presets
        self._active = _Active(mapping, self._explicit_presets or mapping.presets)

    # -- control thread --------------------------------------------------------------
    def coalescable_ccs(self) -> frozenset[int]:
        """CC numbers of which only the last message per drain matters (control thread).

        Why: under a flood (10,000 CC/s) parsing every fader step starves the
        inference worker, and an absolute control's intermediate positions are
        overwritten within the same few milliseconds anyway. Left out: every CC
        a relative or button rule listens to (each message counts), both halves
        of a 14-bit pair a ``cc14`` rule reads, and the (N)RPN selection and
        data-entry controllers (a sequence, not a position).
        """
        active = self._active
        if active.coalescable is None:
            keep: set[int] = {DATA_MSB, DATA_LSB, DATA_INC, DATA_DEC, NRPN_MSB, NRPN_LSB, RPN_MSB, RPN_LSB}
            for rule in active.mapping.rules:
                number = rule.source.number
                if rule.source.kind == "cc" and rule.mode != "absolute" and number is not None:
                    keep.add(number)
                elif rule.source.kind == "cc14" and number is not None:
                    keep.update((number, number + 32))
            active.coalescable = frozenset(range(128)) - keep
        return active.coalescable

    def release_port(self, port: str, frame: int) -> int:
        """Control thread: the source labelled ``port`` went away; let go of what it held.

        Held notes get a note-off and held CC buttons (sustain, freeze, ...) a 0,
        each through the mapping that saw the press, and a bent pitch wheel
        returns to the centre. Returns how many controls were released.
        """
        released = 0
        for key in [k for k in self._held if k[0] == port]:
            _, channel, kind, number = key
            active, _ = self._held.pop(key)
            chan = channel or 0
            message = (mido.Message("note_off", channel=chan, note=number) if kind == "note"
                       else mido.Message("control_change", channel=chan, control=number, value=0))
            inp = ControlInput(kind, number, channel, 0, press=False if kind == "note" else None)
            self._input(active, MidiEvent(frame, port, message), inp)
            released += 1
        for (bent_port, channel), value in list(self._bends.items()):
            if bent_port == port:
                del self._bends[(bent_port, channel)]
                if value:
                    message = mido.Message("pitchwheel", channel=channel or 0, pitch=0)
                    self._input(self._active, MidiEvent(frame, port, message),
                                ControlInput("pitchbend", None, channel, 0))
                    released += 1
        return released

    def handle(self, event: MidiEvent) -> None:
        """Apply one event. Never raises: a failure is counted, so MIDI keeps flowing."""
        self.stats.events += 1
        try:
            active = self._active
            for inp in self.controller.inputs(event):
                if inp.kind == "pitchbend":
                    self._bends[(event.port, inp.channel)] = inp.value
                self._input(self._route(active, event.port, inp), event, inp)
        except Exception as exc:  # noqa: BLE001 - the control thread must survive any bug
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"

    def recall(self, which: str | int, frame: int, glide_ms: float | None = None) -> bool:
        """Recall a preset by name or index; glide (None = the mapping's preset glide).

        Control thread only: it writes the store, which has one writer.
        """
        active = self._active
        preset = active.presets.find(which)
        if preset is None:
            self.stats.unknown_presets += 1
            return False
        glide = active.mapping.preset_glide_ms if glide_ms is None else glide_ms
        if active.mapping.preset_reset_unlisted or preset.reset_unlisted:
            self._reset_unlisted(preset, frame, glide)
        for key, value in preset.values:
            self._set(key, value, frame, glide)
        self._set(ParamKey(RECALL), preset.index, frame, 0.0)
        self.last_preset = preset.name
        self.stats.recalls += 1
        return True

    def _reset_unlisted(self, preset: Preset, frame: int, glide: float) -> None:
        """``reset_unlisted`` (the mapping's or the preset's): every moved sound value the preset leaves out goes back to its default."""
        listed = {k for key, _ in preset.values if key.graph is None or key.graph in self.store.graphs
                  for k in self.store.expand(key)}
        for key in self.store.moved():
            if key not in listed and is_sound_parameter(key.name):
                self.store.set(key, self.store.default(key), frame, glide)

    # -- routing -----------------------------------------------------------------------
    def _route(self, active: _Active, port: str, inp: ControlInput) -> _Active:
        """The mapping that must see ``inp``: the pressing one for a release."""
        if inp.kind == "note":
            key = (port, inp.channel, "note", inp.number)
            if inp.press:
                self._held[key] = (active, 1)
                return active
            return self._held.pop(key, (active, 1))[0]
        if inp.kind != "cc":
            return active
        key = (port, inp.channel, "cc", inp.number)
        held = self._held.get(key)
        if held is not None and inp.value < held[1]:
            del self._held[key]
            return held[0]
        threshold = active.press_threshold("cc", inp.number)
        if threshold is not None and inp.value >= threshold:
            self._held[key] = (active, threshold)
        return active

    def _input(self, active: _Active, event: MidiEvent, inp: ControlInput) -> None:
        hit = False
        for rule in active.mapping.rules_for(inp.kind, inp.number):
            if rule.source.accepts(event.port, inp.channel):
                hit = True
                self._apply(active, rule, inp, event.frame)
        if hit:
            self.stats.matched += 1
        elif inp.kind not in ("cc14",):  # every CC 0..63 also yields a cc14 input
            self.stats.unmatched += 1

    def _apply(self, active: _Active, rule: Rule, inp: ControlInput, frame: int) -> None:
        if rule.mode == "relative":
            self._relative(rule, inp, frame)
        elif rule.mode == "button":
            self._button(active, rule, inp, frame)
        else:
            raw = _raw(rule, inp)
            if raw is not None:
                self._absolute(active, rule, raw, frame)

    # -- the three modes ---------------------------------------------------------------
    def _absolute(self, active: _Active, rule: Rule, raw: float, frame: int) -> None:
        u = curve(rule.curve, normalise(raw, *rule.source_range), rule.steepness, rule.gamma)
        lo, hi = rule.target_range
        if rule.recalls_presets:
            self._recall_index(active, rule, round(denormalise(u, lo, hi)), frame, always=rule.source.kind == "program")
            return
        st = active.state(rule)
        current = self._current(rule.target)
        if current is None:
            return
        if st.last_set is None or abs(current - st.last_set) > 1e-9:
            st.locked = False  # never had it, or a preset / another rule moved it since
        u = self._takeover(rule, st, u, normalise(current, lo, hi) if lo != hi else 0.0)
        if u is None:
            self.stats.waiting += 1
            return
        st.last_set = self._set(rule.target, denormalise(u, lo, hi), frame, rule.smoothing_ms)

    def _relative(self, rule: Rule, inp: ControlInput, frame: int) -> None:
        steps = accelerate(relative_delta(rule.encoder or "twos_complement", inp.value), rule.acceleration)
        if steps == 0:
            return
        current = self._current(rule.target)
        if current is None:
            return
        lo, hi = sorted(rule.target_range)
        if rule.recalls_presets:
            self.recall(int(min(max(round(current + steps), lo), hi)), frame, rule.glide_ms)
            return
        # from the *target* (where the glide ends), so smoothing never shortens the travel
        value = min(max(current + steps * rule.step, lo), hi)
        self._set(rule.target, value, frame, rule.smoothing_ms)

    def _button(self, active: _Active, rule: Rule, inp: ControlInput, frame: int) -> None:
        press = inp.press if inp.press is not None else inp.value >= rule.threshold
        lo, hi = rule.target_range
        if rule.learn is not None:
            if press:      # the main thread arms the learn (service/learning.py); this button is not learned
                self.learn_requests.append((rule.learn, (rule.source.kind, rule.source.number, inp.channel)))
            return
        if rule.recalls_presets:
            if press:
                self.recall(rule.preset if rule.preset is not None else int(rule.value or 0), frame, rule.glide_ms)
            return
        spec = PARAMS[rule.target.name]
        if spec.kind is ParamKind.TRIGGER:
            if press:
                self._set(rule.target, 1.0, frame, 0.0)
            return
        on = self._velocity_value(rule, inp) if rule.velocity == "value" else hi
        if rule.button == "momentary":
            self._set(rule.target, on if press else lo, frame, rule.smoothing_ms)
        elif rule.button == "toggle" and press:
            current = self._current(rule.target)
            if current is not None:
                is_on = abs(current - hi) < abs(current - lo)
                self._set(rule.target, lo if is_on else hi, frame, rule.smoothing_ms)
        elif rule.button == "trigger" and press:
            self._set(rule.target, rule.value if rule.value is not None else on, frame, rule.smoothing_ms)

    # -- helpers -------------------------------------------------------------------------
    def _velocity_value(self, rule: Rule, inp: ControlInput) -> float:
        u = curve(rule.curve, normalise(inp.value, *rule.source_range), rule.steepness, rule.gamma)
        return denormalise(u, *rule.target_range)

    def _recall_index(self, active: _Active, rule: Rule, index: int, frame: int, always: bool) -> None:
        st = active.state(rule)
        if always or index != st.last_index:
            st.last_index = index
            self.recall(index, frame, rule.glide_ms)

    @staticmethod
    def _takeover(rule: Rule, st: _RuleState, u: float, p: float) -> float | None:
        """Where to put the parameter (normalised) for control position ``u``, or None to wait."""
        if rule.takeover == "jump":
            return u
        prev, st.last_u = st.last_u, u
        tol = TAKEOVER_TOLERANCE
        if st.locked or abs(u - p) <= tol:
            st.locked = True
            return u
        if prev is not None and min(prev, u) - tol <= p <= max(prev, u) + tol:
            st.locked = True  # the control crossed the value
            return u
        if rule.takeover == "pickup" or prev is None or u == prev:  # catch-up: scale so both meet at the end of travel
            return None
        q = p + (u - prev) * (1 - p) / (1 - prev) if u > prev else p - (prev - u) * p / prev
        st.locked = abs(q - u) <= tol
        return u if st.locked else q

    def _current(self, key: ParamKey | None) -> float | None:
        """Where the (first) addressed value is heading, or None if the box lacks it."""
        if key is None or (key.graph is not None and key.graph not in self.store.graphs):
            self.stats.unknown_graphs += 1
            return None
        keys = self.store.expand(key)
        if not keys and key.dim is not None:
            self.stats.unknown_dims += 1
        return self.store.target(keys[0]) if keys else None

    def _set(self, key: ParamKey, value: float, frame: int, glide_ms: float | None) -> float | None:
        if key.graph is not None and key.graph not in self.store.graphs:
            self.stats.unknown_graphs += 1
            return None
        if key.dim is not None and not self.store.expand(key):
            self.stats.unknown_dims += 1
            return None
        self.store.set(key, value, frame, glide_ms)
        return PARAMS[key.name].clamp(value)


def _raw(rule: Rule, inp: ControlInput) -> float | None:
    """The source value of an absolute rule, or None if this message completes nothing."""
    kind = inp.kind
    if kind == "cc14":
        order = rule.source.order
        reset = inp.msb_changed and (order == "msb_first" or (order == "auto" and not inp.lsb_fresh))
        return float(inp.value * 128 + (0 if reset else max(inp.lsb, 0)))
    if kind in ("nrpn", "rpn"):
        if rule.source.bits == 7:
            return float(inp.value) if inp.msb_changed else None
        return float(inp.value * 128 + max(inp.lsb, 0))
    if kind == "note" and not inp.press:
        return None  # velocity-as-value: a note-off is not a value
    return float(inp.value)
