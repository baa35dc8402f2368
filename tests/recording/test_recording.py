"""Recording offline: the tap ring never blocks or overwrites, the writer makes exact FLAC files, a nearly
full disk stops the take cleanly with a readable file."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ravebox.config.diagnostics import Diagnostics
from ravebox.config.record import parse
from ravebox.recording.settings import RecordSettings
from ravebox.recording.tap import RecordTap
from ravebox.recording.writer import RecordError, Recorder

SR = 48000


def periods(seed: int, count: int, n: int, channels: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (channels, n)).astype(np.float32) for _ in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_tap_hands_the_reader_every_frame_in_order_across_the_wrap(seed):
    rng = np.random.default_rng(seed)
    tap = RecordTap(wet=2, dry=1, capacity=1024)
    written, read = [], []
    out = np.zeros((3, 300), np.float32)
    for block in periods(seed, 200, int(rng.choice([32, 64, 128, 256]))):
        dry = [[block[0] * 0.5]]
        skipped = tap.overruns
        tap.push(block.shape[1], [block], dry)
        if tap.overruns == skipped:
            written.append(np.vstack([block, dry[0][0][None]]))
        while rng.random() < 0.7 and tap.available():
            n = tap.read(out)
            read.append(out[:, :n].copy())
    while tap.available():
        read.append(out[:, :tap.read(out)].copy())
    assert tap.overruns < 200
    assert np.array_equal(np.hstack(read), np.hstack(written))


def test_a_full_ring_skips_the_period_and_counts_it_instead_of_overwriting():
    tap = RecordTap(wet=1, dry=0, capacity=512)
    blocks = periods(1, 3, 256, channels=1)
    for block in blocks:
        tap.push(256, [block], [])
    assert tap.overruns == 1 and tap.available() == 512
    out = np.zeros((1, 512), np.float32)
    tap.read(out)
    assert np.array_equal(out, np.hstack(blocks[:2]))


def feed(take: Recorder, blocks: list[np.ndarray], dry: list[np.ndarray] | None = None) -> None:
    for i, block in enumerate(blocks):
        while take.tap.capacity - take.tap.available() < block.shape[1]:
            if not take.running:
                return                                   # the take ended (disk full): nobody drains any more
            time.sleep(0.01)
        take.tap.push(block.shape[1], [block], [[d for d in dry[i]]] if dry else [])


def test_writer_makes_flac_files_equal_to_what_was_played(tmp_path):
    settings = RecordSettings(folder=tmp_path / "takes", dry=True, reserve_mb=0, bits=24, buffer_s=1)
    take = Recorder(settings, SR, wet_channels=2, dry_channels=1).start()
    wet = [b * 0.5 for b in periods(2, 400, 256)]
    dry = [b[:1] * 0.25 for b in periods(3, 400, 256)]
    feed(take, wet, dry)
    take.stop()
    assert take.stopped_reason is None and take.frames == 400 * 256
    data, rate = soundfile.read(take.path, dtype="float32")
    assert rate == SR and data.shape == (400 * 256, 2)
    assert np.max(np.abs(data.T - np.hstack(wet))) < 2.0 ** -22          # 24-bit exact
    dry_data, _ = soundfile.read(take.dry_path, dtype="float32")
    assert np.max(np.abs(dry_data - np.hstack(dry)[0])) < 2.0 ** -22
    assert take.path.name.startswith("ravebox-") and take.dry_path.name.endswith("-dry.flac")


def test_two_takes_in_one_second_get_two_names(tmp_path):
    settings = RecordSettings(folder=tmp_path, reserve_mb=0)
    first = Recorder(settings, SR, 1, 0).start()
    second = Recorder(settings, SR, 1, 0).start()
    first.stop()
    second.stop()
    assert first.path != second.path and first.path.exists() and second.path.exists()


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RecordError, match="cannot record to"):
        Recorder(RecordSettings(folder=blocker / "takes", reserve_mb=0), SR, 1, 0).start()


@contextlib.contextmanager
def small_disk(path: Path, size_kb: int):
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_nearly_full_disk_stops_the_take_with_a_readable_file(tmp_path):
    with small_disk(tmp_path / "disk", 2048) as disk:
        settings = RecordSettings(folder=disk, reserve_mb=0.5, buffer_s=1)
        take = Recorder(settings, SR, wet_channels=2, dry_channels=0).start()
        noise = periods(4, 3000, 256)                     # 16 s of full-scale noise: far more than 1.5 MB
        for block in noise:
            if take.stopped_reason is not None:
                break
            feed(take, [block])
        deadline = time.monotonic() + 30
        while take.running and time.monotonic() < deadline:
            time.sleep(0.05)
        take.stop()
        assert take.stopped_reason is not None and "disk nearly full" in take.stopped_reason
        assert "is complete" in take.stopped_reason
        data, rate = soundfile.read(take.path, dtype="float32")
        assert rate == SR and len(data) == take.frames > SR // 2
        assert np.max(np.abs(data.T - np.hstack(noise)[:, :len(data)])) < 2.0 ** -22
        assert shutil.disk_usage(disk).free >= 0.4 * 1024 * 1024


def test_record_table_parses_and_reports_every_problem(tmp_path):
    diags = Diagnostics(str(tmp_path / "box.toml"))
    settings = parse({"folder": "takes", "dry": True, "reserve_mb": 16, "bits": 16}, diags)
    assert not diags
    assert settings.folder == (tmp_path / "takes").resolve() and settings.dry and settings.bits == 16
    parse({"folder": 3, "dry": "yes", "bits": 20, "reserve": 1, "buffer_s": 0}, diags)
    text = "\n".join(str(d) for d in diags.items)
    assert "record.folder: must be a folder path" in text and "record.dry: must be true or false" in text
    assert "record.bits: must be 16 or 24" in text and "record.reserve: unknown key (did you mean 'reserve_mb'?)" in text
    assert "record.buffer_s: must be a number in range 1..120" in text
