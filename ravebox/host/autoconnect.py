"""Auto-connect by name patterns, device labels for MIDI sources, and remembering connections.

Identity is the port name or one of its aliases, never an ALSA client number: a
USB controller that comes back after an unplug (or after jackd restarts) gets
the same name, so the same rule (or the same remembered connection) connects it
again. Rules match a peer's name OR any alias, because jackd's ``-X seq``
bridge names every device ``system:midi_capture_N`` and puts the device name
only in aliases (``alsa_pcm:nanoKONTROL2/midi_capture_1``, ``nanoKONTROL2:midi/capture_1``).

Device labels (:func:`device_label`, :func:`source_labels`): what
``MidiEvent.port`` says for events arriving on one of our MIDI inputs, so a
mapping's ``port = "nanoKONTROL2"`` can pick a controller and ``port = "knobs"``
can pick whatever is patched into our ``knobs`` input. With exactly one source
connected it is ``"knobs <- DEVICE"``, DEVICE being the source's most
descriptive name (the port name unless that is a generic ``midi_capture_N``,
else the first alias that is not) with a2j's ``[NN]`` ALSA client number
removed; otherwise it is our input's short name alone (``knobs``). Both names
are always in the label when they are known, so a rule written against either
keeps matching when a second controller is plugged in or pulled out.

Two sources of wanted connections:

- **rules** from ``[[jack.connect]]``: our port by short-name regex, peers by
  allow/deny regexes. Audio pairs channel by channel within one graph (a mono
  output feeds every playback channel a rule admits); MIDI connects every
  admitted peer.
- **remembered** connections: any connection seen on our ports (made by a rule,
  by a patchbay or by ``jack_connect``) is kept by name, so it comes back when
  both ends exist again. A disconnect while both ports still exist is a user's
  decision and is forgotten; one caused by a port vanishing is kept.

A user's disconnect (``jack_disconnect``, a patchbay) also holds against the
rules: the pair is *declined* until one of its ports goes away and comes back
(a replug, a restart of either client), then the rules apply to it again.

Telling a user's disconnect from a vanishing port: a disconnect is decided one
observation later (it is *pending* meanwhile, and no pass reconnects it), by
when JACK's notice that one of its ports was unregistered (sent right after
the disconnect) has arrived. A pair whose port vanished is not the user's
decision, even if a port of the same name is back already (a USB replug
faster than the main loop: the two ends "both exist" by the time it looks).

Thread: main thread only (it calls into JACK's non-realtime API); the name
functions are pure and run anywhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import jack

from ravebox.config.jack import ConnectRule

log = logging.getLogger("ravebox.host.connect")


GENERIC_NAME = re.compile(r"\A[^:]*:midi_(capture|playback)_\d+\Z")
A2J_CLIENT_NUMBER = re.compile(r" \[\d+\](?= \((capture|playback)\))")


def strip_client_number(name: str) -> str:
    """``a2j:nanoKONTROL2 [20] (capture): x`` -> ``a2j:nanoKONTROL2 (capture): x`` (the number changes on replug)."""
    return A2J_CLIENT_NUMBER.sub("", name)


def device_label(name: str, aliases: Sequence[str] = ()) -> str:
    """The most descriptive of a port's name and aliases, without ALSA client numbers.

    The name wins unless it is generic (``system:midi_capture_3`` says nothing
    about the device); then the first alias that is not generic.
    """
    candidates = [strip_client_number(n) for n in (name, *aliases)]
    return next((c for c in candidates if not GENERIC_NAME.match(c)), candidates[0])


def port_names_of(port: jack.Port) -> tuple[str, ...]:
    """A port's name followed by its aliases (just the name if the port vanished meanwhile)."""
    try:
        aliases = tuple(port.aliases)
    except jack.JackError:
        aliases = ()
    return (port.name, *aliases)


def source_labels(client: jack.Client, own_client: str, inputs: Sequence[str]) -> list[str]:
    """Main thread: the device label for each of our MIDI inputs (see the module docstring)."""
    return [_label_of(client.get_all_connections(f"{own_client}:{short}"), short) for short in inputs]


def is_hardware(port: jack.Port) -> bool:
    """A port of the JACK server's own hardware backends: physical, and owned by its ``system`` client.

    Why both: any client may set the physical flag on its own ports, and any client may give its
    port an alias such as ``system:midi_capture_3``; but only the server owns the ``system`` client.
    """
    try:
        return bool(port.is_physical) and port.name.startswith("system:")
    except jack.JackError:  # the port vanished while we looked
        return False


def _label_of(sources: Sequence[jack.Port], short: str) -> str:
    if len(sources) != 1:
        return short
    names = port_names_of(sources[0])
    return input_label(short, device_label(names[0], names[1:]))


