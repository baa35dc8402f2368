"""The one checker every settings parser uses: each field declared with its range, one wording per problem.

Why one: the parsers of ``[jack]``, ``[clock]``, ``[output]``, ``[gates]``,
``[record]``, ``[osc]`` ... each used to carry their own number, choice and
unknown-key helpers, with five wordings for "out of range" and one parser
giving every integer the range 0..64 by the type of its default. Now a parser
declares a table as ``{key: field}`` (Mopidy's config schemas are the model),
the range written beside the key, and :func:`check_table` reports every
problem as ``file:line: key.path: message`` with did-you-mean.

The wordings (the same for every table):

- a number or integer: ``must be a number in range 20..300, got 500`` (also for
  a value of the wrong type: ``..., got 'fast'``);
- a choice: ``must be one of freeze, off, default (did you mean 'off'?)``;
- true/false: ``must be true or false, not 'yes'``;
- an unknown key: ``unknown key (did you mean 'dropout_ms'?)`` (at a file's top: ``unknown table ...``).

A leaf above ``diagnostics``: stdlib only, any layer may use it.
Runs on whichever thread loads a file (main thread, or the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from ravebox.config.diagnostics import Diagnostics, did_you_mean


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


#: What :meth:`Field.check` returns for a value it reported (the caller keeps its default).
INVALID = _Invalid()


class Field(Protocol):
    """One declared key: checks a value, reports a problem to ``diags`` at ``path``."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        """The value as the settings type holds it, or :data:`INVALID` (already reported)."""
        ...


def _num(x: float) -> str:
    return f"{x:g}"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Number:
    """A float in ``lo..hi`` (inclusive); ``above`` makes ``lo`` exclusive (``> 0``); ``unit`` ends the range."""

    lo: float
    hi: float = float("inf")
    above: bool = False
    unit: str = ""

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.hi == float("inf"):
            return f"a number {'>' if self.above else '>='} {_num(self.lo)}{unit}"
        return f"a number in range {_num(self.lo)}..{_num(self.hi)}{unit}"

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if _is_number(value):
            x = float(value)  # type: ignore[arg-type]
            if (x > self.lo if self.above else x >= self.lo) and x <= self.hi:
                return x
        return out_of_range(self.describe(), value, diags, path)


@dataclass(frozen=True, slots=True)
class Integer:
    """An int in ``lo..hi`` (inclusive; None: unbounded on that side)."""

    lo: int | None = None
    hi: int | None = None

    def describe(self) -> str:
        if self.lo is not None and self.hi is not None:
            return f"an integer in range {self.lo}..{self.hi}"
        if self.lo is not None:
            return f"an integer >= {self.lo}"
        return "an integer" if self.hi is None else f"an integer <= {self.hi}"

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if (isinstance(value, int) and not isinstance(value, bool) and (self.lo is None or value >= self.lo)
                and (self.hi is None or value <= self.hi)):
            return value
        return out_of_range(self.describe(), value, diags, path)


def out_of_range(what: str, value: object, diags: Diagnostics, path: str) -> _Invalid:
    """The one wording for a value that is not ``what`` (wrong type or out of range)."""
    diags.error(path, f"must be {what}, got {value!r}")
    return INVALID


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set of strings (``convert`` turns it into the settings' type, e.g. an Enum)."""

    options: tuple[str, ...]
    convert: object = None

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if isinstance(value, str) and value in self.options:
            return self.convert(value) if callable(self.convert) else value
        diags.error(path, f"must be one of {', '.join(self.options)}" + did_you_mean(str(value), self.options))
        return INVALID


@dataclass(frozen=True, slots=True)
class IntegerOr:
    """An :class:`Integer` or one of a few words (``[output] block_multiple = "auto"``)."""

    integer: Integer
    words: tuple[str, ...]

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if isinstance(value, str) and value in self.words:
            return value
        if isinstance(value, str):
            diags.error(path, f"must be {self.integer.describe()} or " + " or ".join(f'"{w}"' for w in self.words)
                        + did_you_mean(value, self.words))
            return INVALID
        if self.integer.check(value, Diagnostics(""), path) is not INVALID:
            return value
        return out_of_range(f"{self.integer.describe()} or " + " or ".join(f'"{w}"' for w in self.words),
                            value, diags, path)


