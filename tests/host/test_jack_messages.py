"""libjack's probe noise stays off stderr; ravebox says it in one line (HostError) and keeps libjack's at DEBUG."""

from __future__ import annotations

import logging
import uuid

import pytest

from ravebox.errors import HostError
from ravebox.host.session import open_client
from tests.jackserver import needs_jackd

pytestmark = needs_jackd


def test_a_missing_server_is_one_line_not_a_dozen(capfd, caplog):
    name = f"rbx-absent-{uuid.uuid4().hex[:6]}"
    with caplog.at_level(logging.DEBUG, logger="ravebox.host"):
        with pytest.raises(HostError, match=f"cannot connect to JACK server '{name}'"):
            open_client("rbx-probe", name)
    err = capfd.readouterr().err
    assert "Cannot connect to server" not in err and "JackShmReadWritePtr" not in err
    assert any("libjack: Cannot connect to server" in r.getMessage() for r in caplog.records)
