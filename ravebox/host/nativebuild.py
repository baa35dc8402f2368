"""Builds and loads ravebox's one piece of C, the JACK cycle's deadline half (``native/rtcycle.c``).

Why a plain shared library built with ``cc`` rather than a Python extension: the C
code never touches Python (that is its point, :mod:`ravebox.host.nativecycle`), so it
needs no Python headers and no build backend; ``ctypes`` loads it. It needs a C
compiler once: ``scripts/install.sh`` installs ``gcc`` and builds it (``python -m
ravebox.host.nativebuild``) next to its source, where the daemon finds it under
systemd without writing anything (``ravebox install-service`` builds it too, as root, for a
package installed with pip). The file name carries a hash of the source, so an edited
source is never paired with a stale build. Where the package folder is not writable a
build goes to the cache folder (:func:`cache_folder`); where no compiler is found the
daemon plays on through the Python process thread and says why.
A build is written beside its final name and renamed over it: never half a library.

Compared before writing this: ``cffi``'s API mode (a Python extension: Python headers and
setuptools at install) and ``setuptools`` ``ext_modules`` in ``pyproject.toml`` (an editable
install then rebuilds through pip); neither is needed for a library that Python only calls into.

Threads: :func:`load` runs once, on the first session's main thread (it may compile, a
fraction of a second), never on the JACK thread.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger("ravebox.host")

SOURCE = Path(__file__).with_name("native") / "rtcycle.c"
ABI = 1                      # rtcycle.c's RB_ABI: a library answering otherwise is not used
FLAGS = ("-O2", "-shared", "-fPIC", "-pthread", "-Wall")
DISABLE_ENV = "RAVEBOX_NATIVE"   # "0": never use the native half (the Python process thread plays)

_loaded: tuple[ctypes.CDLL | None, str] | None = None   # (library, why not) once tried


def library_name() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS).encode()).hexdigest()[:12]
    return f"_rtcycle-{digest}.so"


def cache_folder() -> Path:
    """systemd's ``CacheDirectory=`` (``$CACHE_DIRECTORY``), else ``$XDG_CACHE_HOME/ravebox``, else ``~/.cache/ravebox``."""
    if os.environ.get("CACHE_DIRECTORY"):
        return Path(os.environ["CACHE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ravebox"


def candidates() -> list[Path]:
    """Where a build may be: beside the source (install.sh puts it there), then the user's cache."""
    name = library_name()
    return [SOURCE.parent / name, cache_folder() / name]


def compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build(target: Path) -> str:
    """Compile the source into ``target`` (atomically); '' when done, else why not."""
    cc = compiler()
    if cc is None:
        return "no C compiler (install gcc, or run scripts/install.sh)"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rtcycle-", suffix=".so", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        return f"cannot write in {target.parent}: {exc.strerror or exc}"
    try:
        done = subprocess.run([cc, *FLAGS, "-o", tmp, str(SOURCE)], capture_output=True, text=True, timeout=120)
        if done.returncode:
            return f"{cc} failed: {(done.stderr or done.stdout).strip()[-400:]}"
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        return ""
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{cc} could not run: {exc}"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open(path: Path) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(path))
        lib.rb_abi.restype = ctypes.c_int
        return lib if lib.rb_abi() == ABI else None
    except (OSError, AttributeError):
        return None


def load() -> tuple[ctypes.CDLL | None, str]:
    """The library (built here if no build of this source exists yet), or None and why not. Tried once."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if os.environ.get(DISABLE_ENV) == "0":
        _loaded = (None, f"{DISABLE_ENV}=0")
        return _loaded
    if sys.platform != "linux":
        _loaded = (None, "the native cycle is built for Linux only")
        return _loaded
    reasons = []
    for path in candidates():
        if not path.exists():
            why = build(path)
            if why:
                reasons.append(why)
                continue
        lib = _open(path)
        if lib is not None:
            _loaded = (lib, "")
            return _loaded
        reasons.append(f"{path} would not load")
    _loaded = (None, "; ".join(dict.fromkeys(reasons)))
    return _loaded


def main() -> int:
    """``python -m ravebox.host.nativebuild``: build beside the source now (install time)."""
    target = candidates()[0]
    why = build(target)
    if why:
        print(f"ravebox: native cycle not built: {why}", file=sys.stderr)
        return 1
    print(f"ravebox: native cycle built: {target}")
    for old in target.parent.glob("_rtcycle-*.so"):
        if old != target:
            old.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
