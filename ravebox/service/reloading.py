"""A reload, part by part: the mapping, the box file, its connect rules and each model slot.

Why each part keeps its own outcome: one reload touches several files, and each
may be refused for its own reason while the others apply (a bad mapping next to
a good box file, one corrupt model of three). Status must tell each part's last
outcome in full -- a mapping's every error, not its first line; a box file's
TOML error, not "last reload ok" -- and ``ravebox status reload`` must exit 1
when any part was refused. A model swap finishes after the reply (it loads on a
thread of its own), so its outcome is noted when it ends and shown by status.

The old state keeps playing for every refused part; see ``Daemon.reload``.

Why a reload is read in one place and applied in another: the main thread pings
the systemd watchdog, and a box's mapping can take seconds to read and validate
(a generated mapping of 10,000 rules). :meth:`BoxReload.prepare` reads the box
file once -- which validates the mapping file it names, so the mapping is read
once per reload, from the file ``[mapping] file`` names *now* -- on any thread,
changing nothing; :meth:`BoxReload.apply` swaps what was read in on the main
thread. The daemon runs ``prepare`` on its ``ravebox-reload`` thread
(``service/offmain.py``) for SIGHUP and the file watch, and on the socket's
thread for ``ravebox status reload``; until ``apply`` the old mapping plays.

Threads: :meth:`BoxReload.prepare` and :meth:`BoxReload.load_mapping` any thread;
:meth:`BoxReload.apply`, :meth:`BoxReload.reload`, :meth:`BoxReload.install_mapping`,
:meth:`BoxReload.installed` and :meth:`BoxReload.watch` the main thread; model swap
threads call :meth:`ReloadRecord.note`; :meth:`ReloadRecord.to_json` may run on any
thread (it copies under a lock no audio or inference thread takes).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ravebox.config.box import BoxConfig, load_box
from ravebox.config.diagnostics import Diagnostic
from ravebox.errors import ConfigError, describe
from ravebox.mapping.reloader import LoadedMapping, MappingReloader, Reload
from ravebox.service.model_reload import ModelReloader
from ravebox.service.offmain import OffMainThread

log = logging.getLogger("ravebox.reload")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One part's last reload: ``message`` is whole sentences, every line of the reason kept."""

    ok: bool
    message: str
    at: str

    def to_json(self) -> dict:
        return {"ok": self.ok, "message": self.message, "at": self.at}


class ReloadRecord:
    """The last outcome of each part (``mapping``, ``box``, ``connect``, ``model <graph> <role>``)."""

    def __init__(self) -> None:
        self._parts: dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def note(self, part: str, ok: bool, message: str) -> Outcome:
        """Any thread but the audio ones: remember and log one part's outcome."""
        outcome = Outcome(ok, message, time.strftime("%H:%M:%S"))
        with self._lock:
            self._parts[part] = outcome
        (log.info if ok else log.error)("%s", message)
        return outcome

    def get(self, part: str) -> Outcome | None:
        with self._lock:
            return self._parts.get(part)

    def to_json(self) -> dict | None:
        """``{"ok": every part ok, "parts": {part: outcome}}``, None before the first reload."""
        with self._lock:
            parts = dict(self._parts)
        if not parts:
            return None
        return {"ok": all(o.ok for o in parts.values()), "parts": {k: o.to_json() for k, o in parts.items()}}


class RuleTarget(Protocol):
    """Where the box file's connect rules go (the JACK host)."""

    def set_connect_rules(self, rules: tuple) -> bool: ...


@dataclass(frozen=True, slots=True)
class PreparedReload:
    """A reload read and validated, nothing applied yet: the mapping, and the box file (None when refused)
    with its part's ``(ok, message)``."""

    mapping: LoadedMapping
    box: BoxConfig | None
    box_outcome: tuple[bool, str]