def input_label(short: str, device: str) -> str:
    """The label of an input with one source: our input's name and the device's."""
    return f"{short} <- {device}"


def natural_key(name: str) -> list:
    """Sort ``capture_10`` after ``capture_9``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def group_of(shortname: str) -> str:
    """Ports of one graph and direction share a group: ``main_in_2`` -> ``main_in``."""
    return re.sub(r"_\d+$", "", shortname)


def planned(rules: Sequence[ConnectRule], own: Sequence[jack.Port], peers: Sequence[jack.Port],
            own_client: str) -> list[tuple[str, str, str]]:
    """``(source, destination, pattern)`` for every connection the rules ask for.

    Peers are matched by name or alias; each peer's aliases are read once per call.
    """
    names = {peer.name: port_names_of(peer) for peer in peers}
    plan: list[tuple[str, str, str]] = []
    for rule in rules:
        groups: dict[str, list[jack.Port]] = {}
        for port in own:
            if rule.matches_own(port.shortname):
                groups.setdefault(group_of(port.shortname), []).append(port)
        for ports in groups.values():
            plan.extend(_plan_group(rule, sorted(ports, key=lambda p: natural_key(p.name)), peers, own_client,
                                    names))
    return plan


def _plan_group(rule: ConnectRule, ours: list[jack.Port], peers: Sequence[jack.Port], own_client: str,
                names: dict[str, tuple[str, ...]]) -> list[tuple[str, str, str]]:
    first = ours[0]
    admitted = []
    for peer in peers:
        if peer.name.startswith(own_client + ":") or peer.is_input == first.is_input:
            continue
        if peer.is_audio != first.is_audio:
            continue
        if rule.hardware and not is_hardware(peer):
            continue
        pattern = rule.matching_pattern(names[peer.name])
        if pattern is not None:
            admitted.append((peer, pattern))
    admitted.sort(key=lambda item: natural_key(item[0].name))
    if not admitted:
        return []
    pairs = []
    if first.is_audio:
        for i in range(max(len(ours), len(admitted))):
            pairs.append((ours[i % len(ours)], *admitted[i % len(admitted)]))
    else:
        pairs = [(own, peer, pattern) for own in ours for peer, pattern in admitted]
    return [(peer.name, own.name, pattern) if own.is_input else (own.name, peer.name, pattern)
            for own, peer, pattern in pairs]


def list_ports(client: jack.Client, tries: int = 3) -> list[jack.Port]:
    """``client.get_ports()``, retried when a port vanishes between JACK's listing and its lookup."""
    for attempt in range(tries):
        try:
            return client.get_ports()
        except jack.JackError:
            if attempt == tries - 1:
                raise
    return []


class AutoConnector:
    """Applies rules and remembered connections for one client, re-applied after changes."""

    def __init__(self, rules: Sequence[ConnectRule]) -> None:
        self.rules = tuple(rules)
        self.remembered: set[tuple[str, str]] = set()
        self.declined: set[tuple[str, str]] = set()  # disconnected by a user: not redone while both exist
        self.pending: list[tuple[str, str]] = []     # disconnects not decided yet (see the module docstring)
        self._vanished: set[str] = set()             # ports unregistered as of the previous observation
        self.made = 0
        self.failed = 0
        self.passes = 0

    def apply(self, client: jack.Client, own: Sequence[jack.Port]) -> int:
        """Connect whatever is wanted and missing; returns how many connections were made."""
        self.passes += 1
        peers = list_ports(client)
        existing = {p.name for p in peers}
        self.declined = {(s, d) for s, d in self.declined if s in existing and d in existing}
        wanted = [(s, d, f"rule {pat!r}") for s, d, pat in planned(self.rules, own, peers, client.name)]
        wanted += [(s, d, "remembered") for s, d in sorted(self.remembered) if s in existing and d in existing]
        present = {(a.name, b.name) if a.is_output else (b.name, a.name)
                   for a in own for b in client.get_all_connections(a)}
        made = 0
        for source, dest, why in wanted:
            if (source, dest) in present or (source, dest) in self.declined or (source, dest) in self.pending:
                continue
            present.add((source, dest))
            if self._connect(client, source, dest, why):
                made += 1
        return made

    def _connect(self, client: jack.Client, source: str, dest: str, why: str) -> bool:
        try:
            client.connect(source, dest)
        except jack.JackErrorCode as exc:
            if "already exists" in str(exc):
                return False
            self._fail(source, dest, exc)
            return False
        except jack.JackError as exc:
            self._fail(source, dest, exc)
            return False
        self.made += 1
        self.remembered.add((source, dest))
        log.info("connected %s -> %s (%s)", source, dest, why)
        return True

    def _fail(self, source: str, dest: str, exc: Exception) -> None:
        self.failed += 1
        log.warning("could not connect %s -> %s: %s", source, dest, exc)

    def observe(self, client: jack.Client, events: Iterable[tuple[str | None, str | None, bool]],
                own_client: str, vanished: Iterable[str] = ()) -> bool:
        """Learn from port-connect notifications (main thread, after draining the session's deques).

        ``vanished``: names of ports unregistered since the last call (drained
        after ``events``). Disconnects are decided at the next call (see the
        module docstring); returns True when a pending pair turned out to be
        a vanished port's, so the caller re-runs the rules at once.
        """
        vanished = set(vanished)
        gone, self._vanished = self._vanished | vanished, vanished
        connected_now = set()
        disconnected = []
        for a, b, connected in events:
            if a is None or b is None or not (a.startswith(own_client + ":") or b.startswith(own_client + ":")):
                continue
            if connected:
                self.remembered.add((a, b))
                self.declined.discard((a, b))
                connected_now.add((a, b))
            else:
                connected_now.discard((a, b))
                disconnected.append((a, b))
        undecided, self.pending = self.pending, [pair for pair in disconnected if pair not in connected_now]
        freed = False
        existing = None
        for a, b in undecided:
            if (a, b) in connected_now or (a, b) in self.pending:
                continue                  # connected again meanwhile, or a newer disconnect decides next time
            if a in gone or b in gone:
                freed = True              # a port went away (perhaps back already): not the user's decision
                continue
            if existing is None:
                existing = {p.name for p in list_ports(client)}
            if a in existing and b in existing and (a, b) not in self.declined:
                self.remembered.discard((a, b))
                self.declined.add((a, b))
                log.info("%s -> %s disconnected while both ports exist: kept apart until one of them "
                         "goes away and comes back", a, b)
        return freed

    def forget_declined(self) -> None:
        """Every port went away (the session ended): the rules apply to every pair again."""
        self.declined.clear()
        self.pending.clear()
        self._vanished.clear()


