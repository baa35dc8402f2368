"""MIDI learn, the file half: a learned source becomes a ``[[map]]`` entry in the mapping file.

Why edit the file (and not only the running mapping): what a player teaches the
box must survive a restart and be readable and editable later, like the rest of
the mapping. The file is edited with tomlkit so the player's comments, order
and alignment stay as they were (:mod:`ravebox.tomlwrite`), the result is
validated with the mapping loader BEFORE it replaces the file (atomically), so
a learn can never leave a mapping the daemon would refuse.

Already mapped: when the learned control already drives something (a rule
whose source reads the same stream and accepts the device and channel), the
player chooses: ``replace`` takes the control out of the old entry (the whole
entry, or its element of a list such as ``cc = [16, 17]`` with the matching
``dim``/``value`` element) and adds the new one; ``add`` keeps both, marking
both ``layer = true``; ``ask`` (the default) writes nothing and says what is
mapped there.

Thread: the daemon's main thread (or the CLI, or a test). Pure file work.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from ravebox.config.diagnostics import Diagnostic, Diagnostics, did_you_mean
from ravebox.errors import ConfigError
from ravebox.mapping.duplicates import rules_reading
from ravebox.mapping.learn import LearnedSource
from ravebox.mapping.loader import load_mapping, parse_mapping
from ravebox.mapping.model import Mapping, Rule
from ravebox.params.table import PARAMS, ParamKind
from ravebox.tomlwrite import atomic_write_text, read_document

MODES = ("ask", "replace", "add")
LIST_COMPANIONS = ("dim", "value")


@dataclass(frozen=True, slots=True)
class LearnTarget:
    """What the learned control should move: a parameter name, optionally one graph and one dimension."""

    name: str
    graph: str | None = None
    dim: int | None = None

    def check(self) -> None:
        """ConfigError (with did-you-mean) for an unknown parameter."""
        if self.name not in PARAMS:
            raise ConfigError([_problem(f"unknown parameter '{self.name}'{did_you_mean(self.name, PARAMS)}")])

    def describe(self) -> str:
        where = "".join(f"[{x}]" for x in (self.dim,) if x is not None)
        return (f"{self.graph}/" if self.graph else "") + self.name + where


@dataclass(frozen=True, slots=True)
class LearnOutcome:
    """``ok``: the file was written. ``conflict``: nothing written, the control is mapped (ask the player)."""

    ok: bool
    message: str
    conflict: bool = False
    entry: int | None = None    # map[entry] of the new entry when written
    mapping: Mapping | None = None   # the file as written, validated: ready to swap in without reading it again


def learn_into(path: str | Path, source: LearnedSource, target: LearnTarget, mode: str = "ask",
               current: Mapping | None = None) -> LearnOutcome:
    """Add ``source -> target`` to the mapping file at ``path`` (see the module docstring for ``mode``).

    ``current``: the mapping as loaded from this very file (the daemon's, when the file has not
    changed since); else the file is read and validated first. The edited text is validated once;
    that mapping is ``outcome.mapping``, ready to swap in without reading the file again.

    Why a control that nothing maps yet is appended and not re-written through tomlkit: no
    existing entry changes, so the file's text is kept byte for byte and the new ``[[map]]`` table,
    rendered by tomlkit, goes at its end (a ``[[map]]`` header appends to the array wherever it
    stands). Parsing the whole file with tomlkit costs several times the validation (about 40 ms
    for the bundled nanoKONTROL2 mapping on a Pi-class core), which MIDI learn's 200 ms budget
    cannot afford twice. ``replace`` and ``add`` over an existing entry edit that entry through
    tomlkit's document, layout kept.
    """
    path = Path(path)
    target.check()
    if mode not in MODES:
        raise ConfigError([_problem(f"mode must be one of {', '.join(MODES)}, not {mode!r}")])
    if current is None:
        current = load_mapping(path)   # a file the daemon would refuse is not edited
    taken = rules_reading(current, source.kind, source.number, source.channel, source.port)
    if taken and mode == "ask":
        return LearnOutcome(False, f"{source.describe()} is already mapped by {_list(taken)}; "
                                   "learn again with --replace or --add (or --cancel)", conflict=True)
    entry = _entry(source, target, layered=bool(taken) and mode == "add")
    edited = _appended(path, entry) if not taken else None
    learned = _valid_or_none(edited, path) if edited is not None else None
    if learned is None:                # an entry to edit, or a file the plain append does not fit (map = [...])
        edited = _edited(path, taken, mode, entry)
        learned = _validate(edited, path)
    assert edited is not None   # learned is only set from an edited text
    atomic_write_text(path, edited)
    index = max(rule.index for rule in learned.rules)
    done = {"replace": f", replacing {_list(taken)}", "add": ", layered with " + _list(taken)}.get(mode, "")
    return LearnOutcome(True, f"learned {source.describe()} -> {target.describe()} as map[{index}] in {path}"
                              + (done if taken else ""), entry=index, mapping=learned)


def _appended(path: Path, entry: tomlkit.items.Table) -> str:
    """The file's text, unchanged, with ``entry`` as a new ``[[map]]`` table at its end."""
    text = path.read_text(encoding="utf-8")
    block = tomlkit.document()
    block.append("map", tomlkit.aot())
    block["map"].append(entry)
    gap = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + gap + tomlkit.dumps(block)


