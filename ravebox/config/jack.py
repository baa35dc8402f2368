"""The ``[jack]`` table of a box config: client name, MIDI inputs, latency headroom, clock source, auto-connect rules.

What a late inference block plays, the block multiple and torch threads are
engine settings (``[output]``); this table holds what only the JACK host needs.

Why auto-connect lives in config: on a dedicated box nobody patches cables in a
GUI. USB controllers come and go under names like ``a2j:nanoKONTROL2 [20] (capture):
nanoKONTROL2 MIDI 1``; the ALSA client number in brackets changes across replugs, so
rules are name patterns (:mod:`ravebox.config.names`: regular expressions searched in
the name, case and separators ignored), with allow and deny lists. A pattern matches a peer when it matches the peer's name OR any of its
aliases: with jackd's ``-X seq`` bridge the name is a generic
``system:midi_capture_3`` and only an alias (``alsa_pcm:nanoKONTROL2/midi_capture_1``)
names the device.

Why named MIDI inputs (``midi_inputs``): events from two controllers on one
JACK input are indistinguishable, so a box may give each controller its own
input (``["keys", "knobs", "clock_in"]``); a mapping then tells them apart by
device name or input name (see :mod:`ravebox.host.control`). Example::

    [jack]
    client_name = "ravebox"
    midi_inputs = ["keys", "knobs", "clock_in"]   # default ["midi_in", "clock_in"]
    headroom_periods = 4         # added latency = one engine block + this many periods (default: measured)
    worker_rt_priority = 2       # realtime priority of the inference worker, below JACK's (0 = off)

    [[jack.connect]]
    port = "^knobs$"             # regex on our own port's short name
    allow = ["nanoKONTROL2"]     # regex on the peer's name or any alias
    deny = ["(?i)through"]

``clock_from`` names the input whose clock messages drive the clock follower
(one of ``midi_inputs``) or ``"any"`` (the default: a drum machine on ``midi_in``
just works). With ``"any"`` the follower locks to the first input that sends
clock and refuses the others while it plays (``conflict`` in status; see
:class:`ravebox.clock.follower.SourcePicker`).

``alsa_inputs`` is the direct-ALSA fallback for boxes without a ``-X seq``
bridge or a2jmidid: each entry opens the ALSA sequencer ports whose name
matches ``device`` (a name pattern, :mod:`ravebox.config.names`) with python-rtmidi,
and labels their events ``"<input> <- <device>"`` (see
:mod:`ravebox.host.alsa_inputs`)::

    alsa_inputs = [{ input = "knobs", device = "nanoKONTROL2" }]

Parsed on the main thread at start-up and on reload; the result is immutable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ravebox.config.diagnostics import Diagnostics, did_you_mean
from ravebox.config.names import matches as name_matches
from ravebox.config.names import problem as name_problem
from ravebox.config.schema import Choice, Field, Flag, Integer, ListOf, Number, Text, check_table, is_table, unknown_keys


@dataclass(frozen=True, slots=True)
class ConnectRule:
    """Connect our ports whose short name matches ``port`` with peers allowed and not denied."""

    port: str
    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()
    #: Only hardware peers: JACK's physical flag on a port of the server's own ``system`` client
    #: (the ALSA driver's audio ports, the ``-X seq`` bridge's MIDI ports). No other client can
    #: take that name, while any client can pick a name or alias a pattern would match.
    hardware: bool = False

    def matches_own(self, shortname: str) -> bool:
        return name_matches(self.port, shortname)

    def admits(self, peer: str | Sequence[str]) -> bool:
        """Whether a peer passes this rule: some allow pattern matches, no deny pattern does.

        ``peer`` is a port name, or the port's name followed by its aliases (any may match).
        """
        return self.match(peer) is not None

    def matching_pattern(self, peer: str | Sequence[str]) -> str | None:
        """The allow pattern that admits ``peer`` (for ``ravebox ports``), or None."""
        found = self.match(peer)
        return found[0] if found else None

    def denied_by(self, peer: str | Sequence[str]) -> str | None:
        """The deny pattern matching the peer's name or an alias, or None."""
        names = _names(peer)
        return next((p for p in self.deny if any(name_matches(p, n) for n in names)), None)

    def match(self, peer: str | Sequence[str]) -> tuple[str, str] | None:
        """``(allow pattern, the name or alias it matched)`` when the rule admits ``peer``, else None.

        A deny pattern matching any of the names wins, so ``deny = ["(?i)through"]``
        also rejects a generic ``system:midi_capture_1`` whose alias says ``Midi-Through``.
        """
        names = _names(peer)
        if self.denied_by(names) is not None:
            return None
        for pattern in self.allow:
            for name in names:
                if name_matches(pattern, name):
                    return pattern, name
        return None


