"""The ``[jack]`` table of a box config: client name, latency headroom, clock source, auto-connect rules.

What a late inference block plays, the block multiple and torch threads are
engine settings (``[output]``); this table holds what only the JACK host needs.

Why auto-connect lives in config: on a dedicated box nobody patches cables in a
GUI. USB controllers come and go under names like ``a2j:nanoKONTROL2 [20] (capture):
nanoKONTROL2 MIDI 1``; the ALSA client number in brackets changes across replugs, so
rules are regular expressions on port names (``re.search``), with allow and deny
lists. Example::

    [jack]
    client_name = "ravebox"
    headroom_periods = 1         # added latency = one engine block + this many periods
    worker_rt_priority = 2       # realtime priority of the inference worker, below JACK's (0 = off)

    [[jack.connect]]
    port = "midi_in"             # regex on our own port's short name
    allow = ["a2j:.*nanoKONTROL", "system:midi_capture_.*"]
    deny = ["(?i)through"]

Parsed on the main thread at start-up and on reload; the result is immutable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ravebox.config.diagnostics import Diagnostics, did_you_mean


@dataclass(frozen=True, slots=True)
class ConnectRule:
    """Connect our ports whose short name matches ``port`` with peers allowed and not denied."""

    port: str
    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()

    def matches_own(self, shortname: str) -> bool:
        return re.search(self.port, shortname) is not None

    def admits(self, peer: str) -> bool:
        """Whether a peer port name passes this rule (some allow matches, no deny does)."""
        if any(re.search(p, peer) for p in self.deny):
            return False
        return any(re.search(p, peer) for p in self.allow)

    def matching_pattern(self, peer: str) -> str | None:
        """The allow pattern that admits ``peer`` (for ``ravebox ports``), or None."""
        if any(re.search(p, peer) for p in self.deny):
            return None
        return next((p for p in self.allow if re.search(p, peer)), None)


DEFAULT_RULES = (
    ConnectRule("^midi_in$", ("^system:midi_capture_", "^a2j:.*\\(capture\\)"), ("(?i)through", "(?i)clock")),
    ConnectRule("^clock_in$", ("(?i)clock",), ()),
    ConnectRule("_in_\\d+$", ("^system:capture_",), ()),
    ConnectRule("_out_\\d+$", ("^system:playback_",), ()),
)


@dataclass(frozen=True, slots=True)
class JackSettings:
    """Validated ``[jack]`` settings (defaults suit a box with one sound card)."""

    client_name: str = "ravebox"
    server: str = ""                 # JACK server name; "" = JACK_DEFAULT_SERVER or "default"
    headroom_periods: int = 1
    clock_from: str = "clock_in"     # "clock_in" | "any": which MIDI ports feed the clock follower
    midi_thru: bool = False
    control_interval_ms: float = 2.0
    reconnect_backoff_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    fade_out_ms: float = 20.0
    gc: str = "freeze"               # "freeze" | "off" | "default"
    worker_rt_priority: int = 2      # SCHED_FIFO priority of the inference worker (0 = normal scheduling)
    control_rt_priority: int = 1     # ... of the control thread; both stay below JACK's client thread
    connect: tuple[ConnectRule, ...] = field(default=DEFAULT_RULES)


_CHOICES = {"clock_from": ("clock_in", "any"), "gc": ("freeze", "off", "default")}
_RULE_KEYS = ("port", "allow", "deny")


def parse(table: dict, diags: Diagnostics, prefix: str = "jack") -> JackSettings:
    """Validate a ``[jack]`` table; every problem goes to ``diags`` (never raises itself)."""
    known = {f for f in JackSettings.__dataclass_fields__}
    values: dict = {}
    for key, value in table.items():
        path = f"{prefix}.{key}"
        if key not in known:
            diags.error(path, "unknown key" + did_you_mean(key, known))
        elif key == "connect":
            values[key] = _rules(value, diags, path)
        else:
            checked = _scalar(key, value, diags, path)
            if checked is not None:
                values[key] = checked
    return JackSettings(**values)


def _scalar(key: str, value: object, diags: Diagnostics, path: str) -> object | None:
    default = JackSettings.__dataclass_fields__[key].default
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            diags.error(path, f"must be one of {', '.join(_CHOICES[key])}" + did_you_mean(str(value), _CHOICES[key]))
            return None
        return value
    if isinstance(default, bool):
        return value if _typed(value, bool, diags, path) else None
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            diags.error(path, "must be an integer in range 0..64")
            return None
        return value
    if isinstance(default, float):
        return _positive(value, diags, path)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not value:
            diags.error(path, "must be a non-empty list of seconds")
            return None
        items = [_positive(v, diags, f"{path}[{i}]") for i, v in enumerate(value)]
        return None if any(v is None for v in items) else tuple(items)
    return value if _typed(value, str, diags, path) else None


def _typed(value: object, kind: type, diags: Diagnostics, path: str) -> bool:
    if isinstance(value, kind):
        return True
    diags.error(path, f"must be a {kind.__name__}, not {type(value).__name__}")
    return False


def _positive(value: object, diags: Diagnostics, path: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        diags.error(path, "must be a number greater than 0")
        return None
    return float(value)


def _rules(value: object, diags: Diagnostics, path: str) -> tuple[ConnectRule, ...]:
    if not isinstance(value, list):
        diags.error(path, "must be an array of tables ([[jack.connect]])")
        return DEFAULT_RULES
    return tuple(r for i, item in enumerate(value) if (r := _rule(item, diags, f"{path}[{i}]")) is not None)


def _rule(item: object, diags: Diagnostics, path: str) -> ConnectRule | None:
    if not isinstance(item, dict):
        diags.error(path, "must be a table with port, allow and deny")
        return None
    for key in item:
        if key not in _RULE_KEYS:
            diags.error(f"{path}.{key}", "unknown key" + did_you_mean(key, _RULE_KEYS))
    port = item.get("port")
    if not isinstance(port, str) or not _regex(port, diags, f"{path}.port"):
        if not isinstance(port, str):
            diags.error(f"{path}.port", "must be a regular expression on our port's short name")
        return None
    lists = {}
    for key in ("allow", "deny"):
        patterns = item.get(key, [])
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            diags.error(f"{path}.{key}", "must be a list of regular expressions")
            return None
        if not all(_regex(p, diags, f"{path}.{key}") for p in patterns):
            return None
        lists[key] = tuple(patterns)
    return ConnectRule(port, lists["allow"], lists["deny"])


def _regex(pattern: str, diags: Diagnostics, path: str) -> bool:
    try:
        re.compile(pattern)
    except re.error as exc:
        diags.error(path, f"invalid regular expression {pattern!r}: {exc}")
        return False
    return True
