"""Host tests: make ``tests.*`` helpers importable under plain ``pytest`` too, and share the jackd fixture."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.jackserver import jack_server  # noqa: E402,F401 - fixture re-export
