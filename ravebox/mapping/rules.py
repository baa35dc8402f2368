"""One ``[[map]]`` table of a mapping file -> the Rule(s) it means, every problem reported.

Split out of ``loader.py`` (which reads the file's top-level tables): this is the
one job of deciding what an entry means -- its source, its target, its mode
(absolute, relative encoder, button) and its shaping -- and refusing what does
not fit together (``takeover`` on a button, ``gamma`` without ``curve = "gamma"``).
Each value is checked by the one checker (``config/schema.py``, fields declared in
:data:`RULE_FIELDS`); what depends on another key (a source number's range on its
kind, a value's range on its target) is checked here with the same wording.

Runs on whichever thread loads a mapping file (main thread, reload thread, CLI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ravebox.config.diagnostics import Diagnostics, did_you_mean, key_path
from ravebox.config.schema import (
    INVALID, Choice, Field, Flag, Integer, Number, Pair, Text, check_table, out_of_range,
)
from ravebox.mapping.fields import Channels, Encoder, OneOf, Port, Takeover, param_value
from ravebox.mapping.model import BUTTONS, SOURCE_KINDS, SOURCE_RANGES, PortPattern, PresetBank, Rule, Source
from ravebox.mapping.shaping import CURVES, DEFAULT_GAMMA, DEFAULT_STEEPNESS
from ravebox.params.table import PARAMS, ParamKey, ParamKind, ParamScope, ParamSpec

#: The keys of a ``[[map]]`` entry whose value is checked on its own (the rest depend on other keys).
RULE_FIELDS: dict[str, Field] = {
    "channel": Channels(), "port": Port(),
    "order": Choice(("auto", "msb_first", "lsb_first")), "bits": OneOf((7, 14)),
    "velocity": Choice(("value", "trigger")), "graph": Text(what="graph name"),
    "reverse": Flag(), "curve": Choice(CURVES), "steepness": Number(0.01, 100), "gamma": Number(0.01, 100),
    "encoder": Encoder(), "step": Number(0, above=True), "acceleration": Number(0, 10),
    "button": Choice(BUTTONS), "threshold": Integer(1, 127), "takeover": Takeover(),
    "smoothing_ms": Number(0, 10000), "glide_ms": Number(0, 60000),
    "layer": Flag(), "label": Text(nonempty=False), "feedback": Flag(),
}
#: Keys checked here against the others: the source, the target and what its range decides.
DEPENDENT_KEYS = SOURCE_KINDS + ("target", "dim", "preset", "value", "range", "source_range", "learn")
RULE_KEYS = DEPENDENT_KEYS + tuple(RULE_FIELDS)
LEARN_BUTTON_KEYS = SOURCE_KINDS + ("learn", "graph", "dim", "channel", "port", "threshold", "label")
DIM, _BYTE = Integer(0, 1023), Integer(0, 127)
_NAME, _PRESET_NAME = Text(what="parameter name"), Text(what="preset name")
_SOURCE_TOPS = {"cc": 127, "cc14": 31, "nrpn": 16383, "rpn": 16383}


@dataclass(frozen=True, slots=True)
class Defaults:
    """``[defaults]``: what every ``[[map]]`` entry gets unless it says otherwise."""

    channels: frozenset[int] | None = None
    port: PortPattern = PortPattern()
    smoothing_ms: float | None = None
    takeover: str = "jump"
    threshold: int = 64
    feedback: bool = False


DEFAULT_FIELDS: dict[str, Field] = {k: RULE_FIELDS[k] for k in ("channel", "port", "smoothing_ms", "takeover",
                                                                  "threshold", "feedback")}


def parse_defaults(table: dict[str, object], diags: Diagnostics) -> Defaults:
    v: dict[str, Any] = check_table(table, DEFAULT_FIELDS, diags, "defaults")
    d = Defaults()
    return Defaults(v.get("channel", d.channels), v.get("port", d.port), v.get("smoothing_ms"),
                    v.get("takeover", d.takeover), v.get("threshold", d.threshold), v.get("feedback", d.feedback))


def parse_rules(entries: object, defaults: Defaults, presets: PresetBank | None, diags: Diagnostics) -> list[Rule]:
    """Every ``[[map]]`` entry's rules; ``presets`` is None when the file declares none (a box may supply them)."""
    if not isinstance(entries, list):
        diags.error("map", "must be an array of tables ([[map]])")
        return []
    rules: list[Rule] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            diags.error(key_path("map", i), "must be a table")
            continue
        rules += RuleParser(entry, i, defaults, presets, diags).parse()
    return rules


