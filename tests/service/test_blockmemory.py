"""The auto block multiple remembered between starts: per box and machine, never in the way of a start."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from ravebox.config.box import load_box
from ravebox.engine.autoblock import AUTO, BlockChoice
from ravebox.service import blockmemory
from ravebox.service.blockmemory import BlockMemory, box_key, remember_choice, state_folder

MODELS = Path(__file__).resolve().parents[1] / "models"


def _box(folder: Path, extra: str = ""):
    model = folder / "m.ts"
    if not model.exists():
        shutil.copy(MODELS / "rave_a.ts", model)
    path = folder / "box.toml"
    path.write_text(f'[models]\nm = "{model}"\n[graphs.g]\nencoder = "m"\n{extra}')
    return load_box(path)


class Chosen:
    """What remember_choice reads of an engine that has just been timed."""

    def __init__(self, multiple: int, source: str = AUTO, large: bool = True) -> None:
        self.block_choice = BlockChoice(multiple, source, "timed")
        self.large = large

    def has_large_models(self) -> bool:
        return self.large


def test_a_choice_is_recalled_by_the_next_start_of_the_same_box(tmp_path):
    box = _box(tmp_path)
    memory = BlockMemory(tmp_path / "state")
    key = box_key(box, 48000)
    assert memory.recall(key) is None                      # nothing yet: the folder does not even exist
    remember_choice(memory, key, Chosen(4))
    assert BlockMemory(tmp_path / "state").recall(box_key(_box(tmp_path), 48000)) == 4
    remember_choice(memory, key, Chosen(2))
    assert memory.recall(key) == 2


@pytest.mark.parametrize("engine", [Chosen(4, source="box"), Chosen(1, large=False)])
def test_a_pinned_multiple_or_small_models_leave_nothing_to_remember(tmp_path, engine):
    memory = BlockMemory(tmp_path)
    remember_choice(memory, "k", engine)
    assert not memory.path.exists()


def test_the_key_follows_what_the_choice_depends_on(tmp_path):
    box = _box(tmp_path)
    key = box_key(box, 48000)
    assert box_key(box, 44100) != key                                   # the rate
    assert box_key(_box(tmp_path, "[output]\ntorch_threads = 2\n"), 48000) != key
    model = tmp_path / "m.ts"
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 1_000_000_000))
    assert box_key(_box(tmp_path), 48000) != key                        # the model file was replaced
    assert box_key(_box(tmp_path), 48000) == box_key(_box(tmp_path), 48000)


@pytest.mark.parametrize("text", [
    "", "not json {", "\xff\xfe", "[]", '{"boxes": []}', '{"boxes": {"k": 2}}',
    '{"boxes": {"k": {"multiple": "2"}}}', '{"boxes": {"k": {"multiple": 3}}}',
    '{"boxes": {"k": {"multiple": true}}}', '{"boxes": {"k": {"multiple": 2.0}}}',
])
def test_a_file_that_is_not_ours_is_an_empty_memory_and_is_replaced(tmp_path, text):
    memory = BlockMemory(tmp_path)
    memory.path.write_bytes(text.encode("latin-1"))
    assert memory.recall("k") is None
    assert memory.remember("k", 2) and memory.recall("k") == 2


def test_an_unwritable_folder_costs_a_warning_not_the_start(tmp_path, caplog):
    (tmp_path / "ro").write_text("a file where the folder should be")
    memory = BlockMemory(tmp_path / "ro" / "state")
    with caplog.at_level(logging.WARNING, logger="ravebox.blockmemory"):
        assert memory.remember("k", 2) is False
    assert memory.recall("k") is None
    assert "cannot remember the auto block multiple" in caplog.text


def test_the_most_recent_boxes_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(blockmemory, "KEEP", 3)
    memory = BlockMemory(tmp_path)
    for i in range(5):
        memory.remember(f"box{i}", 2)
    memory.remember("box2", 4)                      # a box chosen again moves to the end
    memory.remember("box5", 8)
    assert list(json.loads(memory.path.read_text())["boxes"]) == ["box4", "box2", "box5"]
    assert [memory.recall(k) for k in ("box0", "box2", "box5")] == [None, 4, 8]


def test_the_state_folder_is_systemds_then_xdgs_then_the_homes(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ravebox:/var/lib/other")
    assert state_folder() == Path("/var/lib/ravebox")
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_folder() == tmp_path / "ravebox"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert state_folder() == tmp_path / ".local" / "state" / "ravebox"
