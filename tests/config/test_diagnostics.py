"""Diagnostics: message format, did-you-mean, and real line numbers for key paths."""

from __future__ import annotations

import pytest

from ravebox.config.diagnostics import Diagnostic, Diagnostics, did_you_mean, key_lines, key_path, read_toml
from ravebox.errors import ConfigError

TEXT = '''\
# a comment with key = "value" in it
name = "x"   # trailing comment
[defaults]
channel = 1

[[map]]
cc = 1
target = "mix.wet"

[[map]]
cc = [70,
  71,  # a comment inside an array
  72]
range = { lo = 0, hi = """two
lines""" }
curve = "log"
[values]
"latent.bias[0]" = 1.0
'quoted.literal' = 2
a.b.c = 3
[graph.main]
model = "x.ts"
[[graph.main.alt]]
model = "y.ts"
[[graph.main.alt]]
model = "z.ts"
'''

LINES = [
    ("name", 2), ("defaults", 3), ("defaults.channel", 4),
    ("map[0]", 6), ("map[0].cc", 7), ("map[0].target", 8),
    ("map[1]", 10), ("map[1].cc", 11), ("map[1].cc[1]", 12), ("map[1].cc[2]", 13),
    ("map[1].range", 14), ("map[1].range.hi", 14), ("map[1].curve", 16),
    ('values."latent.bias[0]"', 18), ('values."quoted.literal"', 19), ("values.a.b.c", 20), ("values.a", 20),
    ("graph.main", 21), ("graph.main.model", 22),
    ("graph.main.alt[0].model", 24), ("graph.main.alt[1]", 25), ("graph.main.alt[1].model", 26),
]


@pytest.mark.parametrize("key,line", LINES)
def test_key_lines(key, line):
    assert key_lines(TEXT)[key] == line


@pytest.mark.parametrize("key,line", [
    ("map[1].cc[7]", 11),          # a missing element falls back to its array
    ("map[0].curve", 6),           # a missing key falls back to its table
    ("nothing.here", None),
])
def test_line_of_falls_back_to_the_nearest_parent(key, line):
    assert Diagnostics("f.toml", TEXT).line_of(key) == line


def test_key_path_quotes_keys_that_are_not_bare():
    assert key_path("map", 3, "curve") == "map[3].curve"
    assert key_path("values", "latent.bias[0]") == 'values."latent.bias[0]"'
    assert key_path("preset", 0, "values", "mix.wet") == 'preset[0].values."mix.wet"'


def test_format_and_raise():
    diags = Diagnostics("m.toml", TEXT)
    diags.error("map[1].curve", "unknown curve")
    diags.error("", "whole-file problem")
    diags.error("x", "no line", line=None)
    with pytest.raises(ConfigError) as info:
        diags.raise_if_any()
    assert str(info.value).splitlines() == [
        "m.toml:16: map[1].curve: unknown curve", "m.toml: whole-file problem", "m.toml: x: no line"]
    assert str(Diagnostic("f", 3, "", "m")) == "f:3: m"


def test_did_you_mean():
    assert did_you_mean("loop.disolve", ["loop.dissolve", "mix.wet"]) == " (did you mean 'loop.dissolve'?)"
    assert did_you_mean("zzz", ["loop.dissolve"]) == ""


def test_read_toml_reports_syntax_errors_with_their_line(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("a = 1\nb = = 2\n")
    with pytest.raises(ConfigError) as info:
        read_toml(path)
    assert str(info.value).startswith(f"{path}:2: TOML syntax error:")


def test_read_toml_reports_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_toml(tmp_path / "none.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot read"):
        read_toml(tmp_path / "bin.toml")
