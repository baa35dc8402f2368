"""A render never destroys a previous good file, and a full disk is named as such.

The full disk is real: a 1 MB tmpfs mounted in a private mount namespace of a
child process (``unshare --mount``, root only), so the test's own files are safe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from ravebox.render.audio_file import AudioFileError, write_audio

SR = 48000


def tone(seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.tile(0.25 * np.sin(2 * np.pi * 440 * t), (channels, 1)).astype(np.float32)


def test_writes_atomically_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "take.wav"
    write_audio(out, tone(0.5), SR)
    write_audio(out, tone(0.25, 2), SR)
    data, rate = sf.read(str(out), always_2d=True)
    assert rate == SR and data.shape == (SR // 4, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_a_failed_write_leaves_the_previous_render_untouched(tmp_path):
    out = tmp_path / "take.wav"
    write_audio(out, tone(0.5), SR)
    good = out.read_bytes()
    with pytest.raises(AudioFileError, match="previous file there is untouched"):
        write_audio(out, tone(0.5), SR, subtype="NOT_A_SUBTYPE")
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


CHILD = """
import sys
from pathlib import Path
import numpy as np, soundfile as sf
from ravebox.render import audio_file
from ravebox.render.audio_file import AudioFileError, write_audio
out = Path(sys.argv[1]) / "take.wav"
write_audio(out, np.full((1, 48000), 0.25, np.float32), 48000)       # a good render, 192 kB
good = out.read_bytes()
if sys.argv[2] == "late":
    audio_file._check_room = lambda *a: None                          # let it run into the wall
try:
    write_audio(out, np.full((2, 480000), 0.25, np.float32), 48000)   # 3.8 MB: does not fit
except AudioFileError as exc:
    print("ERROR", exc)
assert out.read_bytes() == good, "the good render was damaged"
assert sorted(p.name for p in out.parent.iterdir()) == ["take.wav"], list(out.parent.iterdir())
print("GOOD KEPT")
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
@pytest.mark.parametrize("when", ["early", "late"])
def test_a_full_disk_is_named_and_never_destroys_the_previous_render(tmp_path, when):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    shell = (f"mount -t tmpfs -o size=1m tmpfs {disk} && "
             f"{sys.executable} {script} {disk} {when}")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "GOOD KEPT" in done.stdout
    assert "no space left on the device" in done.stdout and "System error" not in done.stdout


def test_the_file_size_limit_is_named(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent("""
        import resource, sys
        from pathlib import Path
        import numpy as np
        from ravebox.render.audio_file import AudioFileError, write_audio
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        try:
            write_audio(Path(sys.argv[1]) / "big.wav", np.zeros((1, 480000), np.float32), 48000)
        except AudioFileError as exc:
            print(exc)
    """))
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert "file size limit reached" in done.stdout, done.stderr
    assert not (tmp_path / "big.wav").exists()


def test_render_writes_through_the_atomic_writer(tmp_path):
    """``ravebox render`` over a good take: a failing write is a RenderError and the take survives."""
    from ravebox.render.render import RenderError, _write

    out = tmp_path / "take.wav"
    _write(out, tone(0.5), SR, None)
    good = out.read_bytes()
    with pytest.raises(RenderError, match="untouched"):
        _write(out, tone(0.5), SR, "NOT_A_SUBTYPE")
    assert out.read_bytes() == good
