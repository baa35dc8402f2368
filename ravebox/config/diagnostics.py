"""Collected validation problems, printed as ``file:line: key.path: message``.

Why collect: a musician fixing a mapping at soundcheck wants every mistake in
one pass, not one per run (Mopidy's habit). Every loader appends to a
:class:`Diagnostics` and raises :class:`~ravebox.errors.ConfigError` once at
the end if anything was wrong.

Why a key locator: ``tomllib`` keeps no positions, so :func:`key_lines` scans
the (already valid) TOML text once and records the line where every key path
is written, ``[[array]]`` tables counted, so ``map[3].curve`` points at the
fourth ``[[map]]`` table's ``curve`` line and not at the first one.

This module imports only the standard library and ``ravebox.errors``, so any
layer that reads TOML (mapping, presets, box config) may use it.
Runs on whichever thread loads a file (main thread, or the CLI).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ravebox.errors import ConfigError

_BARE = re.compile(r"[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def key_path(*parts: str | int) -> str:
    """Join key parts as diagnostics print them: ``key_path("map", 3, "curve") == "map[3].curve"``.

    Keys that are not bare TOML keys are double-quoted (``values."latent.bias[0]"``).
    """
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            segment = part if _BARE.match(part) else '"' + part.replace('"', '\\"') + '"'
            text = f"{text}.{segment}" if text else segment
    return text


@dataclass
class Diagnostics:
    """Problems found in one file; ``text`` lets keys be located to a line."""

    file: str
    text: str = ""
    items: list[Diagnostic] = field(default_factory=list)
    _lines: dict[str, int] | None = field(default=None, repr=False)

    def error(self, key: str, message: str, line: int | None = None) -> None:
        self.items.append(Diagnostic(self.file, line if line is not None else self.line_of(key), key, message))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        """Adopt problems found in another file (e.g. a mapping a box config names)."""
        self.items.extend(items)

    def line_of(self, key: str) -> int | None:
        """Line where ``key`` (or, failing that, its nearest written parent) appears."""
        if not self.text or not key:
            return None
        if self._lines is None:
            try:
                self._lines = key_lines(self.text)
            except (ValueError, IndexError):
                self._lines = {}
        while key:
            if key in self._lines:
                return self._lines[key]
            key = _parent(key)
        return None

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def _parent(key: str) -> str:
    if key.endswith("]"):
        return key[: key.rindex("[")]
    depth_quote = False
    for i in range(len(key) - 1, -1, -1):
        if key[i] == '"':
            depth_quote = not depth_quote
        elif key[i] == "." and not depth_quote:
            return key[:i]
    return ""


def read_toml(path: str | Path) -> tuple[dict, Diagnostics]:
    """Parse a TOML file; a syntax error becomes a ConfigError naming file and line."""
    import tomllib

    path = Path(path)
    diags = Diagnostics(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diags.error("", f"cannot read: {(exc.strerror if isinstance(exc, OSError) else None) or exc}")
        diags.raise_if_any()
    diags.text = text
    try:
        return tomllib.loads(text), diags
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        diags.error("", f"TOML syntax error: {exc}", int(match.group(1)) if match else None)
        diags.raise_if_any()
        raise  # unreachable


# -- key locator ---------------------------------------------------------------------

def key_lines(text: str) -> dict[str, int]:
    """``{key path: 1-based line}`` for every key, table and array element of valid TOML."""
    return _Scanner(text).run()


class _Scanner:
    """A lenient TOML walker: it trusts that ``tomllib`` accepted the text."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.found: dict[str, int] = {}
        self.arrays: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        prefix = ""
        while self._skip(newlines=True):
            if self.s.startswith("[[", self.i):
                self.i += 2
                name = self._key()
                self.arrays[name] = self.arrays.get(name, -1) + 1
                self._note(name)
                prefix = f"{name}[{self.arrays[name]}]"
                self._note(prefix)
                self._to_eol()
            elif self.s[self.i] == "[":
                self.i += 1
                prefix = self._key()
                self._note(prefix)
                self._to_eol()
            else:
                self._pair(prefix)
        return self.found

    def _note(self, path: str) -> None:
        self.found.setdefault(path, self.line)
        parent = _parent(path)
        while parent:
            self.found.setdefault(parent, self.line)
            parent = _parent(parent)

    def _join(self, prefix: str, key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    def _pair(self, prefix: str) -> None:
        path = self._join(prefix, self._key())
        self._note(path)
        self._skip()
        self.i += 1  # '='
        self._value(path)

    def _key(self) -> str:
        parts = []
        while True:
            self._skip()
            c = self.s[self.i]
            if c in "\"'":
                raw = self._string()
                parts.append(key_path(raw))
            else:
                start = self.i
                while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] in "_-"):
                    self.i += 1
                parts.append(self.s[start:self.i])
            self._skip()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return ".".join(parts)

    def _value(self, path: str) -> None:
        self._skip()
        c = self.s[self.i]
        if c in "\"'":
            self._string()
        elif c == "[":
            self._array(path)
        elif c == "{":
            self._inline(path)
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}\n#":
                self.i += 1

    def _array(self, path: str) -> None:
        self.i += 1
        index = 0
        while self._skip(newlines=True) and self.s[self.i] != "]":
            if self.s[self.i] == ",":
                self.i += 1
                index += 1
                continue
            self._note(f"{path}[{index}]")
            self._value(f"{path}[{index}]")
        self.i += 1

    def _inline(self, path: str) -> None:
        self.i += 1
        while self._skip(newlines=True) and self.s[self.i] != "}":
            if self.s[self.i] == ",":
                self.i += 1
                continue
            self._pair(path)
        self.i += 1

    def _string(self) -> str:
        quote = self.s[self.i]
        if self.s.startswith(quote * 3, self.i):
            end = self.s.index(quote * 3, self.i + 3)
            while self.s.startswith(quote, end + 3):  # up to two quotes may close the string
                end += 1
            raw = self.s[self.i + 3:end]
            self.line += raw.count("\n")
            self.i = end + 3
            return raw
        j = self.i + 1
        while self.s[j] != quote:
            j += 2 if quote == '"' and self.s[j] == "\\" else 1
        raw = self.s[self.i + 1:j]
        self.i = j + 1
        return raw.encode().decode("unicode_escape") if quote == '"' and "\\" in raw else raw

    def _skip(self, newlines: bool = False) -> bool:
        """Skip blanks (and comments, and newlines if asked); False at the end of text."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "#":
                self._to_eol()
            elif c == "\n" and newlines:
                self.line += 1
                self.i += 1
            elif c in " \t\r":
                self.i += 1
            else:
                return True
        return False

    def _to_eol(self) -> None:
        while self.i < len(self.s) and self.s[self.i] != "\n":
            self.i += 1
