"""Observers the composition root attaches to the daemon (systemd, control socket).

Owned by the service layer. Contract with ``service/daemon.py``: an observer
has ``on_ready(daemon)``, ``on_tick(daemon)`` (main thread, about once a
second), and ``on_stopping(daemon)``; the daemon exposes ``status() -> dict``,
``reload() -> dict``, ``recall_preset(ref) -> dict``, ``panic() -> dict`` and
``health() -> tuple[bool, str]``.
"""

from __future__ import annotations

import argparse


def default_observers(args: argparse.Namespace) -> list[object]:
    """The observers ``ravebox run`` attaches (none until the service layer lands)."""
    return []
