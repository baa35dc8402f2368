"""Logging set-up for a service read through journald, and periodic counter summaries.

Why: on the box, ``journalctl -u ravebox`` is the only window. Under systemd
(``$JOURNAL_STREAM`` names our stderr) each line starts with a syslog priority
prefix (``<3>``), which journald turns into the entry's level, and carries no
timestamp (the journal adds its own). A message is kept on one line, so one
event is one journal entry; only a traceback adds continuation lines, each
with the same priority.

Nothing on the audio path logs: counters (xruns, late blocks, MIDI garbage)
are summed there and reported here, from the main thread, as one summary line
per interval when something changed.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

ENV_LEVEL = "RAVEBOX_LOG_LEVEL"

# logging level -> syslog priority (sd-daemon(3) prefixes)
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    """``<prio>logger: message`` on one line; traceback lines keep the priority."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6 if record.levelno > logging.DEBUG else 7)
        head = f"<{prio}>{record.name}: {_one_line(record.getMessage())}"
        extra = self.formatException(record.exc_info) if record.exc_info else ""
        if record.stack_info:
            extra = f"{extra}\n{record.stack_info}".strip()
        return "\n".join([head, *(f"<{prio}>  {line}" for line in extra.splitlines())])


class ConsoleFormatter(logging.Formatter):
    """A terminal run (``ravebox run`` by hand): time, level, logger, one-line message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _one_line(record.message)
        return super().formatMessage(record)


def under_journal(stream: TextIO = sys.stderr, env: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal stream systemd handed us (sd_journal_stream_fd docs)."""
    env = os.environ if env is None else env
    device, _, inode = env.get("JOURNAL_STREAM", "").partition(":")
    if not inode:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def configure(level: str | int | None = None, stream: TextIO = sys.stderr,
              env: Mapping[str, str] | None = None, journal: bool | None = None) -> logging.Handler:
    """Install one handler on the root logger; call once at process start (main thread).

    ``level`` defaults to ``$RAVEBOX_LOG_LEVEL`` or INFO. Returns the handler
    (tests attach it to a ``StringIO``).
    """
    env = os.environ if env is None else env
    journal = under_journal(stream, env) if journal is None else journal
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter() if journal else ConsoleFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_level(level if level is not None else env.get(ENV_LEVEL, "INFO")))
    logging.captureWarnings(True)
    _dump_stacks_on_fatal_signals(stream)
    return handler


def _dump_stacks_on_fatal_signals(stream: TextIO) -> None:
    """On SIGABRT (systemd's watchdog signal), SIGSEGV..., print every thread's stack.

    Why: when the watchdog kills a hung worker, the journal then shows where
    each thread was stuck, which is the one clue a headless box can give.
    """
    try:
        faulthandler.enable(stream, all_threads=True)
    except (ValueError, OSError, AttributeError):  # a stream without a file descriptor (tests)
        pass


class CounterSummary:
    """Turns monotonic counters into one line of increments since the last summary.

    Thread: main thread. ``summarize`` returns ``None`` when nothing moved, so
    a quiet, healthy box stays quiet in the journal.
    """

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def summarize(self, counters: Mapping[str, float]) -> str | None:
        moved = []
        for name in sorted(counters):
            value = counters[name]
            delta = value - self._last.get(name, 0)
            if delta:
                moved.append(f"{name} +{_num(delta)} (total {_num(value)})")
        self._last = dict(counters)
        return ", ".join(moved) if moved else None


def _one_line(text: str) -> str:
    return " | ".join(part for part in text.splitlines() if part.strip()) or text.strip()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    named = logging.getLevelName(level.strip().upper())
    if not isinstance(named, int):
        raise ValueError(f"unknown log level '{level}' (use DEBUG, INFO, WARNING or ERROR)")
    return named