def _names(peer: str | Sequence[str]) -> tuple[str, ...]:
    return (peer,) if isinstance(peer, str) else tuple(peer)


@dataclass(frozen=True, slots=True)
class AlsaInputSpec:
    """One ``[jack] alsa_inputs`` entry: open ALSA ports whose name matches ``device``; label them ``input``."""

    input: str
    device: str

    def matches(self, name: str) -> bool:
        """Whether an ALSA port name (without client:port numbers) is this entry's device."""
        return name_matches(self.device, name)


DEFAULT_MIDI_INPUTS = ("midi_in", "clock_in")
MIDI_OUTPUT = "midi_out"
CLOCK_OUTPUT = "clock_out"          # MIDI clock out (ravebox.clock.clockout), always registered
FEEDBACK_SUFFIX = "_feedback"       # one MIDI output per controller input: "<input>_feedback"
MAX_MIDI_INPUTS = 32                 # the MIDI ring stores the input index in an int16; 32 is plenty
MAX_PORT_NAME = 64                   # short names; JACK allows more, but a name is read on a small screen
MAX_ALSA_INPUTS = 16
_PORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")
_AUDIO_NAME = re.compile(r"_(in|out)_\d+\Z")

# Hardware only (see ConnectRule.hardware): a client that names itself "*clock*" or gives its port
# the alias "system:midi_capture_N" is never patched in by default.
DEFAULT_RULES = (
    ConnectRule("^midi_in$", ("^system:midi_capture_",), ("(?i)through", "(?i)clock"), hardware=True),
    ConnectRule("^clock_in$", ("(?i)clock",), (), hardware=True),
    ConnectRule("^midi_in_feedback$", ("^system:midi_playback_",), ("(?i)through",), hardware=True),
    ConnectRule("_in_\\d+$", ("^system:capture_",), (), hardware=True),
    ConnectRule("_out_\\d+$", ("^system:playback_",), (), hardware=True),
)


@dataclass(frozen=True, slots=True)
class JackSettings:
    """Validated ``[jack]`` settings (defaults suit a box with one sound card)."""

    client_name: str = "ravebox"
    server: str = ""                 # JACK server name; "" = JACK_DEFAULT_SERVER or "default"
    midi_inputs: tuple[str, ...] = DEFAULT_MIDI_INPUTS   # our JACK MIDI input ports, in ring-index order
    headroom_periods: int | None = None   # None: measured at start-up (ravebox.host.headroom)
    clock_from: str = "any"          # one of midi_inputs, or "any": which MIDI inputs feed the clock follower
    midi_thru: bool = False
    control_interval_ms: float = 2.0
    reconnect_backoff_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    fade_out_ms: float = 20.0
    gc: str = "freeze"               # "freeze" | "off" | "default"
    worker_rt_priority: int = 2      # SCHED_FIFO priority of the inference worker (0 = normal scheduling)
    # ... of the control thread, the main loop and libjack's notification thread: above the worker, so
    # that its model calls never keep a thread holding the GIL off a core (the process callback waited
    # for it: start p99 3.65 ms at load 9 with 1, 0.8 ms -- the bare client's -- with 3); below JACK's
    control_rt_priority: int = 3
    connect: tuple[ConnectRule, ...] = field(default=DEFAULT_RULES)
    alsa_inputs: tuple[AlsaInputSpec, ...] = ()   # direct-ALSA fallback inputs (none = nothing is opened)


