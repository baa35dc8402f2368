"""The [mapping] section of a box config (ravebox.config.mapping.parse)."""

from __future__ import annotations

from maprig import write
from ravebox.config.diagnostics import Diagnostics
from ravebox.config.mapping import parse


def diags_for(tmp_path) -> Diagnostics:
    return Diagnostics(str(tmp_path / "box.toml"), "")


def test_bundled_mapping_by_name(tmp_path):
    diags = diags_for(tmp_path)
    settings = parse({"file": "nanokontrol2"}, diags)
    assert not diags and settings.mapping.name == "Korg nanoKONTROL2" and settings.watch


def test_default_is_the_bundled_default(tmp_path):
    settings = parse({}, diags_for(tmp_path))
    assert settings.mapping.name == "default" and settings.path.name == "default.toml"


def test_relative_file_and_presets(tmp_path):
    write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wet"\n', "maps/mine.toml")
    write(tmp_path, '[values]\n"mix.wet" = 0.5\n', "p/a.toml")
    diags = diags_for(tmp_path)
    settings = parse({"file": "maps/mine.toml", "presets": "p", "watch": False}, diags)
    assert not diags.items
    assert settings.path == tmp_path / "maps/mine.toml" and not settings.watch
    assert [p.name for p in settings.presets.presets] == ["a"]


def test_problems_of_the_section_and_of_the_mapping_file_are_reported_together(tmp_path):
    write(tmp_path, '[[map]]\ncc = 1\ntarget = "mix.wat"\n', "mine.toml")
    diags = diags_for(tmp_path)
    assert parse({"file": "mine.toml", "wach": True}, diags) is None
    assert [str(d) for d in diags.items] == [
        f"{tmp_path / 'box.toml'}: mapping.wach: unknown key (did you mean 'watch'?)",
        f"{tmp_path / 'mine.toml'}:3: map[0].target: unknown parameter 'mix.wat' (did you mean 'mix.wet'?)",
    ]


def test_missing_file(tmp_path):
    diags = diags_for(tmp_path)
    assert parse({"file": "nope.toml"}, diags) is None
    assert str(diags.items[0]).endswith(f"mapping.file: no such mapping file: {tmp_path / 'nope.toml'}")


def test_misspelt_bundled_name(tmp_path):
    diags = diags_for(tmp_path)
    assert parse({"file": "nanokontrol"}, diags) is None
    assert str(diags.items[0]).endswith(
        f"mapping.file: no such mapping file: {tmp_path / 'nanokontrol'} (did you mean 'nanokontrol2'?)")
