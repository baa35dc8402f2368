"""Mapping files (TOML) -> a validated :class:`Mapping`, reporting every problem at once.

Runs on the main thread (start-up, hot reload) and in ``ravebox check``.
The file format is documented in ``docs/mapping-reference.md``; in short::

    [mapping]
    name = "my controller"
    [defaults]              # apply to every [[map]] unless it says otherwise
    channel = 1             # 1..16, a list, or "any"
    port = "nanoKONTROL2"   # port name glob, or a word the name contains
    takeover = "pickup"
    [presets]
    dir = "presets"         # relative to this file
    glide_ms = 300
    reset_unlisted = false  # true: a recall also resets what the preset does not list
    [[map]]
    cc = 1
    target = "loop.dissolve"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ravebox.config.names import problem as name_problem
from ravebox.config.diagnostics import Diagnostics, did_you_mean, key_path, read_toml
from ravebox.errors import ConfigError
from ravebox.mapping.model import (
    BUTTONS, SOURCE_KINDS, SOURCE_RANGES, TAKEOVERS, Mapping, PortPattern, PresetBank, Rule, Source,
)
from ravebox.mapping.presets import load_presets
from ravebox.mapping.shaping import CURVES, DEFAULT_GAMMA, DEFAULT_STEEPNESS, ENCODERS
from ravebox.params.table import PARAMS, ParamKey, ParamKind, ParamScope, ParamSpec

TOP_KEYS = ("mapping", "defaults", "presets", "map")
MAPPING_KEYS = ("name", "description", "device")
DEFAULT_KEYS = ("channel", "port", "smoothing_ms", "takeover", "threshold", "feedback")
PRESET_TABLE_KEYS = ("dir", "files", "glide_ms", "reset_unlisted")
RULE_KEYS = SOURCE_KINDS + (
    "channel", "port", "order", "bits", "velocity", "source_range",
    "target", "graph", "dim", "preset", "value",
    "range", "reverse", "curve", "steepness", "gamma",
    "encoder", "step", "acceleration", "button", "threshold",
    "takeover", "smoothing_ms", "glide_ms", "layer", "label", "feedback", "learn",
)
LEARN_BUTTON_KEYS = SOURCE_KINDS + ("learn", "graph", "dim", "channel", "port", "threshold", "label")
ENCODER_NAMES = {**{str(k): v for k, v in ENCODERS.items()}, **{v: v for v in ENCODERS.values()}}
ALIASES = {"pick-up": "pickup", "catch-up": "catchup", "pick_up": "pickup", "catch_up": "catchup"}


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file (and the presets it names); raises ConfigError with all problems."""
    data, diags = read_toml(path)
    mapping = parse_mapping(data, diags, Path(path))
    diags.raise_if_any()
    assert mapping is not None
    return mapping


def parse_mapping(data: dict, diags: Diagnostics, path: Path) -> Mapping | None:
    """Validate parsed TOML into a Mapping, appending problems to ``diags`` (None if any)."""
    for key in data:
        if key not in TOP_KEYS:
            diags.error(key, f"unknown table{did_you_mean(key, TOP_KEYS)}; expected one of {', '.join(TOP_KEYS)}")
    meta = _table(data, "mapping", MAPPING_KEYS, diags)
    defaults = _defaults(_table(data, "defaults", DEFAULT_KEYS, diags), diags)
    presets, glide_ms, preset_files, reset_unlisted = _presets(data, diags, path)
    rules = _rules(data.get("map", []), defaults, presets if "presets" in data else None, diags)
    _duplicates(rules, diags)
    if diags:
        return None
    name = meta.get("name", path.stem)
    return Mapping(str(name), tuple(rules), presets, glide_ms, path, (path, *preset_files), "presets" in data,
                   reset_unlisted)


# -- top-level tables ----------------------------------------------------------------

