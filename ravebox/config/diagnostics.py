"""Collected validation problems, printed as ``file:line: key.path: message``.

Why collect: a musician fixing a mapping at soundcheck wants every mistake in
one pass, not one per run (Mopidy's habit). Every loader appends to a
:class:`Diagnostics` and raises :class:`~ravebox.errors.ConfigError` once at
the end if anything was wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ravebox.errors import ConfigError


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
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Diagnostics:
    """Problems found in one file; ``text`` lets keys be located to a line."""

    file: str
    text: str = ""
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, key: str, message: str, line: int | None = None) -> None:
        self.items.append(Diagnostic(self.file, line if line is not None else self.line_of(key), key, message))

    def line_of(self, key: str) -> int | None:
        """Best-effort line of a dotted key path in the TOML text (tomllib keeps no positions).

        Looks for the last path component as a bare or quoted key, after the
        table header that holds it when there is one.
        """
        if not self.text or not key:
            return None
        parts = [p for p in re.split(r"\.(?![^\[]*\])", key) if p]
        leaf = re.sub(r"\[\d+\]$", "", parts[-1])
        lines = self.text.splitlines()
        start = 0
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("[") and len(parts) > 1:
                header = parts[-2] if not parts[-2].endswith("]") else re.sub(r"\[\d+\]$", "", parts[-2])
                if header in stripped:
                    start = i
        pattern = re.compile(rf'^\s*["\']?{re.escape(leaf)}["\']?\s*=')
        for i in range(start, len(lines)):
            if pattern.search(lines[i]) or re.search(rf'[{{,]\s*["\']?{re.escape(leaf)}["\']?\s*=', lines[i]):
                return i + 1
        return None

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def read_toml(path: str | Path) -> tuple[dict, Diagnostics]:
    """Parse a TOML file; a syntax error becomes a ConfigError naming file and line."""
    import tomllib

    path = Path(path)
    diags = Diagnostics(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        diags.error("", f"cannot read: {exc.strerror or exc}")
        diags.raise_if_any()
    diags.text = text
    try:
        return tomllib.loads(text), diags
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        diags.error("", f"TOML syntax error: {exc}", int(match.group(1)) if match else None)
        diags.raise_if_any()
        raise  # unreachable