class RuleParser:
    """Validates one ``[[map]]`` table into one Rule (or several, for list sources)."""

    def __init__(self, entry: dict[str, object], index: int, defaults: Defaults, presets: PresetBank | None,
                 diags: Diagnostics) -> None:
        """``presets`` is None when the file declares none (a box config may supply them)."""
        self.e: dict[str, Any] = entry   # raw TOML values
        self.i, self.d, self.diags = index, defaults, diags
        self.has_presets = presets is not None
        self.presets = presets or PresetBank()
        self.prefix = key_path("map", index)
        self.v: dict[str, Any] = {}   # the valid values of RULE_FIELDS' keys
        self.errors_before = len(diags.items)

    def fail(self, key: str, message: str) -> None:
        self.diags.error(f"{self.prefix}.{key}", message)

    def _check(self, field: Field, key: str, value: object) -> Any:
        """``value`` checked by ``field`` at ``map[i].key``; None if it was reported."""
        out = field.check(value, self.diags, f"{self.prefix}.{key}")
        return None if out is INVALID else out

    def parse(self) -> list[Rule]:
        if "learn" in self.e:
            return self._learn_button()
        kind = self._kind()
        spec, target = self._target()
        numbers = self._numbers(kind) if kind is not None else []
        self.v = check_table(self.e, RULE_FIELDS, self.diags, self.prefix, known=DEPENDENT_KEYS)
        if kind is None:
            return []
        dims = self._dims(spec, len(numbers))
        mode, button = self._mode(kind, spec)
        common = self._shaping(kind, spec, mode, button)
        values = self._values(spec, len(numbers))
        if mode == "button" and target == "preset.recall" and "value" not in self.e:
            self.diags.error(self.prefix, "a preset button needs value = <preset program number> (or preset = \"name\")")
        if len(self.diags.items) > self.errors_before:
            return []
        v = self.v
        channels, port = v.get("channel", self.d.channels), v.get("port", self.d.port)
        rules = []
        for number, dim, value in zip(numbers, dims, values):
            source = Source(kind, number, channels, port, v.get("order", "auto"), v.get("bits", 14))
            key = None if target is None else ParamKey(target, v.get("graph"), dim)
            rules.append(Rule(self.i, self.diags.line_of(self.prefix), source, key, self.e.get("preset"),
                              mode, **(common | {"value": value})))
        return rules

    def _learn_button(self) -> list[Rule]:
        """``learn = "param"`` (with optional ``graph``/``dim``): a button whose press arms MIDI learn, so the
        next control moved drives ``param`` (written into this file, as ``ravebox status learn`` does)."""
        e = self.e
        others = [key for key in e if key in RULE_KEYS and key not in LEARN_BUTTON_KEYS]
        for key in others:
            self.fail(key, "a learn button takes its source, learn, graph, dim, channel, port, threshold and label")
        kind = self._kind()
        name = self._check(_NAME, "learn", e["learn"])
        spec = PARAMS.get(name) if isinstance(name, str) else None
        if isinstance(name, str) and spec is None:
            self.fail("learn", f"unknown parameter '{name}'{did_you_mean(name, PARAMS)}")
        if kind is not None and kind not in ("cc", "note", "program"):
            self.fail(kind, "a learn button is a note, a CC or a program change")
        fields = {k: f for k, f in RULE_FIELDS.items() if k in LEARN_BUTTON_KEYS}
        self.v = v = check_table({k: x for k, x in e.items() if k not in others}, fields, self.diags, self.prefix,
                                 known=SOURCE_KINDS + ("learn", "dim"))
        if "graph" in e and spec is not None and spec.scope is ParamScope.BOX:
            self.fail("graph", f"'{name}' belongs to the whole box, not to a graph")
        dim = None
        if "dim" in e:
            if spec is not None and spec.scope is not ParamScope.DIM:
                self.fail("dim", f"'{name}' has no latent dimensions")
            dim = self._check(DIM, "dim", e["dim"])
        numbers = self._numbers(kind) if kind is not None else []
        if len(numbers) != 1:
            self.fail(kind or "learn", "a learn button is one control, not a list")
        if len(self.diags.items) > self.errors_before or kind is None:
            return []
        lo, hi = SOURCE_RANGES[kind]
        source = Source(kind, numbers[0], v.get("channel", self.d.channels), v.get("port", self.d.port))
        return [Rule(self.i, self.diags.line_of(self.prefix), source, None, None, "button", (float(lo), float(hi)),
                     (0.0, 1.0), button="trigger", threshold=v.get("threshold", self.d.threshold),
                     label=v.get("label", ""), learn=ParamKey(str(name), v.get("graph"), dim))]

    def _values(self, spec: ParamSpec | None, count: int) -> list[float | None]:
        """``value`` for each source: one number for all, or a list with one per source."""
        if "value" not in self.e or spec is None:
            return [None] * count
        return self._per_source("value", param_value(spec), count, "values")

    def _per_source(self, key: str, field: Field, count: int, what: str) -> list[Any]:
        """``key``'s checked value for each of ``count`` sources: one for all, or a list with one per source."""
        given = self.e[key]
        if not isinstance(given, list):
            return [self._check(field, key, given)] * count
        if len(given) != count:
            self.fail(key, f"expected {count} {what} (one per source), got {len(given)}")
            return [None] * count
        return [self._check(field, f"{key}[{j}]", v) for j, v in enumerate(given)]

    # -- source --------------------------------------------------------------------
    def _kind(self) -> str | None:
        kinds = [k for k in SOURCE_KINDS if k in self.e]
        if len(kinds) != 1:
            found = "none" if not kinds else " and ".join(kinds)
            self.diags.error(self.prefix, f"expected exactly one source key ({', '.join(SOURCE_KINDS)}), found {found}")
            return None
        return kinds[0]

    def _numbers(self, kind: str) -> list[int | None]:
        value = self.e[kind]
        if kind in ("pitchbend", "pressure"):
            if value is not True:
                out_of_range("true", value, self.diags, f"{self.prefix}.{kind}")
            return [None]
        if kind == "program" and (value is True or value == "any"):
            return [None]
        top = _SOURCE_TOPS.get(kind, 127)
        values = value if isinstance(value, list) and not self._is_msb_lsb(kind, value) else [value]
        if not values:
            out_of_range("a number or a list of numbers", value, self.diags, f"{self.prefix}.{kind}")
        return [self._number(kind, v, top, f"{kind}[{j}]" if len(values) > 1 else kind) for j, v in enumerate(values)]

    def _is_msb_lsb(self, kind: str, value: list[object]) -> bool:
        """``nrpn = [2, 44]`` is one parameter (MSB 2, LSB 44), unless dim or value lists make it two."""
        return kind in ("nrpn", "rpn") and len(value) == 2 and all(isinstance(v, int) and v < 128 for v in value) \
            and not isinstance(self.e.get("dim"), list) and not isinstance(self.e.get("value"), list)

    def _number(self, kind: str, value: object, top: int, key: str) -> int | None:
        if kind in ("nrpn", "rpn") and isinstance(value, list):
            if len(value) != 2:
                out_of_range(f"an integer in range 0..{top} or [msb, lsb]", value, self.diags, f"{self.prefix}.{key}")
                return None
            msb, lsb = (self._check(_BYTE, f"{key}[{j}]", v) for j, v in enumerate(value))
            return None if msb is None or lsb is None else int(msb) * 128 + int(lsb)
        return self._check(Integer(0, top), key, value)

    # -- target --------------------------------------------------------------------
    def _target(self) -> tuple[ParamSpec | None, str | None]:
        if "preset" in self.e:
            if "target" in self.e:
                self.fail("preset", "a rule has either a target or a preset, not both")
            name = self._check(_PRESET_NAME, "preset", self.e["preset"])
            if isinstance(name, str) and self.has_presets and self.presets.find(name) is None:
                self.fail("preset", f"unknown preset '{name}'{did_you_mean(name, self.presets.by_name)}")
            return PARAMS["preset.recall"], None
        if "target" not in self.e:
            self.diags.error(self.prefix, "missing target (a parameter name) or preset (a preset name)")
            return None, None
        name = self._check(_NAME, "target", self.e["target"])
        if not isinstance(name, str):
            return None, None
        spec = PARAMS.get(name)
        if spec is None:
            self.fail("target", f"unknown parameter '{name}'{did_you_mean(name, PARAMS)}")
            return None, None
        if "graph" in self.e and spec.scope is ParamScope.BOX:
            self.fail("graph", f"'{name}' belongs to the whole box, not to a graph")
        return spec, name

    def _dims(self, spec: ParamSpec | None, count: int) -> list[int | None]:
        """``dim`` for each source: absent (every dim), one for all, or a list with one per source."""
        if "dim" not in self.e:
            return [None] * count
        if spec is not None and spec.scope is not ParamScope.DIM:
            self.fail("dim", f"'{spec.name}' has no latent dimensions")
            return [None] * count
        return self._per_source("dim", DIM, count, "dims")

    # -- behaviour -------------------------------------------------------------------
    def _mode(self, kind: str, spec: ParamSpec | None) -> tuple[str, str | None]:
        e = self.e
        if "encoder" in e:
            if kind != "cc":
                self.fail("encoder", f"relative encoders send plain CCs; not allowed with {kind}")
            if "button" in e:
                self.fail("button", "a rule is either an encoder or a button")
            return "relative", None
        button: str | None = self.v.get("button")
        if button and kind in ("pitchbend", "pressure", "polytouch", "cc14", "nrpn", "rpn"):
            self.fail("button", f"{kind} is a continuous source and cannot be a button")
        trigger_like = spec is not None and (spec.kind is ParamKind.TRIGGER or (spec.name == "preset.recall"
                                                                                and "value" in e))
        if spec is not None and spec.kind is ParamKind.TRIGGER and button in ("momentary", "toggle"):
            self.fail("button", f"'{spec.name}' is a trigger; only button = \"trigger\" fits")
        if button is None and kind == "note" and e.get("velocity") != "value":
            button = "toggle" if spec is not None and spec.kind is ParamKind.TOGGLE else "trigger"
        if button is None and ((kind == "program" and e.get(kind) not in (True, "any")) or "preset" in e):
            button = "trigger"
        if button is None and trigger_like and kind in ("cc", "note"):
            button = "trigger"
        return ("button" if button else "absolute"), button

    def _pair(self, key: str, lo: float, hi: float, unit: str = "") -> tuple[float, float] | None:
        if key not in self.e:
            return None
        return self._check(Pair(Number(lo, hi, unit=unit)), key, self.e[key])

    def _shaping(self, kind: str, spec: ParamSpec | None, mode: str, button: str | None) -> dict[str, Any]:
        e, v = self.e, self.v
        lo, hi = SOURCE_RANGES[kind]
        if kind in ("nrpn", "rpn") and e.get("bits") == 7:
            lo, hi = 0, 127
        out: dict[str, Any] = {"button": button}
        if spec is not None:
            target_range = self._pair("range", spec.minimum, spec.maximum, spec.unit) or (spec.minimum, spec.maximum)
            if v.get("reverse", False):
                target_range = (target_range[1], target_range[0])
            out["target_range"] = target_range
            default_step = 1.0 if spec.kind in (ParamKind.CHOICE, ParamKind.TOGGLE) else abs(spec.maximum - spec.minimum) / 127
            out["step"] = v.get("step", default_step)
        else:
            out["target_range"] = (0.0, 1.0)
        out["source_range"] = self._pair("source_range", lo, hi) or ((1.0, 127.0) if kind == "note" else (float(lo), float(hi)))
        out["curve"] = v.get("curve", "linear")
        if "gamma" in e and out["curve"] != "gamma":
            self.fail("gamma", 'gamma only applies to curve = "gamma"')
        if "steepness" in e and out["curve"] not in ("log", "exp"):
            self.fail("steepness", 'steepness only applies to curve = "log" or "exp"')
        out["steepness"] = v.get("steepness", DEFAULT_STEEPNESS)
        out["gamma"] = v.get("gamma", DEFAULT_GAMMA)
        if "encoder" in e:
            out["encoder"] = v.get("encoder")
        elif "step" in e or "acceleration" in e:
            self.fail("step" if "step" in e else "acceleration", "step and acceleration apply to encoder rules only")
        out["acceleration"] = v.get("acceleration", 0.0)
        out["threshold"] = v.get("threshold", self.d.threshold)
        self._takeover(kind, mode, out)
        out["smoothing_ms"] = v.get("smoothing_ms") if "smoothing_ms" in e else self.d.smoothing_ms
        if "glide_ms" in e:
            if not (spec is not None and spec.name == "preset.recall"):
                self.fail("glide_ms", "glide_ms applies to preset recall rules; use smoothing_ms")
            out["glide_ms"] = v.get("glide_ms")
        self._source_options(kind, out)
        out["layer"] = v.get("layer", False)
        out["label"] = v.get("label", "")
        out["feedback"] = v.get("feedback", False) if "feedback" in e else self.d.feedback
        if "feedback" in e and out["feedback"] and (kind == "program" or spec is None):
            self.fail("feedback", "feedback applies to controls that show a parameter (not program changes "
                                  "or preset buttons)")
        return out

    def _takeover(self, kind: str, mode: str, out: dict[str, object]) -> None:
        """[defaults] takeover reaches faders and knobs; bend, pressure and velocity jump unless told."""
        if "takeover" in self.e:
            out["takeover"] = self.v.get("takeover", "jump")
            if mode != "absolute":
                self.fail("takeover", "soft takeover applies to absolute controls (faders, knobs) only")
        else:
            knob = mode == "absolute" and kind in ("cc", "cc14", "nrpn", "rpn")
            out["takeover"] = self.d.takeover if knob else "jump"

    def _source_options(self, kind: str, out: dict[str, object]) -> None:
        e = self.e
        if "order" in e and kind != "cc14":
            self.fail("order", "order applies to cc14 sources only")
        if "bits" in e and kind not in ("nrpn", "rpn"):
            self.fail("bits", "bits applies to nrpn and rpn sources only")
        if "velocity" in e:
            if kind != "note":
                self.fail("velocity", "velocity applies to note sources only")
            out["velocity"] = self.v.get("velocity", "trigger")

