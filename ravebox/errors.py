"""One exception base for ravebox, with one subclass per layer.

Why: the service layer catches ``RaveboxError`` to report a clean message and
keep running (a bad reload, a failed model swap), while anything else is a bug
that deserves a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # a leaf: the diagnostics module imports this one
    from ravebox.config.diagnostics import Diagnostic


class RaveboxError(Exception):
    """Base of every error ravebox raises on purpose."""


class MidiError(RaveboxError):
    """A MIDI source or file could not be read."""


class ConfigError(RaveboxError):
    """A TOML file failed validation; ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class ModelError(RaveboxError):
    """A model file was refused at load, or a model call failed."""


class EngineError(RaveboxError):
    """The engine could not be built from a valid config (e.g. models disagree)."""


class HostError(RaveboxError):
    """The JACK host could not start, connect or recover."""


class ServiceError(RaveboxError):
    """Process lifecycle problems: control socket, systemd notification, install."""


def describe(exc: BaseException) -> str:
    """An exception as words for a person: the message of our own errors, the OS's reason for a file,
    what a too-deep TOML file is, else ``Type: message`` (never a repr)."""
    if isinstance(exc, RaveboxError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deep to read (TOML arrays or tables thousands of levels deep)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"