class BoxReload:
    """Reloads a running box's files; each part's outcome goes to :attr:`record`.

    ``graphs`` (name -> latent dims) lets a reloaded mapping's entries for a graph or a
    dimension the box lacks be reported, as at start-up.
    """

    def __init__(self, config_path: Path, mapping: MappingReloader, rules: RuleTarget, models: ModelReloader,
                 graphs: dict[str, int], record: ReloadRecord | None = None,
                 offmain: OffMainThread | None = None) -> None:
        self.config_path = config_path
        self.mapping_reloader = mapping
        self.rules = rules
        self.models = models
        self.graphs = graphs
        self.record = record or ReloadRecord()
        self.offmain = offmain            # where the file watch reads a changed mapping (None: on the caller)
        models.on_result = lambda part, ok, message: self.record.note(part, ok, message)

    def reload(self) -> dict:
        """Main thread: read and apply now (tests, tools; the daemon splits it, see the module docstring)."""
        return self.apply(self.prepare())

    def prepare(self) -> PreparedReload:
        """Any thread: read the box file, and so the mapping it names, once; changes nothing.

        When the box file itself is refused, the active mapping file is read alone (a broken
        box keeps its rules and models; a good mapping still reloads), unless what failed is
        the mapping (or its presets): that is the mapping's refusal, without reading it again.
        """
        mapping = self.mapping_reloader
        signature = mapping.signature()   # before reading: an edit made meanwhile is seen by the next look
        box, outcome, theirs = self._box()
        if box is not None:
            return PreparedReload(mapping.from_box(box.mapping, signature), box, outcome)
        if theirs:
            loaded = LoadedMapping(mapping.path, signature, error="\n".join(map(str, theirs)), invalid=True)
        else:
            loaded = self.load_mapping()
        return PreparedReload(loaded, None, outcome)

    def apply(self, prepared: PreparedReload) -> dict:
        """Main thread (SIGHUP, ``ravebox status reload``): every part; the reply says what each did.

        ``ok`` is false when any part was refused; ``message`` has one line (or more) per part.
        """
        mapping = self.install_mapping(prepared.mapping)
        box = prepared.box
        box_outcome = self.record.note("box", *prepared.box_outcome)
        lines = [mapping.message, box_outcome.message]
        answer: dict[str, object] = {}
        if box is not None:
            answer["connect"] = connect = self._connect(box)
            models = self.models.reload(box)
            lines += [connect, *(models or ["no model file changed"])]
            if models:
                answer["models"] = models
        ok = mapping.ok and box_outcome.ok and self.models.shape_ok
        message = "\n".join(lines)
        answer["ok"], answer["message"] = ok, message
        if not ok:
            answer["error"] = message
        return answer

    def load_mapping(self) -> LoadedMapping:
        """Any thread: the active mapping file read alone (the file watch; a reload whose box is refused)."""
        try:
            return self.mapping_reloader.load()
        except Exception as exc:  # noqa: BLE001 - no input file may stop the show
            return LoadedMapping(self.mapping_reloader.path, (), error=describe(exc))

    def install_mapping(self, loaded: LoadedMapping) -> Outcome:
        """Main thread: swap a read mapping in (or keep the current one) and note the mapping part."""
        try:
            result = self.mapping_reloader.install(loaded)
        except Exception as exc:  # noqa: BLE001 - no input file may stop the show
            return self.record.note("mapping", False, f"mapping not reloaded, keeping the current one: {describe(exc)}")
        return self.installed(result)

    def installed(self, result: Reload) -> Outcome:
        """Main thread: note a mapping swap made elsewhere (MIDI learn installs what it wrote)."""
        return self.record.note("mapping", result.ok, self._with_lacking(result.ok, result.message))

    def watch(self) -> None:
        """Main thread, once a second: a changed mapping file is read off this thread and swapped in here."""
        if self.offmain is not None and self.offmain.busy:
            return                        # a reload or a learn is reading; it brings the file up to date
        try:
            changed = self.mapping_reloader.changed()
        except Exception as exc:  # noqa: BLE001
            log.warning("mapping watch failed: %s", describe(exc))
            return
        if not changed:
            return
        if self.offmain is None:
            self.install_mapping(self.load_mapping())
        else:
            self.offmain.submit(self.load_mapping, self.install_mapping)

    def _with_lacking(self, ok: bool, message: str) -> str:
        """A reloaded mapping's message, plus its entries aimed at a graph or dimension the box lacks."""
        if not ok:
            return message
        lacking = self.mapping_reloader.runtime.mapping.unknown_targets(self.graphs)
        return message + "".join(f"\n  ignored in this box: {problem}" for problem in lacking)

    def _box(self) -> tuple[BoxConfig | None, tuple[bool, str], list[Diagnostic]]:
        """Any thread: the box file as it is on disk now (None when refused), its part's (ok, message), and
        the problems of the files it names (its mapping, presets) when those are what failed."""
        keeping = "box file not reloaded, keeping its connect rules and models"
        try:
            box = load_box(self.config_path)
        except ConfigError as exc:
            names = {str(self.config_path), _resolved(self.config_path)}
            own = [d for d in exc.diagnostics if not isinstance(d, Diagnostic) or d.file in names]
            theirs = [d for d in exc.diagnostics if isinstance(d, Diagnostic) and d.file not in names]
            if exc.diagnostics and not own:   # only a file it names failed (its mapping: said in that part)
                return None, (False, f"{keeping}: a file it names did not load (see the mapping)"), theirs
            return None, (False, f"{keeping}:\n{exc}"), theirs
        except Exception as exc:  # noqa: BLE001 - RecursionError, a symlink loop, ENAMETOOLONG, ...
            return None, (False, f"{keeping} ({self.config_path}): {describe(exc)}"), []
        return box, (True, f"box file {self.config_path} reloaded"), []

    def _connect(self, box: BoxConfig) -> str:
        rules = tuple(box.jack.connect)
        if not self.rules.set_connect_rules(rules):
            return "connect rules unchanged"
        return self.record.note("connect", True, f"{len(rules)} connect rule(s) reloaded").message


def _resolved(path: Path) -> str:
    """The name box diagnostics carry (``load_box`` resolves the path); the path itself if it cannot resolve."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(path)
