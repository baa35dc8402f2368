"""The daemon starts at the block multiple its last start chose (real JACK, real engine, the box's state folder).

The committed models are small and fast, so they are declared large and their timing is given (the
auto block then asks, as it does of a full-size model); what is asserted is the choice two starts make
and what the state folder keeps, never a timing.
"""

from __future__ import annotations

import json

import pytest

from ravebox.engine.engine import Engine
from ravebox.models.rave import RaveModel
from tests.host.daemonkit import MODELS, running_daemon, write_box
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack, pytest.mark.slow,
              pytest.mark.skipif(not (MODELS / "rave_a.ts").exists(), reason="test model missing")]


def test_the_second_start_keeps_the_first_starts_block_through_a_noisy_reading(jack_server, tmp_path, monkeypatch):
    monkeypatch.setattr(RaveModel, "parameter_count", property(lambda self: 31_500_000))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    box = write_box(tmp_path)
    chosen = []
    # x2's work: 47 % of its 85.3 ms block, then 54 % (alone, the second reading would choose x4)
    for x2_work in (0.040, 0.046):
        def work(self, lanes=1, x2=x2_work):
            return {1: 0.035, 2: x2, 4: 0.050, 8: 0.060}[self.block_multiple]
        monkeypatch.setattr(Engine, "block_work", work)
        monkeypatch.setattr(Engine, "block_p99", work)
        with running_daemon(box, jack_server.name) as daemon:
            choice = daemon.parts.engine.block_choice
            chosen.append((choice.multiple, daemon.parts.engine.block_size, choice.why.endswith("(x2 last start)")))
    assert chosen == [(2, 4096, False), (2, 4096, True)]
    kept = json.loads((tmp_path / "state" / "ravebox" / "autoblock.json").read_text())["boxes"]
    assert [entry["multiple"] for entry in kept.values()] == [2]