def _table(data: dict, name: str, keys: tuple[str, ...], diags: Diagnostics) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        diags.error(name, f"expected a table [{name}]")
        return {}
    for key in table:
        if key not in keys:
            diags.error(key_path(name, key), f"unknown key{did_you_mean(key, keys)}; expected one of {', '.join(keys)}")
    return table


@dataclass(frozen=True, slots=True)
class _Defaults:
    channels: frozenset[int] | None = None
    port: PortPattern = PortPattern()
    smoothing_ms: float | None = None
    takeover: str = "jump"
    threshold: int = 64
    feedback: bool = False


def _defaults(table: dict, diags: Diagnostics) -> _Defaults:
    check = _Checker(diags, "defaults")
    return _Defaults(
        check.channels(table.get("channel", "any"), "channel"),
        check.port(table.get("port", "*"), "port"),
        check.number(table["smoothing_ms"], "smoothing_ms", 0, 10000) if "smoothing_ms" in table else None,
        check.choice(table.get("takeover", "jump"), "takeover", TAKEOVERS) or "jump",
        int(check.integer(table.get("threshold", 64), "threshold", 1, 127) or 64),
        check.boolean(table.get("feedback", False), "feedback"),
    )


def _presets(data: dict, diags: Diagnostics, path: Path) -> tuple[PresetBank, float, tuple[Path, ...], bool]:
    """The ``[presets]`` table: bank, glide, files read, and whether a recall resets unlisted values."""
    table = _table(data, "presets", PRESET_TABLE_KEYS, diags)
    check = _Checker(diags, "presets")
    glide = check.number(table.get("glide_ms", 0), "glide_ms", 0, 60000) or 0.0
    reset = check.boolean(table.get("reset_unlisted", False), "reset_unlisted")
    names: list[Path] = []
    if "dir" in table:
        names.append(path.parent / check.string(table["dir"], "dir"))
    files = table.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        diags.error("presets.files", "expected a list of file names")
        files = []
    names += [path.parent / f for f in files]
    for i, name in enumerate(names):
        if not name.exists():
            key = "presets.dir" if "dir" in table and i == 0 else key_path("presets", "files")
            diags.error(key, f"no such file or folder: {name}")
    try:
        bank = load_presets([n for n in names if n.exists()])
    except ConfigError as exc:
        diags.extend(exc.diagnostics)
        return PresetBank(), glide, tuple(names), reset
    return bank, glide, tuple(names) + tuple(f for f in bank.files if f not in names), reset


# -- rules -----------------------------------------------------------------------

def _rules(entries: object, defaults: _Defaults, presets: PresetBank | None, diags: Diagnostics) -> list[Rule]:
    if not isinstance(entries, list):
        diags.error("map", "expected [[map]] tables")
        return []
    rules: list[Rule] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            diags.error(key_path("map", i), "expected a table")
            continue
        rules += _RuleParser(entry, i, defaults, presets, diags).parse()
    return rules


