"""Hot reload of a mapping file: validate, then swap; a bad file keeps the old mapping.

Runs on the daemon's main thread: on SIGHUP it calls :meth:`MappingReloader.reload`,
and once a second :meth:`MappingReloader.poll`, which reloads when the mapping
file or any preset file it read changed (mtime, size or existence). Loading
happens here, off the control thread; only the final swap touches the
runtime, and it is atomic, so nothing in the audio stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ravebox.errors import ConfigError
from ravebox.mapping.loader import load_mapping
from ravebox.mapping.model import Mapping
from ravebox.mapping.presets import load_presets
from ravebox.mapping.runtime import MappingRuntime

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class Reload:
    """The outcome of one reload: ``ok`` and a line to log (the error text when not ok)."""

    ok: bool
    message: str


class MappingReloader:
    """Reloads ``path`` into ``runtime`` on request or when its files change."""

    def __init__(self, runtime: MappingRuntime, path: str | Path,
                 loader: Callable[[Path], Mapping] = load_mapping) -> None:
        self.runtime = runtime
        self.path = Path(path)
        self.loader = loader
        self.generation = 0
        self.last_error: str | None = None
        self._signature = self._sign()

    def reload(self) -> Reload:
        """Validate the file now; swap it in if valid, else keep the current mapping."""
        explicit = self.runtime.explicit_presets
        try:
            self._signature = self._sign()
            mapping = self.loader(self.path)
            presets = load_presets(explicit.sources) if explicit is not None else None
        except ConfigError as exc:
            self.last_error = str(exc)
            return Reload(False, f"mapping not reloaded, keeping '{self.runtime.mapping.name}':\n{exc}")
        except Exception as exc:  # noqa: BLE001 - RecursionError, a symlink loop, ENAMETOOLONG: keep playing
            self.last_error = f"{type(exc).__name__}: {exc}"
            return Reload(False, f"mapping not reloaded, keeping '{self.runtime.mapping.name}': "
                                 f"{self.last_error}")
        self.runtime.swap(mapping, presets)
        self.generation += 1
        self.last_error = None
        return Reload(True, f"mapping reloaded from {self.path}: {len(mapping.rules)} rules, "
                            f"{len(self.runtime.presets)} presets")

    def poll(self) -> Reload | None:
        """Reload if a watched file changed since the last look; None when nothing changed."""
        if self._sign() == self._signature:
            return None
        return self.reload()

    def _files(self) -> list[Path]:
        explicit = self.runtime.explicit_presets
        files = [self.path, *self.runtime.mapping.files[1:], *(explicit.sources if explicit is not None else ())]
        out: list[Path] = []
        for path in files:
            out += sorted(path.glob("*.toml")) + [path] if path.is_dir() else [path]
        return out

    def _sign(self) -> Signature:
        sig = []
        for path in self._files():
            try:
                st = path.stat()
                sig.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                sig.append((str(path), -1, -1))
        return tuple(sig)
