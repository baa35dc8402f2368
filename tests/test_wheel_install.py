"""A wheel built from this checkout works without the checkout (docs/dedicated-box.md step 1).

Why a test of its own: an editable install finds the bundled mappings, the default box, its model
and the unit files through the source tree, so only a real non-editable install shows whether they
ship as package data. To stay fast the wheel goes into a bare venv that reuses this venv's
site-packages (torch, numpy, JACK-Client...) through a ``.pth`` line, and the copied source tree
is deleted before anything runs, so nothing can quietly reach back into it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import uuid
import venv
from pathlib import Path

import pytest
import soundfile

from tests.jackserver import needs_jackd

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                              "*.wav", "*.flac")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``bin/`` of a fresh venv with ravebox installed from a wheel of this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=SKIP)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(work / "dist"), str(src)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    shutil.rmtree(src)
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    (purelib / "reuse-test-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    wheel = next((work / "dist").glob("ravebox-*.whl"))
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                           "--no-deps", "--no-index", "-q", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return env_dir / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the wheel's ``ravebox``; ``timeout`` only guards against a hang (importing torch on a loaded VM is slow)."""
    return subprocess.run([str(bin_dir / "ravebox"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def test_the_wheel_runs_from_its_own_files(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import ravebox; print(ravebox.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert where.stdout.startswith(str(installed.parent)), where.stdout + where.stderr


def test_bundled_mapping_names_resolve_from_the_wheel(installed, tmp_path):
    box = tmp_path / "box.toml"
    shutil.copy(ROOT / "tests" / "models" / "rave_a.ts", tmp_path / "a.ts")
    box.write_text('[models]\na = "a.ts"\n[graphs.main]\nencoder = "a"\n[mapping]\nfile = "nanokontrol2"\n')
    done = run(installed, "check", str(box), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_ships_the_unit_files_and_their_doc(installed, tmp_path):
    done = run(installed, "install-service", "--root", str(tmp_path / "root"), "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ravebox.service" in done.stdout and "dedicated-box.md" in done.stdout
    assert "PrivateTmp" in done.stderr   # this venv is under /tmp, which the service cannot see


def test_the_wheel_ships_the_jack_thread_s_c_source_and_builds_it_where_installed(installed, tmp_path):
    """What ``install-service`` does as root on a box installed with pip (docs/dedicated-box.md step 3)."""
    done = subprocess.run([str(installed / "python"), "-m", "ravebox.host.nativebuild"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    built = Path(done.stdout.strip().rsplit(" ", 1)[-1])
    assert built.is_relative_to(installed.parent) and built.name.startswith("_rtcycle-") and built.is_file()


@needs_jackd
@pytest.mark.jack
@pytest.mark.slow
def test_the_wheel_plays_the_demo(installed, tmp_path):
    out = tmp_path / "demo.wav"
    done = run(installed, "demo", "--server", f"rbx-wheel-{uuid.uuid4().hex[:6]}", "--seconds", "2",
               "--capture", str(out), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    audio, rate = soundfile.read(out)
    assert audio.shape[0] >= rate and abs(audio).max() > 1e-3