class _Checker:
    """Typed field readers that record a uniform message on failure and return None."""

    def __init__(self, diags: Diagnostics, prefix: str) -> None:
        self.diags, self.prefix = diags, prefix

    def at(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def fail(self, key: str, message: str) -> None:
        self.diags.error(self.at(key), message)

    def number(self, value: object, key: str, lo: float | None = None, hi: float | None = None) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(key, f"expected a number, got {_show(value)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return self.fail(key, f"out of range: {value:g} is not within {_span(lo, hi)}")
        return float(value)

    def integer(self, value: object, key: str, lo: int, hi: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return self.fail(key, f"expected an integer {lo}..{hi}, got {_show(value)}")
        if not lo <= value <= hi:
            return self.fail(key, f"out of range: {value} is not within {lo}..{hi}")
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {_show(value)}")
            return "*"
        return value

    def port(self, value: object, key: str) -> PortPattern:
        """A port pattern in the one dialect of port and device names (``ravebox.config.names``)."""
        text = self.string(value, key)
        problem = name_problem(text)
        if problem is not None:
            self.fail(key, problem)
            return PortPattern()
        return PortPattern(text)

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_show(value)}")
            return False
        return value

    def choice(self, value: object, key: str, choices: tuple[str, ...]) -> str | None:
        value = ALIASES.get(value, value) if isinstance(value, str) else value
        if value in choices:
            return str(value)
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        shown = repr(value) if isinstance(value, str) else _show(value)
        return self.fail(key, f"unknown {key.split('.')[-1]} {shown}{hint}; expected one of {', '.join(choices)}")

    def pair(self, value: object, key: str, lo: float, hi: float) -> tuple[float, float] | None:
        if not (isinstance(value, list) and len(value) == 2):
            return self.fail(key, f"expected [low, high], got {_show(value)}")
        a, b = (self.number(v, f"{key}[{i}]", lo, hi) for i, v in enumerate(value))
        return None if a is None or b is None else (a, b)

    def channels(self, value: object, key: str) -> frozenset[int] | None:
        if value == "any":
            return None
        values = value if isinstance(value, list) else [value]
        out = [self.integer(v, key, 1, 16) for v in values]
        if not values:
            self.fail(key, "expected a channel 1..16, a list of channels, or \"any\"")
        return frozenset(c - 1 for c in out if c is not None) or None


def _show(value: object) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return f"{kind.get(type(value), type(value).__name__)} {text}"


def _span(lo: float | None, hi: float | None) -> str:
    return f"{'-inf' if lo is None else f'{lo:g}'}..{'inf' if hi is None else f'{hi:g}'}"


class _RuleParser:
    """Validates one ``[[map]]`` table into one Rule (or several, for list sources)."""

    def __init__(self, entry: dict, index: int, defaults: _Defaults, presets: PresetBank | None,
                 diags: Diagnostics) -> None:
        """``presets`` is None when the file declares none (a box config may supply them)."""
        self.e, self.i, self.d, self.diags = entry, index, defaults, diags
        self.has_presets = presets is not None
        self.presets = presets or PresetBank()
        self.prefix = key_path("map", index)
        self.check = _Checker(diags, self.prefix)
        self.errors_before = len(diags.items)

    def parse(self) -> list[Rule]:
        for key in self.e:
            if key not in RULE_KEYS:
                self.check.fail(key, f"unknown key{did_you_mean(key, RULE_KEYS)}")
        if "learn" in self.e:
            return self._learn_button()
        kind = self._kind()
        spec, target = self._target()
        if kind is None:
            return []
        numbers = self._numbers(kind)
        dims = self._dims(spec, len(numbers))
        mode, button = self._mode(kind, spec)
        common = self._shaping(kind, spec, mode, button)
        values = self._values(spec, len(numbers))
        if mode == "button" and target == "preset.recall" and "value" not in self.e:
            self.diags.error(self.prefix, "a preset button needs value = <preset program number> (or preset = \"name\")")
        if len(self.diags.items) > self.errors_before:
            return []
        channels = self.check.channels(self.e["channel"], "channel") if "channel" in self.e else self.d.channels
        port = self.check.port(self.e["port"], "port") if "port" in self.e else self.d.port
        rules = []
        for number, dim, value in zip(numbers, dims, values):
            source = Source(kind, number, channels, port, self.e.get("order", "auto"), self.e.get("bits", 14))
            key = None if target is None else ParamKey(target, self.e.get("graph"), dim)
            rules.append(Rule(self.i, self.diags.line_of(self.prefix), source, key, self.e.get("preset"),
                              mode, **(common | {"value": value})))
        return rules

    def _learn_button(self) -> list[Rule]:
        """``learn = "param"`` (with optional ``graph``/``dim``): a button whose press arms MIDI learn, so the
        next control moved drives ``param`` (written into this file, as ``ravebox status learn`` does)."""
        e, check = self.e, self.check
        for key in e:
            if key in RULE_KEYS and key not in LEARN_BUTTON_KEYS:
                check.fail(key, "a learn button takes its source, learn, graph, dim, channel, port, threshold and label")
        kind = self._kind()
        name = e["learn"]
        spec = PARAMS.get(name) if isinstance(name, str) else None
        if spec is None:
            check.fail("learn", f"unknown parameter {_show(name)}{did_you_mean(str(name), PARAMS)}")
        if kind is not None and kind not in ("cc", "note", "program"):
            check.fail(kind, "a learn button is a note, a CC or a program change")
        graph = e.get("graph")
        if graph is not None and (not isinstance(graph, str) or not graph):
            check.fail("graph", f"expected a graph name, got {_show(graph)}")
        elif graph is not None and spec is not None and spec.scope is ParamScope.BOX:
            check.fail("graph", f"'{name}' belongs to the whole box, not to a graph")
        dim = None
        if "dim" in e:
            if spec is not None and spec.scope is not ParamScope.DIM:
                check.fail("dim", f"'{name}' has no latent dimensions")
            dim = check.integer(e["dim"], "dim", 0, 1023)
        numbers = self._numbers(kind) if kind is not None else []
        if len(numbers) != 1:
            check.fail(kind or "learn", "a learn button is one control, not a list")
        threshold = check.integer(e.get("threshold", self.d.threshold), "threshold", 1, 127) or 64
        label = check.string(e.get("label", ""), "label")
        if len(self.diags.items) > self.errors_before or kind is None:
            return []
        channels = check.channels(e["channel"], "channel") if "channel" in e else self.d.channels
        port = check.port(e["port"], "port") if "port" in e else self.d.port
        lo, hi = SOURCE_RANGES[kind]
        source = Source(kind, numbers[0], channels, port)
        return [Rule(self.i, self.diags.line_of(self.prefix), source, None, None, "button", (float(lo), float(hi)),
                     (0.0, 1.0), button="trigger", threshold=threshold, label=label,
                     learn=ParamKey(str(name), graph, dim))]

    def _values(self, spec: ParamSpec | None, count: int) -> list[float | None]:
        """``value`` for each source: one number for all, or a list with one per source."""
        if "value" not in self.e or spec is None:
            return [None] * count
        values = self.e["value"]
        if not isinstance(values, list):
            return [self.check.number(values, "value", spec.minimum, spec.maximum)] * count
        if len(values) != count:
            self.check.fail("value", f"expected {count} values (one per source), got {len(values)}")
            return [None] * count
        return [self.check.number(v, f"value[{j}]", spec.minimum, spec.maximum) for j, v in enumerate(values)]

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
                self.check.fail(kind, f"expected true, got {_show(value)}")
            return [None]
        if kind == "program" and (value is True or value == "any"):
            return [None]
        top = {"cc": 127, "cc14": 31, "nrpn": 16383, "rpn": 16383}.get(kind, 127)
        values = value if isinstance(value, list) and not self._is_msb_lsb(kind, value) else [value]
        if not values:
            self.check.fail(kind, "expected a number or a list of numbers, got an empty array")
        return [self._number(kind, v, top, f"{kind}[{j}]" if len(values) > 1 else kind) for j, v in enumerate(values)]

    def _is_msb_lsb(self, kind: str, value: list) -> bool:
        """``nrpn = [2, 44]`` is one parameter (MSB 2, LSB 44), unless dim or value lists make it two."""
        return kind in ("nrpn", "rpn") and len(value) == 2 and all(isinstance(v, int) and v < 128 for v in value) \
            and not isinstance(self.e.get("dim"), list) and not isinstance(self.e.get("value"), list)

    def _number(self, kind: str, value: object, top: int, key: str) -> int | None:
        if kind in ("nrpn", "rpn") and isinstance(value, list):
            parts = [self.check.integer(v, key, 0, 127) for v in value] if len(value) == 2 else [None]
            if len(value) != 2:
                self.check.fail(key, "expected a number 0..16383 or [msb, lsb]")
            return None if None in parts else parts[0] * 128 + parts[1]
        return self.check.integer(value, key, 0, top)

    # -- target --------------------------------------------------------------------
    def _target(self) -> tuple[ParamSpec | None, str | None]:
        if "preset" in self.e:
            if "target" in self.e:
                self.check.fail("preset", "a rule has either a target or a preset, not both")
            name = self.e["preset"]
            if not isinstance(name, str):
                self.check.fail("preset", f"expected a preset name, got {_show(name)}")
            elif self.has_presets and self.presets.find(name) is None:
                self.check.fail("preset", f"unknown preset '{name}'{did_you_mean(name, self.presets.by_name)}")
            return PARAMS["preset.recall"], None
        if "target" not in self.e:
            self.diags.error(self.prefix, "missing target (a parameter name) or preset (a preset name)")
            return None, None
        name = self.e["target"]
        if not isinstance(name, str):
            self.check.fail("target", f"expected a parameter name, got {_show(name)}")
            return None, None
        spec = PARAMS.get(name)
        if spec is None:
            self.check.fail("target", f"unknown parameter '{name}'{did_you_mean(name, PARAMS)}")
            return None, None
        if "graph" in self.e:
            if spec.scope is ParamScope.BOX:
                self.check.fail("graph", f"'{name}' belongs to the whole box, not to a graph")
            elif not isinstance(self.e["graph"], str) or not self.e["graph"]:
                self.check.fail("graph", f"expected a graph name, got {_show(self.e['graph'])}")
        return spec, name

    def _dims(self, spec: ParamSpec | None, count: int) -> list[int | None]:
        """``dim`` for each source: absent (every dim), one for all, or a list with one per source."""
        if "dim" not in self.e:
            return [None] * count
        if spec is not None and spec.scope is not ParamScope.DIM:
            self.check.fail("dim", f"'{spec.name}' has no latent dimensions")
            return [None] * count
        dims = self.e["dim"]
        if not isinstance(dims, list):
            return [self.check.integer(dims, "dim", 0, 1023)] * count
        if len(dims) != count:
            self.check.fail("dim", f"expected {count} dims (one per source), got {len(dims)}")
            return [None] * count
        return [self.check.integer(d, f"dim[{j}]", 0, 1023) for j, d in enumerate(dims)]

    # -- behaviour -------------------------------------------------------------------
    def _mode(self, kind: str, spec: ParamSpec | None) -> tuple[str, str | None]:
        e = self.e
        if "encoder" in e:
            if kind != "cc":
                self.check.fail("encoder", f"relative encoders send plain CCs; not allowed with {kind}")
            if "button" in e:
                self.check.fail("button", "a rule is either an encoder or a button")
            return "relative", None
        button = self.check.choice(e["button"], "button", BUTTONS) if "button" in e else None
        if button and kind in ("pitchbend", "pressure", "polytouch", "cc14", "nrpn", "rpn"):
            self.check.fail("button", f"{kind} is a continuous source and cannot be a button")
        trigger_like = spec is not None and (spec.kind is ParamKind.TRIGGER or (spec.name == "preset.recall"
                                                                                and "value" in e))
        if spec is not None and spec.kind is ParamKind.TRIGGER and button in ("momentary", "toggle"):
            self.check.fail("button", f"'{spec.name}' is a trigger; only button = \"trigger\" fits")
        if button is None and kind == "note" and e.get("velocity") != "value":
            button = "toggle" if spec is not None and spec.kind is ParamKind.TOGGLE else "trigger"
        if button is None and ((kind == "program" and e.get(kind) not in (True, "any")) or "preset" in e):
            button = "trigger"
        if button is None and trigger_like and kind in ("cc", "note"):
            button = "trigger"
        return ("button" if button else "absolute"), button

    def _shaping(self, kind: str, spec: ParamSpec | None, mode: str, button: str | None) -> dict:
        e, check = self.e, self.check
        lo, hi = SOURCE_RANGES[kind]
        if kind in ("nrpn", "rpn") and e.get("bits") == 7:
            lo, hi = 0, 127
        out: dict = {"button": button}
        if spec is not None:
            target_range = check.pair(e["range"], "range", spec.minimum, spec.maximum) if "range" in e else None
            target_range = target_range or (spec.minimum, spec.maximum)
            if check.boolean(e.get("reverse", False), "reverse"):
                target_range = (target_range[1], target_range[0])
            out["target_range"] = target_range
            default_step = 1.0 if spec.kind in (ParamKind.CHOICE, ParamKind.TOGGLE) else abs(spec.maximum - spec.minimum) / 127
            out["step"] = check.number(e.get("step", default_step), "step", 0) or default_step
        else:
            out["target_range"] = (0.0, 1.0)
        out["source_range"] = check.pair(e["source_range"], "source_range", lo, hi) if "source_range" in e else None
        out["source_range"] = out["source_range"] or ((1.0, 127.0) if kind == "note" else (float(lo), float(hi)))
        out["curve"] = check.choice(e.get("curve", "linear"), "curve", CURVES) or "linear"
        if "gamma" in e and out["curve"] != "gamma":
            check.fail("gamma", 'gamma only applies to curve = "gamma"')
        if "steepness" in e and out["curve"] not in ("log", "exp"):
            check.fail("steepness", 'steepness only applies to curve = "log" or "exp"')
        out["steepness"] = check.number(e.get("steepness", DEFAULT_STEEPNESS), "steepness", 0.01, 100) or DEFAULT_STEEPNESS
        out["gamma"] = check.number(e.get("gamma", DEFAULT_GAMMA), "gamma", 0.01, 100) or DEFAULT_GAMMA
        if "encoder" in e:
            name = ENCODER_NAMES.get(str(e["encoder"]))
            if name is None:
                check.fail("encoder", f"unknown encoder {_show(e['encoder'])}{did_you_mean(str(e['encoder']), ENCODER_NAMES)};"
                                      " expected 1, 2, 3, twos_complement, binary_offset or sign_magnitude")
            out["encoder"] = name
        elif "step" in e or "acceleration" in e:
            check.fail("step" if "step" in e else "acceleration", "step and acceleration apply to encoder rules only")
        out["acceleration"] = check.number(e.get("acceleration", 0.0), "acceleration", 0, 10) or 0.0
        out["threshold"] = check.integer(e.get("threshold", self.d.threshold), "threshold", 1, 127) or 64
        self._takeover(kind, mode, out)
        if "smoothing_ms" in e:
            out["smoothing_ms"] = check.number(e["smoothing_ms"], "smoothing_ms", 0, 10000)
        else:
            out["smoothing_ms"] = self.d.smoothing_ms
        if "glide_ms" in e:
            if not (spec is not None and spec.name == "preset.recall"):
                check.fail("glide_ms", "glide_ms applies to preset recall rules; use smoothing_ms")
            out["glide_ms"] = check.number(e["glide_ms"], "glide_ms", 0, 60000)
        self._source_options(kind, out)
        out["layer"] = check.boolean(e.get("layer", False), "layer")
        out["label"] = check.string(e.get("label", ""), "label")
        out["feedback"] = check.boolean(e["feedback"], "feedback") if "feedback" in e else self.d.feedback
        if "feedback" in e and out["feedback"] and (kind == "program" or spec is None):
            check.fail("feedback", "feedback applies to controls that show a parameter (not program changes "
                                   "or preset buttons)")
        return out

    def _takeover(self, kind: str, mode: str, out: dict) -> None:
        """[defaults] takeover reaches faders and knobs; bend, pressure and velocity jump unless told."""
        if "takeover" in self.e:
            out["takeover"] = self.check.choice(self.e["takeover"], "takeover", TAKEOVERS) or "jump"
            if mode != "absolute":
                self.check.fail("takeover", "soft takeover applies to absolute controls (faders, knobs) only")
        else:
            knob = mode == "absolute" and kind in ("cc", "cc14", "nrpn", "rpn")
            out["takeover"] = self.d.takeover if knob else "jump"

    def _source_options(self, kind: str, out: dict) -> None:
        e, check = self.e, self.check
        if "order" in e:
            if kind != "cc14":
                check.fail("order", "order applies to cc14 sources only")
            check.choice(e["order"], "order", ("auto", "msb_first", "lsb_first"))
        if "bits" in e:
            if kind not in ("nrpn", "rpn"):
                check.fail("bits", "bits applies to nrpn and rpn sources only")
            elif e["bits"] not in (7, 14) or isinstance(e["bits"], bool):
                check.fail("bits", f"expected 7 or 14, got {_show(e['bits'])}")
        if "velocity" in e:
            if kind != "note":
                check.fail("velocity", "velocity applies to note sources only")
            out["velocity"] = check.choice(e["velocity"], "velocity", ("value", "trigger")) or "trigger"


# -- duplicates ------------------------------------------------------------------------

def _footprint(source: Source) -> set[tuple[str, int | None]]:
    """The raw controller streams a source reads (a cc14 pair also reads its MSB and LSB CCs)."""
    if source.kind == "cc14":
        return {("cc", source.number), ("cc", source.number + 32)}
    return {(source.kind, source.number)}


ALL_PROGRAMS = ("program", "*")   # the index bucket every program source is also filed under


def _duplicates(rules: list[Rule], diags: Diagnostics) -> None:
    """Report every rule that reads a stream an earlier rule of another entry already reads.

    Why an index and not every pair: a generated mapping of 10,000 rules would take
    minutes pairwise; here each rule meets only the earlier rules that share one of
    its streams on the same port text (program "any" shares every program stream).
    """
    seen: dict[tuple[str, tuple[str, object]], list[Rule]] = {}
    for rule in rules:
        port, own = rule.source.port.text, _footprint(rule.source)
        program = rule.source.kind == "program"
        look = own | ({ALL_PROGRAMS} if program and rule.source.number is None else set()) \
            | ({("program", None)} if program else set())
        candidates = [other for stream in look for other in seen.get((port, stream), ())]
        clash = min((other for other in candidates if other.index != rule.index and not (rule.layer and other.layer)
                     and _overlap(rule.source, other.source)), key=lambda other: other.index, default=None)
        if clash is not None:
            where = f" (line {clash.line})" if clash.line else ""
            diags.error(key_path("map", rule.index),
                        f"duplicate source: {rule.source.describe()} is already mapped by map[{clash.index}]{where};"
                        " set layer = true on both to layer them on purpose")
        for stream in own | ({ALL_PROGRAMS} if program else set()):
            seen.setdefault((port, stream), []).append(rule)


def rules_reading(mapping: Mapping, kind: str, number: int | None, channel: int, port: str) -> list[Rule]:
    """The rules a message stream (``kind``/``number`` on 0-based ``channel`` from ``port``) reaches.

    For MIDI learn: is this control already mapped? (A ``cc14`` stream also reads its two CCs.)
    """
    probe = Source(kind, number, frozenset({channel}), PortPattern(port))
    streams = _footprint(probe)
    return [r for r in mapping.rules
            if r.source.accepts(port, channel) and (streams & _footprint(r.source)
                                                    or (kind == r.source.kind == "program" and r.source.number is None))]


def _overlap(a: Source, b: Source) -> bool:
    if a.port.text != b.port.text:
        return False
    if a.channels is not None and b.channels is not None and not a.channels & b.channels:
        return False
    fa, fb = _footprint(a), _footprint(b)
    if a.kind == b.kind == "program" and (a.number is None or b.number is None):
        return True
    return bool(fa & fb)
