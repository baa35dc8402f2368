"""One dialect for every place a user names a JACK port or a MIDI device.

Used by ``[[jack.connect]]`` (``port``, ``allow``, ``deny``), ``[jack] alsa_inputs``
(``device``) and a mapping's ``port`` (documented once, in docs/box-config.md,
"Naming ports and devices"). Before, these were three dialects: case-sensitive
regular expressions, case-insensitive ones, and case-folded substrings or globs.

The dialect: a **regular expression searched anywhere in the name** (``re.search``),
**ignoring case**, in which a space, ``-`` or ``_`` written in the pattern (outside a
``[...]`` class and not escaped) matches any run of spaces, dashes and underscores,
because JACK and ALSA spell one device differently (jackd's ``-X seq`` bridge writes
``Launch-Control-XL`` for what a2jmidid calls ``Launch Control XL``). So a plain word
(``nanoKONTROL2``) matches every name containing it, and ``^midi_in$`` only that port.

One exception, kept for the mapping files that have always used it: a pattern whose
only special characters are the shell wildcards ``*``, ``?`` and ``[...]`` is a
**glob over the whole name** (``*nano*``), with the same folding of case and separators.

Why these rules and not another: every bundled box, rule and mapping keeps meaning what
it meant (a case-sensitive regex now also matches other spellings of the same name,
never fewer names). A leaf: stdlib only. Runs on whichever thread matches (main,
control); compiled patterns are cached.
"""

from __future__ import annotations

import fnmatch
import functools
import re

_REGEX_ONLY = set("^$\\.+(){}|")
_SEPARATORS = " -_"
_FOLDED = r"[\s_-]+"


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` is read as a shell glob: wildcards and no other regular-expression syntax."""
    return any(c in "*?[" for c in pattern) and not any(c in _REGEX_ONLY for c in pattern)


def fold(name: str) -> str:
    """Lower case, with every run of spaces, dashes and underscores made one space (for globs)."""
    return re.sub(r"[\s_-]+", " ", name.lower())


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled form of a name pattern (raises ``re.error`` for a bad regular expression)."""
    if is_glob(pattern):
        return re.compile(fnmatch.translate(fold(pattern)))
    return re.compile(_fold_separators(pattern), re.IGNORECASE)


def matches(pattern: str, name: str) -> bool:
    """Whether ``name`` (a port name, an alias, an event's source label) matches ``pattern``.

    Never raises: a pattern nobody validated (a label used as a probe) that is no valid
    regular expression is compared as a plain word, case and separators folded.
    """
    try:
        compiled = compile_pattern(pattern)
    except re.error:
        return fold(pattern) in fold(name)
    if is_glob(pattern):
        return compiled.match(fold(name)) is not None
    return compiled.search(name) is not None


def problem(pattern: object) -> str | None:
    """Why ``pattern`` is not a usable name pattern, or None."""
    if not isinstance(pattern, str):
        return f"must be a name pattern (a string), not {pattern!r}"
    try:
        compile_pattern(pattern)
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def _fold_separators(pattern: str) -> str:
    """Each literal run of space, ``-`` and ``_`` outside a class or escape -> any run of them."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern[i + 1:i + 2] == "]":   # "[]...]": a leading ] is a literal
                out.append("]")
                i += 1
        elif c in _SEPARATORS:
            while i + 1 < len(pattern) and pattern[i + 1] in _SEPARATORS:
                i += 1
            quantified = pattern[i + 1:i + 2] in ("*", "+", "?", "{")
            out.append(_FOLDED[:-1] if quantified else _FOLDED)   # "_*" stays a quantified class
        else:
            out.append(c)
        i += 1
    return "".join(out)
