import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # ``tests.*`` helpers under plain ``pytest`` too

from fakes import FakeDaemon, NotifyListener  # noqa: E402

from tests.jackserver import jack_server  # noqa: E402,F401 - fixture re-export (the JACK tests here)


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture
def listener(tmp_path):
    sock = NotifyListener(tmp_path)
    yield sock
    sock.close()