def describe(rules: Sequence[ConnectRule], own_shortnames: Sequence[tuple[str, bool, bool]],
             ports: Sequence[jack.Port], own_client: str) -> list[str]:
    """Lines for ``ravebox ports``: each port, which of our ports a rule would connect it to, its aliases.

    ``own_shortnames`` lists ``(shortname, is_input, is_audio)`` of the ports a
    ravebox client would register (so this works while ravebox is not running).
    The port's line says which allow pattern admitted it and, when an alias
    (not the name) matched, which alias; indented lines list the aliases and,
    for a MIDI source, the device label its events would carry. A rule with
    ``hardware = true`` (all the built-in ones) admits only the server's own
    physical ports (:func:`is_hardware`): a software client its pattern matches
    is shown as ``- (software: ... admits hardware only)``, so a player sees why it
    is not connected. The last line says which ports are hardware, if any rule asks.
    """
    lines = []
    for port in sorted(ports, key=lambda p: natural_key(p.name)):
        names = port_names_of(port)
        kind = ("audio" if port.is_audio else "midi") + (" in " if port.is_input else " out")
        lines.append(f"{port.name:<50} {kind:<9} -> {_targets(rules, own_shortnames, port, names, own_client)}")
        lines += [f"    alias {alias}" for alias in names[1:]]
        label = device_label(names[0], names[1:])
        if not port.is_audio and not port.is_input and label != port.name:
            lines.append(f"    label {label!r} (in MidiEvent.port as 'INPUT <- label' when it is an input's only source)")
    if any(rule.hardware for rule in rules):
        lines.append("(hardware: JACK's physical flag on a port of the server's own 'system' client -- the sound card "
                     "and the -X seq MIDI bridge; any other client needs a [[jack.connect]] rule of its own)")
    return lines


def _targets(rules: Sequence[ConnectRule], own_shortnames: Sequence[tuple[str, bool, bool]], port: jack.Port,
             names: tuple[str, ...], own_client: str) -> str:
    hits, software = [], []
    for rule in rules:
        found = rule.match(names)
        if found is None:
            continue
        ours = [f"{own_client}:{short}" for short, is_input, is_audio in own_shortnames
                if rule.matches_own(short) and is_input != port.is_input and is_audio == port.is_audio]
        if rule.hardware and not is_hardware(port):
            software += ours
            continue
        pattern, via = found
        how = f"allow {pattern!r}" + ("" if via == port.name else f" on alias {via!r}") + \
            (", hardware" if rule.hardware else "")
        hits += [f"{name} ({how})" for name in ours]
    if hits:
        return ", ".join(dict.fromkeys(hits))
    if software:
        return f"- (software: the rule of {', '.join(dict.fromkeys(software))} admits hardware only)"
    denied = next((d for r in rules if (d := r.denied_by(names)) is not None), None)
    return f"denied ({denied!r})" if denied else "-"
