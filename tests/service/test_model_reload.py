"""Reload swaps changed model files into a running daemon (real JACK, real engine, real models).

A re-exported file (same path, new mtime) is loaded off the audio path and
crossfaded in; a corrupt replacement is refused and the old model keeps
playing; a change of the box's shape is reported as needing a restart.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.host.daemonkit import MODELS, running_daemon, wait_for, write_box
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack, pytest.mark.slow,
              pytest.mark.skipif(not (MODELS / "rave_a.ts").exists(), reason="test model missing")]


def join_swaps(daemon) -> None:
    for thread in list(daemon.model_reloader.threads):
        thread.join(60)


def test_reload_swaps_a_reexported_model_and_refuses_a_corrupt_one(jack_server, tmp_path):
    model = tmp_path / "a.ts"
    shutil.copy(MODELS / "rave_a.ts", model)
    box = write_box(tmp_path, model=str(model))
    with running_daemon(box, jack_server.name) as daemon:
        engine, worker = daemon.engine, daemon.host.worker
        assert wait_for(lambda: worker.progress > 2)
        assert daemon.reload().get("models") is None            # nothing changed: nothing loads

        stamp = model.stat().st_mtime + 10
        os.utime(model, (stamp, stamp))                         # "re-exported" in place
        answer = daemon.reload()
        assert answer["models"] == ["main encoder: loading a.ts", "main decoder 0: loading a.ts"]
        join_swaps(daemon)
        assert wait_for(lambda: engine.status()["main"]["swaps"] >= 1)
        assert engine.failed == {}

        model.write_bytes(model.read_bytes()[:1000])            # a broken export lands on disk
        progress = worker.progress
        assert len(daemon.reload()["models"]) == 2
        join_swaps(daemon)
        refusals = [e for e in engine.events if "failed, keeping the old model" in e]
        assert len(refusals) == 2 and all(str(model) in e for e in refusals)
        assert wait_for(lambda: worker.progress > progress + 2)   # still playing
        assert engine.failed == {}


def test_reload_reports_a_shape_change_as_needing_a_restart(jack_server, tmp_path):
    box = write_box(tmp_path)
    with running_daemon(box, jack_server.name) as daemon:
        text = box.read_text().replace('encoder = "a"', 'encoder = "a"\ndecoders = ["a", "a"]')
        box.write_text(text)
        answer = daemon.reload()
        assert answer["models"] == ["graphs changed shape (graphs, kinds or decoder counts): restart ravebox to apply"]
        assert daemon.model_reloader.threads == []