def feedback_inputs(midi_inputs: Sequence[str], clock_from: str) -> tuple[str, ...]:
    """The MIDI inputs that get a feedback output ``<input>_feedback`` (every one but the clock input)."""
    return tuple(name for name in midi_inputs if name != clock_from)


#: The plain keys of ``[jack]``, each with its range (the lists and ``clock_from`` are checked below).
FIELDS: dict[str, Field] = {
    "client_name": Text(),
    "server": Text(nonempty=False),
    "headroom_periods": Integer(0, 64),
    "midi_thru": Flag(),
    "control_interval_ms": Number(0.0, 1000.0, above=True),
    "reconnect_backoff_s": ListOf(Number(0.0, 3600.0, above=True), min_len=1, what="seconds"),
    "fade_out_ms": Number(0.0, 10000.0, above=True),
    "gc": Choice(("freeze", "off", "default")),
    "worker_rt_priority": Integer(0, 64),     # SCHED_FIFO; keep it below JACK's own; 0 = normal scheduling
    "control_rt_priority": Integer(0, 64),
}
_LISTS = ("connect", "midi_inputs", "alsa_inputs", "clock_from")
_RULE_KEYS = ("port", "allow", "deny", "hardware")
_ALSA_KEYS = ("input", "device")


def parse(table: dict, diags: Diagnostics, prefix: str = "jack") -> JackSettings:
    """Validate a ``[jack]`` table; every problem goes to ``diags`` (never raises itself)."""
    if not is_table(table, diags, prefix):
        return JackSettings()
    values = check_table(table, FIELDS, diags, prefix, known=_LISTS)
    if "connect" in table:
        values["connect"] = _rules(table["connect"], diags, f"{prefix}.connect")
    if "midi_inputs" in table:
        inputs = _midi_inputs(table["midi_inputs"], diags, f"{prefix}.midi_inputs")
        if inputs is not None:
            values["midi_inputs"] = inputs
    if "alsa_inputs" in table:
        specs = _alsa_inputs(table["alsa_inputs"], diags, f"{prefix}.alsa_inputs")
        if specs is not None:
            values["alsa_inputs"] = specs
    if "clock_from" in table:
        clock = _clock_from(table["clock_from"], values.get("midi_inputs", DEFAULT_MIDI_INPUTS), diags,
                            f"{prefix}.clock_from")
        if clock is not None:
            values["clock_from"] = clock
    return JackSettings(**values)


def _midi_inputs(value: object, diags: Diagnostics, path: str) -> tuple[str, ...] | None:
    """A list of unique, valid JACK port short names (each problem reported at its element)."""
    if not isinstance(value, list):
        diags.error(path, 'must be a list of port names, e.g. ["keys", "knobs", "clock_in"]')
        return None
    if len(value) > MAX_MIDI_INPUTS:
        diags.error(path, f"at most {MAX_MIDI_INPUTS} MIDI inputs, not {len(value)}")
        return None
    names: list[str] = []
    ok = True
    for i, name in enumerate(value):
        where = f"{path}[{i}]"
        problem = _port_name_problem(name)
        if problem is None and name in names:
            problem = f"duplicate port name {name!r} (each MIDI input needs its own name)"
        if problem is not None:
            diags.error(where, problem)
            ok = False
        else:
            names.append(name)
    return tuple(names) if ok else None


def _alsa_inputs(value: object, diags: Diagnostics, path: str) -> tuple[AlsaInputSpec, ...] | None:
    """``[{ input = "knobs", device = "nanoKONTROL2" }, ...]``; each problem reported at its element and key."""
    if not isinstance(value, list):
        diags.error(path, 'must be a list of tables, e.g. [{ input = "knobs", device = "nanoKONTROL2" }]')
        return None
    if len(value) > MAX_ALSA_INPUTS:
        diags.error(path, f"at most {MAX_ALSA_INPUTS} ALSA inputs, not {len(value)}")
        return None
    specs: list[AlsaInputSpec] = []
    ok = True
    for i, item in enumerate(value):
        spec = _alsa_input(item, diags, f"{path}[{i}]")
        if spec is not None and spec in specs:
            diags.error(f"{path}[{i}]", f"duplicate entry (input {spec.input!r}, device {spec.device!r})")
            spec = None
        if spec is None:
            ok = False
        else:
            specs.append(spec)
    return tuple(specs) if ok else None


