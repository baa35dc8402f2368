"""Which rules read the same controller stream: duplicate sources in a mapping, and learn's "already mapped?".

Split out of ``loader.py``: the loader validates each entry on its own; this
module compares the validated rules with each other. Runs on whichever thread
loads a mapping (main thread, reload thread, CLI) or writes a learned entry.
"""

from __future__ import annotations

from ravebox.config.diagnostics import Diagnostics, key_path
from ravebox.mapping.model import Mapping, PortPattern, Rule, Source

ALL_PROGRAMS = ("program", "*")   # the index bucket every program source is also filed under


def footprint(source: Source) -> set[tuple[str, int | None]]:
    """The raw controller streams a source reads (a cc14 pair also reads its MSB and LSB CCs)."""
    if source.kind == "cc14":
        assert source.number is not None
        return {("cc", source.number), ("cc", source.number + 32)}
    return {(source.kind, source.number)}


def report_duplicates(rules: list[Rule], diags: Diagnostics) -> None:
    """Report every rule that reads a stream an earlier rule of another entry already reads.

    Why an index and not every pair: a generated mapping of 10,000 rules would take
    minutes pairwise; here each rule meets only the earlier rules that share one of
    its streams on the same port text (program "any" shares every program stream).
    """
    seen: dict[tuple[str, tuple[str, object]], list[Rule]] = {}
    for rule in rules:
        port, own = rule.source.port.text, footprint(rule.source)
        program = rule.source.kind == "program"
        look: set[tuple[str, object]] = set(own) | ({ALL_PROGRAMS} if program and rule.source.number is None else set()) \
            | ({("program", None)} if program else set())
        candidates = [other for stream in look for other in seen.get((port, stream), ())]
        clash = min((other for other in candidates if other.index != rule.index and not (rule.layer and other.layer)
                     and overlap(rule.source, other.source)), key=lambda other: other.index, default=None)
        if clash is not None:
            where = f" (line {clash.line})" if clash.line else ""
            diags.error(key_path("map", rule.index),
                        f"duplicate source: {rule.source.describe()} is already mapped by map[{clash.index}]{where};"
                        " set layer = true on both to layer them on purpose")
        for stream in set(own) | ({ALL_PROGRAMS} if program else set()):
            seen.setdefault((port, stream), []).append(rule)


def rules_reading(mapping: Mapping, kind: str, number: int | None, channel: int, port: str) -> list[Rule]:
    """The rules a message stream (``kind``/``number`` on 0-based ``channel`` from ``port``) reaches.

    For MIDI learn: is this control already mapped? (A ``cc14`` stream also reads its two CCs.)
    """
    probe = Source(kind, number, frozenset({channel}), PortPattern(port))
    streams = footprint(probe)
    return [r for r in mapping.rules
            if r.source.accepts(port, channel) and (streams & footprint(r.source)
                                                    or (kind == r.source.kind == "program" and r.source.number is None))]


def overlap(a: Source, b: Source) -> bool:
    """Do two sources read a common stream on the same port text and a common channel?"""
    if a.port.text != b.port.text:
        return False
    if a.channels is not None and b.channels is not None and not a.channels & b.channels:
        return False
    fa, fb = footprint(a), footprint(b)
    if a.kind == b.kind == "program" and (a.number is None or b.number is None):
        return True
    return bool(fa & fb)
