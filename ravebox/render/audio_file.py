"""Write a rendered file so that a failure never costs a previous good render.

Why not write in place: libsndfile opens the target for writing at once, so a
full disk used to destroy the last good render at that path and leave a
truncated WAV that still opened as valid (its header written first), with the
message "System error.". Here the audio goes to a hidden temporary file in the
same folder (same file system, so the final ``os.replace`` is atomic), which is
read back for its frame count and fsynced before it replaces the target (then the
folder is fsynced, as ``tomlwrite`` does, so the rename survives a power cut). Any
failure removes the temporary file, leaves the target as it was, and names the
cause: no space left (checked before writing, and again after a failure),
the file size limit, a missing folder, a permission.

Thread: the caller's (the render command's main thread).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ravebox.errors import RaveboxError
from ravebox.tomlwrite import fsync_path

SFC_SET_ADD_PEAK_CHUNK = 0x1050
#: Header and chunk allowance when estimating a file's size.
HEADER_BYTES = 64 * 1024
_BYTES = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8, "PCM_S8": 1, "PCM_U8": 1}


class AudioFileError(RaveboxError):
    """An output audio file could not be written; the target was left untouched."""


def default_subtype(path: Path) -> str:
    return "PCM_24" if path.suffix.lower() in (".flac", ".ogg") else "FLOAT"


def write_audio(path: str | Path, out: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write ``out`` (channels, frames) to ``path`` atomically; float WAV without a PEAK chunk."""
    path = Path(path)
    subtype = subtype or default_subtype(path)
    folder = path.parent if str(path.parent) else Path(".")
    needed = HEADER_BYTES + out.size * _BYTES.get(subtype.upper(), 4)
    _check_room(path, folder, needed)
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=path.suffix or ".wav")
    except OSError as exc:
        raise AudioFileError(f"cannot write {path}: {_cause(exc, folder, needed)}") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        _write_file(tmp, out, sample_rate, subtype)
        _settle(tmp, out.shape[1])
        os.replace(tmp, path)
        with contextlib.suppress(OSError):
            fsync_path(folder)                # the rename itself survives a power cut
    except (OSError, RuntimeError, TypeError, ValueError, sf.LibsndfileError) as exc:
        tmp.unlink(missing_ok=True)
        raise AudioFileError(f"cannot write {path}: {_cause(exc, folder, needed)}; "
                             f"{'the previous file there is untouched' if path.exists() else 'nothing written'}"
                             ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_file(tmp: Path, out: np.ndarray, sample_rate: int, subtype: str) -> None:
    with sf.SoundFile(str(tmp), "w", sample_rate, out.shape[0], subtype=subtype) as handle:
        _no_peak_chunk(handle)
        handle.write(out.T)


def _settle(tmp: Path, frames: int) -> None:
    """Read the file back (libsndfile can report a short write only as a short file) and fsync it."""
    written = sf.info(str(tmp)).frames
    if written != frames:
        raise OSError(errno.EIO, f"only {written} of {frames} frames reached the disk")
    fsync_path(tmp)


def _check_room(path: Path, folder: Path, needed: int) -> None:
    """Refuse before touching anything when the estimate cannot fit (disk or file size limit)."""
    free = _free_bytes(folder)
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if free is not None and free < needed:
        why = f"no space left on the device ({_mb(needed)} needed, {_mb(free)} free in {folder})"
    elif limit != resource.RLIM_INFINITY and needed > limit:
        why = f"file size limit reached ({_mb(needed)} needed, the limit is {_mb(limit)})"
    else:
        return
    raise AudioFileError(f"cannot write {path}: {why}; nothing was written")


def _cause(exc: BaseException, folder: Path, needed: int) -> str:
    """Name what went wrong in words an operator can act on (libsndfile only says "System error.")."""
    free = _free_bytes(folder)
    code = exc.errno if isinstance(exc, OSError) else None
    if code == errno.ENOSPC or (free is not None and free < needed):
        return f"no space left on the device ({_mb(needed)} needed, {_mb(free or 0)} free in {folder})"
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if code == errno.EFBIG or limit != resource.RLIM_INFINITY:
        return f"file size limit reached ({_mb(needed)} needed, the limit is {_mb(limit)})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror if not exc.filename else f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _no_peak_chunk(handle: sf.SoundFile) -> None:
    """Float WAV files carry a PEAK chunk with a wall-clock timestamp, which would make two
    identical renders differ in bytes; libsndfile's SFC_SET_ADD_PEAK_CHUNK turns it off."""
    try:
        sf._snd.sf_command(handle._file, SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    except AttributeError:  # a soundfile without its cffi handles: bytes then differ in the timestamp
        pass
