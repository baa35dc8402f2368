"""Test helper: a uniquely named dummy jackd per test (or module), as a pytest fixture.

Reusable by any test package: ``from tests.jackserver import jack_server`` (the
fixture) or ``JackServer`` (the class, for tests that kill and restart a server).
The server is stopped when the fixture ends, even when the test fails.
"""

from __future__ import annotations

import shutil

import pytest

from ravebox.host.dummyserver import JackServer, JackServerError

__all__ = ["JackServer", "JackServerError", "jack_server", "needs_jackd"]

needs_jackd = pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd is not installed")


@pytest.fixture
def jack_server():
    """A started dummy jackd (48 kHz, period 256), stopped after the test."""
    with JackServer() as server:
        yield server
