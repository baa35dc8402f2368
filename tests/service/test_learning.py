"""MIDI learn in the daemon's shape (service/learning.py): the file work runs off the main thread, the mapping
file is parsed once per learn, and a learn whose file work fails still answers."""

from __future__ import annotations

import threading
import time

import mido
import pytest

from ravebox.mapping import learnfile, loader
from ravebox.mapping.learnfile import LearnTarget
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.reloader import MappingReloader
from ravebox.mapping.runtime import MappingRuntime
from ravebox.midi.events import MidiEvent
from ravebox.params.store import ParamStore
from ravebox.service.learning import LearnService
from ravebox.service.offmain import OffMainThread

MAPPING = '[mapping]\nname = "x"\n# my knobs\n[[map]]\ncc = 7            # volume\ntarget = "mix.wet"\n'


class Box:
    """A mapping runtime, its reloader, a learn service whose file work runs on ``OffMainThread``."""

    def __init__(self, folder) -> None:
        self.path = folder / "m.toml"
        self.path.write_text(MAPPING)
        self.runtime = MappingRuntime(load_mapping(self.path), ParamStore({"main": 8}, 48000))
        self.reloader = MappingReloader(self.runtime, self.path)
        self.reloads = OffMainThread()
        self.armed: list = []
        self.swaps: list = []
        self.service = LearnService(self.reloader, self.armed.append, self.reloads.submit, self.swaps.append)

    def learn(self, message: mido.Message, target: LearnTarget, mode: str = "ask") -> dict:
        """Ask on a socket-like thread, move the control, turn the main loop until the answer comes."""
        answer: dict = {}
        asking = threading.Thread(target=lambda: answer.update(self.service.request(target, mode, timeout_s=60)))
        asking.start()
        moved = False
        while asking.is_alive():                 # the daemon's main loop; the player moves once it is armed
            capture = self.armed[-1] if self.armed else None
            if capture is not None and not moved:
                capture.offer(MidiEvent(0, "midi_in <- dev", message))
                capture.poll(10 ** 6)
                moved = True
            self.service.poll()
            self.reloads.poll()
            time.sleep(0.005)
        return answer


def test_a_learn_writes_and_swaps_with_one_parse_of_the_file_off_the_main_thread(tmp_path, monkeypatch):
    box = Box(tmp_path)
    parses: list[str] = []
    real = loader.parse_mapping

    def counted(data, diags, path):
        parses.append(threading.current_thread().name)
        return real(data, diags, path)
    monkeypatch.setattr(loader, "parse_mapping", counted)
    monkeypatch.setattr(learnfile, "parse_mapping", counted)
    answer = box.learn(mido.Message("control_change", channel=2, control=21, value=127), LearnTarget("gate.depth", "main"))
    assert answer["ok"], answer
    assert parses == ["ravebox-reload"]
    assert box.path.read_text().startswith(MAPPING)               # the hand-written text kept byte for byte
    assert [r.source.number for r in box.runtime.mapping.rules] == [7, 21]
    assert box.runtime.mapping == load_mapping(box.path)          # what is live is what the file says
    assert [s.ok for s in box.swaps] == [True] and not box.reloader.changed()


def test_replace_edits_the_entry_through_tomlkit_and_keeps_comments(tmp_path):
    box = Box(tmp_path)
    assert box.learn(mido.Message("control_change", control=7, value=1), LearnTarget("out.gain_db"))["conflict"]
    answer = box.learn(mido.Message("control_change", control=7, value=1), LearnTarget("out.gain_db"), "replace")
    assert answer["ok"], answer
    text = box.path.read_text()
    assert "# my knobs" in text and 'target = "mix.wet"' not in text
    assert [str(r.target) for r in box.runtime.mapping.rules] == [str(r.target) for r in load_mapping(box.path).rules]


def test_a_file_work_that_fails_is_answered_not_left_waiting(tmp_path, monkeypatch):
    box = Box(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr("ravebox.service.learning.learn_into", broken)
    answer = box.learn(mido.Message("control_change", control=9, value=1), LearnTarget("mix.wet"))
    assert answer["ok"] is False and "disk on fire" in answer["error"]
    assert box.path.read_text() == MAPPING
    assert box.service.status()["learning"] is None


@pytest.mark.parametrize("bad", ["map = [{cc = 1, target = \"mix.wet\"}]\n"])
def test_a_file_the_plain_append_does_not_fit_is_edited_through_tomlkit(tmp_path, bad):
    box = Box(tmp_path)
    box.path.write_text(bad)
    box.reloader.reload()
    answer = box.learn(mido.Message("control_change", control=9, value=1), LearnTarget("mix.wet"))
    assert answer["ok"], answer
    assert [r.source.number for r in load_mapping(box.path).rules] == [1, 9]
