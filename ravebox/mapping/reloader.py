"""Hot reload of a mapping file: read and validate (any thread), then swap (main thread).

Why two halves: a generated mapping of 10,000 rules takes seconds to read and
validate, and the daemon's main thread pings the systemd watchdog; so the
reading half, :meth:`MappingReloader.load`, changes nothing and may run on any
thread (the daemon runs it on a background thread), and the installing half,
:meth:`MappingReloader.install`, runs on the main thread and only swaps a
finished :class:`Mapping` into the runtime (atomic, nothing in the audio
stops). The old mapping plays until then; a bad file keeps it and says why.

Where a mapping comes from: its own file (the file watch, :meth:`load`), a box
config that was just reloaded and so already holds the parsed mapping of its
``[mapping] file`` -- perhaps another file than before -- (:meth:`from_box`,
no second parse), or MIDI learn, which validated the edited file itself.

Change detection (:meth:`changed`): mtime, size and inode of the mapping file
and of every preset file it read, taken *before* reading, so an edit made
while a reload reads is seen by the next look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ravebox.errors import ConfigError
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.model import Mapping, PresetBank
from ravebox.mapping.presets import load_presets
from ravebox.mapping.runtime import KEEP_PRESETS, KeepPresets, MappingRuntime

Signature = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class Reload:
    """The outcome of one reload: ``ok`` and a line to log (the error text when not ok)."""

    ok: bool
    message: str


class MappingSource(Protocol):
    """What a loaded box says of its mapping (``config.mapping.MappingSettings``; ``config/`` sits above
    ``mapping/``, so the reloader asks for these fields, not that class)."""

    @property
    def path(self) -> Path: ...

    @property
    def mapping(self) -> Mapping: ...

    @property
    def presets(self) -> PresetBank | None: ...


@dataclass(frozen=True, slots=True)
class LoadedMapping:
    """A mapping read and validated, ready for :meth:`MappingReloader.install`; or why it is not (``error``).

    ``presets``: the box's own preset bank (``[mapping] presets``) as this load read it, None when the
    box names none (the mapping's own play); :data:`KEEP_PRESETS` when the load did not read the box's
    presets (MIDI learn's edited mapping): the bank playing stays.
    """

    path: Path
    signature: Signature
    mapping: Mapping | None = None
    presets: PresetBank | None | KeepPresets = KEEP_PRESETS
    error: str | None = None
    invalid: bool = False       # the error is the file's validation report (one problem per line)


class MappingReloader:
    """Reloads the active mapping file into ``runtime``; ``path`` follows the box's ``[mapping] file``."""

    def __init__(self, runtime: MappingRuntime, path: str | Path,
                 loader: Callable[[Path], Mapping] = load_mapping) -> None:
        self.runtime = runtime
        self.path = Path(path)
        self.loader = loader
        self.generation = 0
        self.last_error: str | None = None
        self._signature = self.signature()

    # -- any thread: read and validate, change nothing ------------------------------------
    def load(self) -> LoadedMapping:
        """Read and validate the active mapping file (and the box's preset files, if it names some)."""
        signature = self.signature()
        explicit = self.runtime.explicit_presets
        try:
            mapping = self.loader(self.path)
            presets = load_presets(explicit.sources) if explicit is not None else None
        except ConfigError as exc:
            return LoadedMapping(self.path, signature, error=str(exc), invalid=True)
        except Exception as exc:  # noqa: BLE001 - RecursionError, a symlink loop, ENAMETOOLONG: keep playing
            return LoadedMapping(self.path, signature, error=f"{type(exc).__name__}: {exc}")
        return LoadedMapping(self.path, signature, mapping, presets)

    def from_box(self, settings: MappingSource, signature: Signature | None = None) -> LoadedMapping:
        """The mapping a freshly loaded box holds (``box.mapping``, a ``MappingSettings``): no second parse.

        ``signature``: this reloader's :meth:`signature` taken before the box was read; used
        when the box still names the same file, else the new file's is taken now.
        """
        path = Path(settings.path)
        if signature is None or path != self.path:
            signature = self.signature(path, settings.mapping)
        return LoadedMapping(path, signature, settings.mapping, settings.presets)

    def signature(self, path: Path | None = None, mapping: Mapping | None = None) -> Signature:
        """Stat of the mapping file and of the preset files of ``mapping`` (default: the active ones)."""
        sig = []
        for file in self._files(path or self.path, mapping or self.runtime.mapping):
            try:
                st = file.stat()
                sig.append((str(file), st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                sig.append((str(file), -1, -1, -1))
        return tuple(sig)

    # -- main thread ------------------------------------------------------------------------
    def install(self, loaded: LoadedMapping) -> Reload:
        """Swap a loaded mapping in (following a changed path), or keep the current one and say why."""
        self._signature = loaded.signature
        if loaded.mapping is None:
            self.last_error = loaded.error
            sep = ":\n" if loaded.invalid else ": "
            return Reload(False, f"mapping not reloaded, keeping '{self.runtime.mapping.name}'{sep}{loaded.error}")
        moved = loaded.path != self.path
        self.runtime.swap(loaded.mapping, loaded.presets)
        self.path = loaded.path
        self.generation += 1
        self.last_error = None
        return Reload(True, f"mapping {'switched to' if moved else 'reloaded from'} {loaded.path}: "
                            f"{len(loaded.mapping.rules)} rules, {len(self.runtime.presets)} presets")

    def reload(self) -> Reload:
        """Read, validate and install now, on the calling thread (tests, tools; the daemon splits it)."""
        return self.install(self.load())

    def changed(self) -> bool:
        """Whether a watched file changed since the last load (a few stat calls)."""
        return self.signature() != self._signature

    def poll(self) -> Reload | None:
        """Reload now if a watched file changed since the last look; None when nothing changed."""
        return self.reload() if self.changed() else None

    def _files(self, path: Path, mapping: Mapping) -> list[Path]:
        explicit = self.runtime.explicit_presets
        same = mapping.path is not None and Path(mapping.path) == path
        files = [path, *(mapping.files[1:] if same else ()), *(explicit.sources if explicit is not None else ())]
        out: list[Path] = []
        for file in files:
            out += sorted(file.glob("*.toml")) + [file] if file.is_dir() else [file]
        return out
