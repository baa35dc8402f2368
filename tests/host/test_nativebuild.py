"""Building and loading the native cycle: a build of the current source is found or made; a missing or
failing compiler, or the switch that turns it off, gives a reason (the Python process thread then plays)."""

from __future__ import annotations

import ctypes
import os
import stat

import pytest

from ravebox.host import nativebuild


@pytest.fixture
def fresh(monkeypatch):
    """load() tries once per process: forget that try, and keep the builds out of the package folder."""
    monkeypatch.setattr(nativebuild, "_loaded", None)
    monkeypatch.delenv(nativebuild.DISABLE_ENV, raising=False)
    return monkeypatch


def test_a_build_is_a_loadable_library_named_after_its_source(tmp_path):
    target = tmp_path / nativebuild.library_name()
    assert nativebuild.build(target) == ""
    lib = ctypes.CDLL(str(target))
    assert lib.rb_abi() == nativebuild.ABI
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [target.name]    # no temporary left beside it


def test_the_name_changes_with_the_source(fresh, tmp_path):
    source = tmp_path / "rtcycle.c"
    source.write_bytes(nativebuild.SOURCE.read_bytes())
    fresh.setattr(nativebuild, "SOURCE", source)
    before = nativebuild.library_name()
    source.write_bytes(source.read_bytes() + b"\n/* edited */\n")
    assert nativebuild.library_name() != before


def test_a_failing_compiler_says_why_and_leaves_nothing(fresh, tmp_path):
    fresh.setenv("CC", "false")
    fresh.setenv("PATH", "/usr/bin:/bin")
    fresh.setattr(nativebuild, "compiler", lambda: "false")
    why = nativebuild.build(tmp_path / "x.so")
    assert why.startswith("false failed")
    assert list(tmp_path.iterdir()) == []


def test_no_compiler_and_no_build_means_the_python_thread_with_a_reason(fresh, tmp_path):
    fresh.setattr(nativebuild, "candidates", lambda: [tmp_path / "a" / "lib.so", tmp_path / "b" / "lib.so"])
    fresh.setattr(nativebuild, "compiler", lambda: None)
    lib, why = nativebuild.load()
    assert lib is None and why == "no C compiler (install gcc, or run scripts/install.sh)"


def test_a_package_folder_it_cannot_write_in_builds_into_the_cache(fresh, tmp_path):
    not_a_folder = tmp_path / "package"
    not_a_folder.write_text("a file where the folder should be")   # unwritable even for root
    cache = tmp_path / "cache" / nativebuild.library_name()
    fresh.setattr(nativebuild, "candidates", lambda: [not_a_folder / "lib.so", cache])
    lib, why = nativebuild.load()
    assert lib is not None and why == "" and cache.exists()


def test_a_file_that_is_not_the_library_is_refused(fresh, tmp_path):
    bogus = tmp_path / nativebuild.library_name()
    bogus.write_bytes(b"not an ELF file")
    fresh.setattr(nativebuild, "candidates", lambda: [bogus])
    lib, why = nativebuild.load()
    assert lib is None and why == f"{bogus} would not load"


def test_the_switch_turns_it_off(fresh):
    fresh.setenv(nativebuild.DISABLE_ENV, "0")
    assert nativebuild.load() == (None, "RAVEBOX_NATIVE=0")
