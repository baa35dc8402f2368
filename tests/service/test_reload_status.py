"""After a reload, status tells each part's outcome in full; `ravebox status reload` exits 1 on any refusal.

Real dummy jackd, the daemon's own control socket and the `ravebox status` command.
A mapping with two errors shows both (not its first line up to the colon), a box
file with a TOML error shows that error (not "last reload ok"), a corrupt model
file shows its swap refused while the old file plays on, and the reply of
`ravebox status reload` is lines of text, exit 1 whenever any part was refused.
"""

from __future__ import annotations

import io
import shutil

import pytest

from ravebox.service import cli
from ravebox.service.commands import status as status_command
from ravebox.service.socket_observer import ControlSocketObserver
from tests.host.daemonkit import MODELS, TEST_MAPPING, running_daemon, wait_for, write_box
from tests.host.standins import PassEngine
from tests.jackserver import needs_jackd

pytestmark = [needs_jackd, pytest.mark.jack]

TWO_ERRORS = TEST_MAPPING + """
[[map]]
cc = 300
target = "mix.wet"
[[map]]
cc = 9
target = "mix.wetness"
"""


def ravebox_status(sock: str, *argv: str) -> tuple[int, str]:
    args = cli.build_parser(["status", *argv]).parse_args(["status", *argv, "--socket", sock])
    out = io.StringIO()
    return status_command.run(args, out=out), out.getvalue()


def reload_via_cli(sock: str) -> tuple[int, str]:
    return ravebox_status(sock, "reload")


def test_each_part_of_a_failed_reload_is_shown_in_full_and_the_reply_exits_1(jack_server, tmp_path):
    box = write_box(tmp_path)
    sock = str(tmp_path / "control.sock")
    with running_daemon(box, jack_server.name, PassEngine.factory(), observers=[ControlSocketObserver(sock)]) as daemon:
        assert wait_for(lambda: daemon.health() == (True, ""))
        code, reply = reload_via_cli(sock)
        assert code == 0, reply
        assert "mapping reloaded from" in reply and "box file" in reply and "{" not in reply

        (tmp_path / "map.toml").write_text(TWO_ERRORS)
        code, reply = reload_via_cli(sock)
        assert code == 1
        assert "map.toml:" in reply and "cc" in reply and "did you mean 'mix.wet'" in reply   # both errors
        parts = daemon.status()["reload"]["parts"]
        assert parts["mapping"]["ok"] is False and parts["box"]["ok"] is False   # the box names that mapping
        assert "mix.wetness" not in parts["box"]["message"] and "mapping" in parts["box"]["message"]
        assert "300" in parts["mapping"]["message"] and "mix.wetness" in parts["mapping"]["message"]
        text = status_command.render(daemon.status())
        assert "mix.wetness" in text and "300" in text and "FAILED" in text

        (tmp_path / "map.toml").write_text(TEST_MAPPING)      # mapping good again, box file broken
        box.write_text(box.read_text() + "\n[jack\n")
        code, reply = reload_via_cli(sock)
        assert code == 1, reply
        assert "mapping reloaded" in reply and "box file not reloaded" in reply
        parts = daemon.status()["reload"]["parts"]
        assert parts["mapping"]["ok"] is True and parts["box"]["ok"] is False
        assert "box.toml" in parts["box"]["message"]
        text = status_command.render(daemon.status())
        assert "box file not reloaded" in text and "last reload ok" not in text
        assert daemon.runtime.mapping.name == "test" and daemon.state == "running"


@pytest.mark.slow
@pytest.mark.skipif(not (MODELS / "rave_a.ts").exists(), reason="test model missing")
def test_a_refused_model_swap_is_shown_with_its_reason_and_the_old_file_plays_on(jack_server, tmp_path):
    model = tmp_path / "a.ts"
    shutil.copy(MODELS / "rave_a.ts", model)
    box = write_box(tmp_path, model=str(model))
    sock = str(tmp_path / "control.sock")
    with running_daemon(box, jack_server.name, observers=[ControlSocketObserver(sock)]) as daemon:
        graph = daemon.status()["graphs"][0]
        assert graph["slots"] == {"encoder": str(model), "decoder 0": str(model)}
        broken = tmp_path / "b.ts"
        broken.write_bytes(model.read_bytes()[:1000])
        box.write_text(box.read_text().replace(str(model), str(broken)))
        code, reply = reload_via_cli(sock)
        assert "main encoder: loading b.ts" in reply and "main decoder 0: loading b.ts" in reply
        for thread in list(daemon.model_reloader.threads):
            thread.join(60)
        parts = daemon.status()["reload"]["parts"]
        refused = [p for name, p in parts.items() if name.startswith("model ")]
        assert len(refused) == 2 and all(not p["ok"] and str(broken) in p["message"] for p in refused)
        assert daemon.status()["graphs"][0]["slots"] == {"encoder": str(model), "decoder 0": str(model)}
        text = status_command.render(daemon.status())
        assert "keeping the old model" in text and "a.ts" in text