def _edited(path: Path, taken: list[Rule], mode: str, entry: tomlkit.items.Table) -> str:
    """The file edited through tomlkit: the taken entries replaced or layered, ``entry`` appended."""
    doc = read_document(path)
    entries = _map_array(doc)
    if mode == "replace":
        for index in sorted({r.index for r in taken}, reverse=True):
            _remove_source(entries, index, [r for r in taken if r.index == index])
    elif taken:
        for index in {r.index for r in taken}:
            entries[index]["layer"] = True
    if isinstance(entries, tomlkit.items.Array):     # map = [{...}, ...]: the entry joins as an inline table
        inline = tomlkit.inline_table()
        inline.update({key: value for key, value in entry.items()})
        entry = inline
    entries.append(entry)
    return tomlkit.dumps(doc)


def _entry(source: LearnedSource, target: LearnTarget, layered: bool) -> tomlkit.items.Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(f"learned {time.strftime('%Y-%m-%d %H:%M')} from {source.port}"))
    keys = source.toml()
    if source.kind == "program" and target.name == "preset.recall":
        keys["program"] = True           # every program change recalls its preset
    for key, value in keys.items():
        table[key] = value
    table["target"] = target.name
    if target.graph:
        table["graph"] = target.graph
    if target.dim is not None:
        table["dim"] = target.dim
    spec = PARAMS[target.name]
    if source.kind == "cc" and spec.kind is ParamKind.TOGGLE:
        table["button"] = "toggle"       # a CC button flips it (a note toggles by default)
    if layered:
        table["layer"] = True
    return table


def _map_array(doc: tomlkit.TOMLDocument) -> tomlkit.items.AoT:
    if "map" not in doc:
        doc.append("map", tomlkit.aot())
    return doc["map"]


def _remove_source(entries: tomlkit.items.AoT, index: int, rules: list[Rule]) -> None:
    """Take the rules' source numbers out of entry ``index``; drop the entry when nothing is left."""
    entry = entries[index]
    kind = rules[0].source.kind
    values = entry.get(kind)
    if not isinstance(values, list) or _is_pair(kind, values):
        del entries[index]
        return
    for rule in rules:
        position, count = list(values).index(rule.source.number), len(values)
        for key in (kind, *LIST_COMPANIONS):
            if isinstance(entry.get(key), list) and len(entry[key]) == count:
                del entry[key][position]
    if not values:
        del entries[index]


def _is_pair(kind: str, values: list) -> bool:
    """``nrpn = [msb, lsb]`` is one parameter, not a list of two."""
    return kind in ("nrpn", "rpn") and len(values) == 2


def _validate(text: str, path: Path) -> Mapping:
    """The edited mapping; ConfigError (the loader's messages) if it would be refused."""
    diags = Diagnostics(str(path), text)
    try:
        mapping = parse_mapping(tomllib.loads(text), diags, path)
    except tomllib.TOMLDecodeError as exc:
        diags.error("", f"TOML syntax error: {exc}")
        mapping = None
    if diags or mapping is None:
        raise ConfigError([_problem("the edited mapping would be invalid, file left as it was:"), *diags.items])
    return mapping


def _valid_or_none(text: str, path: Path) -> Mapping | None:
    try:
        return _validate(text, path)
    except ConfigError:
        return None


def _list(rules: list[Rule]) -> str:
    seen: dict[int, Rule] = {}
    for rule in rules:
        seen.setdefault(rule.index, rule)
    return ", ".join(f"map[{i}]" + (f" (line {r.line})" if r.line else "") + f" -> {_target(r)}"
                     for i, r in seen.items())


def _target(rule: Rule) -> str:
    if rule.target is None:
        return f"preset '{rule.preset}'"
    return str(rule.target)


def _problem(message: str) -> Diagnostic:
    """A learn problem not tied to a line of a file; prints as ``learn: <message>``."""
    return Diagnostic("learn", None, "", message)