@dataclass(frozen=True, slots=True)
class Flag:
    """``true`` or ``false``."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if isinstance(value, bool):
            return value
        diags.error(path, f"must be true or false, not {value!r}")
        return INVALID


@dataclass(frozen=True, slots=True)
class Text:
    """A string (``nonempty``: at least one character); ``what`` names it in the message."""

    nonempty: bool = True
    what: str = ""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if isinstance(value, str) and (value or not self.nonempty):
            return value
        what = self.what or f"{'non-empty ' if self.nonempty else ''}string"
        diags.error(path, f"must be a {what}, not {value!r}")
        return INVALID


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression (``re.search`` syntax), compiled once here to find mistakes early."""

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if not isinstance(value, str):
            diags.error(path, f"must be a regular expression (a string), not {value!r}")
            return INVALID
        try:
            re.compile(value)
        except re.error as exc:
            diags.error(path, f"invalid regular expression {value!r}: {exc}")
            return INVALID
        return value


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list of ``item`` values, ``min_len..max_len`` long, as a tuple; each problem at its element."""

    item: Field
    min_len: int = 0
    max_len: int = 1 << 30
    what: str = "values"

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if not isinstance(value, list) or not self.min_len <= len(value) <= self.max_len:
            size = (f"{self.min_len}..{self.max_len}" if self.max_len < 1 << 30
                    else f"at least {self.min_len}" if self.min_len else "")
            diags.error(path, f"must be a list of {size + ' ' if size else ''}{self.what}, got {value!r}")
            return INVALID
        items = [self.item.check(v, diags, f"{path}[{i}]") for i, v in enumerate(value)]
        return INVALID if any(v is INVALID for v in items) else tuple(items)


@dataclass(frozen=True, slots=True)
class Pair:
    """Two values ``[a, b]`` of one field, as a tuple (``ordered``: a <= b)."""

    item: Field
    ordered: bool = False

    def check(self, value: object, diags: Diagnostics, path: str) -> object:
        if not isinstance(value, list) or len(value) != 2:
            diags.error(path, f"must be a pair [a, b], got {value!r}")
            return INVALID
        a, b = (self.item.check(v, diags, f"{path}[{i}]") for i, v in enumerate(value))
        if a is INVALID or b is INVALID:
            return INVALID
        if self.ordered and a > b:  # type: ignore[operator]
            diags.error(path, f"must be [low, high], got {value!r}")
            return INVALID
        return (a, b)


def unknown_keys(table: Mapping[str, object], known: Iterable[str], diags: Diagnostics, prefix: str,
                 *, what: str = "key") -> None:
    """Report every key of ``table`` not in ``known``, with a did-you-mean (``what="table"`` at a file's top)."""
    names = tuple(known)
    for key in table:
        if key not in names:
            diags.error(f"{prefix}.{key}" if prefix else key, f"unknown {what}" + did_you_mean(key, names))


def is_table(value: object, diags: Diagnostics, path: str) -> TypeGuard[dict[str, object]]:
    """True for a TOML table; otherwise reports ``must be a table``."""
    if isinstance(value, dict):
        return True
    diags.error(path, "must be a table")
    return False


def check_table(table: Mapping[str, object], fields: Mapping[str, Field], diags: Diagnostics, prefix: str,
                *, known: Iterable[str] = ()) -> dict[str, Any]:
    """Check every key of ``table`` against ``fields``, in the file's order; the valid values by key
    (each as its field made it, so typed ``Any``: a settings type's constructor or a caller names the type).

    Keys in ``known`` but not in ``fields`` are accepted and left to the caller
    (a value that depends on another, such as ``[jack] clock_from``).
    """
    others = tuple(known)
    values: dict[str, Any] = {}
    for key, raw in table.items():
        path = f"{prefix}.{key}" if prefix else key
        field = fields.get(key)
        if field is not None:
            value = field.check(raw, diags, path)
            if value is not INVALID:
                values[key] = value
        elif key not in others:
            diags.error(path, "unknown key" + did_you_mean(key, (*fields, *others)))
    return values