def _alsa_input(item: object, diags: Diagnostics, path: str) -> AlsaInputSpec | None:
    if not isinstance(item, dict):
        diags.error(path, 'must be a table { input = "...", device = "..." }')
        return None
    ok = not any(key not in _ALSA_KEYS for key in item)
    unknown_keys(item, _ALSA_KEYS, diags, path)
    name, device = item.get("input"), item.get("device")
    if name is None:
        diags.error(f"{path}.input", "required: the label prefix of this device's events (e.g. \"knobs\")")
        ok = False
    elif not isinstance(name, str) or not name or len(name) > MAX_PORT_NAME or not _PORT_NAME.match(name):
        diags.error(f"{path}.input", f"must be a name of 1..{MAX_PORT_NAME} letters, digits and _ . + -, "
                                     "starting with a letter or digit")
        ok = False
    if device is None:
        diags.error(f"{path}.device", "required: a regex (case-insensitive) on the ALSA port name")
        ok = False
    elif not isinstance(device, str) or not device:
        diags.error(f"{path}.device", "must be a non-empty regular expression on the ALSA port name")
        ok = False
    elif not _regex(device, diags, f"{path}.device"):
        ok = False
    return AlsaInputSpec(str(name), str(device)) if ok else None


def _port_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one of our MIDI input ports, or None."""
    if not isinstance(name, str):
        return f"must be a port name (a string), not {type(name).__name__}"
    if not name or len(name) > MAX_PORT_NAME:
        return f"must be 1..{MAX_PORT_NAME} characters long"
    if not _PORT_NAME.match(name):
        hint = " (':' separates client and port in JACK)" if ":" in name else ""
        return (f"invalid JACK port name {name!r}: use letters, digits and _ . + -, "
                f"starting with a letter or digit{hint}")
    if name in (MIDI_OUTPUT, CLOCK_OUTPUT):
        return f"{name!r} is ravebox's MIDI {'clock ' if name == CLOCK_OUTPUT else ''}output port"
    if _AUDIO_NAME.search(name):
        return f"{name!r} looks like an audio port name (<graph>_in_N / <graph>_out_N)"
    return None


def _clock_from(value: object, inputs: tuple[str, ...], diags: Diagnostics, path: str) -> str | None:
    choices = (*inputs, "any")
    if value not in choices:
        diags.error(path, f"must be one of {', '.join(choices)}" + did_you_mean(str(value), choices))
        return None
    return value


def _rules(value: object, diags: Diagnostics, path: str) -> tuple[ConnectRule, ...]:
    if not isinstance(value, list):
        diags.error(path, "must be an array of tables ([[jack.connect]])")
        return DEFAULT_RULES
    return tuple(r for i, item in enumerate(value) if (r := _rule(item, diags, f"{path}[{i}]")) is not None)


def _rule(item: object, diags: Diagnostics, path: str) -> ConnectRule | None:
    if not isinstance(item, dict):
        diags.error(path, "must be a table with port, allow and deny")
        return None
    unknown_keys(item, _RULE_KEYS, diags, path)
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
    hardware = item.get("hardware", False)
    if not isinstance(hardware, bool):
        diags.error(f"{path}.hardware", "must be true or false")
        return None
    return ConnectRule(port, lists["allow"], lists["deny"], hardware)


def _regex(pattern: str, diags: Diagnostics, path: str) -> bool:
    """A name pattern (``config/names.py``: one dialect for every port and device name)."""
    problem = name_problem(pattern)
    if problem is not None:
        diags.error(path, problem)
    return problem is None
