"""The box's own preset bank (``[mapping] presets``) follows the box on a real reload (dummy jackd, real daemon).

Before the fix, removing the line kept the old bank playing (program changes and ``preset <name>`` still
recalled it, ``presets`` still listed it), and a bank the box newly named played only until the mapping
file's next change.
"""

from __future__ import annotations

import pytest

from tests.host.daemonkit import TEST_MAPPING, running_daemon, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

CALM = 'name = "calm"\nprogram = 0\n[values]\n"mix.wet" = 0.5\n'


def names(daemon) -> list[str]:
    return [p["name"] for p in daemon.commands.presets()["presets"]]


def test_removing_and_adding_the_box_preset_bank_follow_the_box(jack_server, tmp_path):
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "calm.toml").write_text(CALM)
    box = write_box(tmp_path)
    named = box.read_text().replace('file = "map.toml"', 'file = "map.toml"\npresets = "bank"')
    box.write_text(named)
    with running_daemon(box, jack_server.name, PassEngine.factory()) as daemon:
        assert names(daemon) == ["calm"]

        box.write_text(named.replace('presets = "bank"', ""))            # the operator removes the line
        answer = daemon.reload()
        assert answer["ok"] is True, answer
        assert names(daemon) == [] and daemon.runtime.presets.presets == ()
        assert daemon.status()["reload"]["parts"]["mapping"]["message"].endswith(" rules, 0 presets")
        assert daemon.commands.recall_preset("calm")["ok"] is False   # nothing left to recall

        box.write_text(named)                                            # and puts it back
        assert daemon.reload()["ok"] is True
        assert names(daemon) == ["calm"]
        # a change of the mapping file alone (the file watch's reload) keeps the bank the box names
        (tmp_path / "map.toml").write_text(TEST_MAPPING + "\n# edited\n")
        assert daemon.reload()["ok"] is True
        assert names(daemon) == ["calm"]
        assert daemon.commands.recall_preset("calm")["ok"] is True
