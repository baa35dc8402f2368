"""`ravebox render --help` promises what a Standard MIDI File can carry: a tempo map, not MIDI clock."""

from __future__ import annotations

import pytest

from ravebox.service import cli


def test_render_help_says_the_tempo_map_drives_the_clock_and_a_file_carries_no_clock(capsys):
    with pytest.raises(SystemExit) as done:
        cli.build_parser(["render"]).parse_args(["render", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert done.value.code == 0
    assert "its tempo map drives the clock (a file cannot carry MIDI clock)" in text
    assert "docs/render.md" in text or "--tail" in text
