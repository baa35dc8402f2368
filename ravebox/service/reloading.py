"""A reload, part by part: the mapping, the box file, its connect rules and each model slot.

Why each part keeps its own outcome: one reload touches several files, and each
may be refused for its own reason while the others apply (a bad mapping next to
a good box file, one corrupt model of three). Status must tell each part's last
outcome in full -- a mapping's every error, not its first line; a box file's
TOML error, not "last reload ok" -- and ``ravebox status reload`` must exit 1
when any part was refused. A model swap finishes after the reply (it loads on a
thread of its own), so its outcome is noted when it ends and shown by status.

The old state keeps playing for every refused part; see ``Daemon.reload``.

Threads: :meth:`BoxReload.reload`, :meth:`BoxReload.mapping` and
:meth:`BoxReload.watch` run on the main thread; model swap threads call
:meth:`ReloadRecord.note`; :meth:`ReloadRecord.to_json` may run on any thread
(it copies under a lock no audio or inference thread takes).
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
from ravebox.mapping.reloader import MappingReloader
from ravebox.service.model_reload import ModelReloader

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


class BoxReload:
    """Reloads a running box's files; each part's outcome goes to :attr:`record`.

    ``graphs`` (name -> latent dims) lets a reloaded mapping's entries for a graph or a
    dimension the box lacks be reported, as at start-up.
    """

    def __init__(self, config_path: Path, mapping: MappingReloader, rules: RuleTarget, models: ModelReloader,
                 graphs: dict[str, int], record: ReloadRecord | None = None) -> None:
        self.config_path = config_path
        self.mapping_reloader = mapping
        self.rules = rules
        self.models = models
        self.graphs = graphs
        self.record = record or ReloadRecord()
        models.on_result = lambda part, ok, message: self.record.note(part, ok, message)

    def reload(self) -> dict:
        """Main thread (SIGHUP, ``ravebox status reload``): every part; the reply says what each did.

        ``ok`` is false when any part was refused; ``message`` has one line (or more) per part.
        """
        mapping = self.mapping()
        box, box_outcome = self._box()
        lines, answer = [mapping.message, box_outcome.message], {}
        if box is not None:
            answer["connect"] = self._connect(box)
            models = self.models.reload(box)
            lines += [answer["connect"], *(models or ["no model file changed"])]
            if models:
                answer["models"] = models
        ok = mapping.ok and box_outcome.ok and self.models.shape_ok
        answer.update(ok=ok, message="\n".join(lines))
        if not ok:
            answer["error"] = answer["message"]
        return answer

    def mapping(self) -> Outcome:
        """Main thread: reload the mapping file alone (MIDI learn, and as part of :meth:`reload`)."""
        try:
            result = self.mapping_reloader.reload()
        except Exception as exc:  # noqa: BLE001 - no input file may stop the show
            return self.record.note("mapping", False, f"mapping not reloaded, keeping the current one: {describe(exc)}")
        return self.record.note("mapping", result.ok, self._with_lacking(result.ok, result.message))

    def watch(self) -> None:
        """Main thread, once a second: reload the mapping when one of its files changed."""
        try:
            result = self.mapping_reloader.poll()
        except Exception as exc:  # noqa: BLE001
            log.warning("mapping watch failed: %s", describe(exc))
            return
        if result is not None:
            self.record.note("mapping", result.ok, self._with_lacking(result.ok, result.message))

    def _with_lacking(self, ok: bool, message: str) -> str:
        """A reloaded mapping's message, plus its entries aimed at a graph or dimension the box lacks."""
        if not ok:
            return message
        lacking = self.mapping_reloader.runtime.mapping.unknown_targets(self.graphs)
        return message + "".join(f"\n  ignored in this box: {problem}" for problem in lacking)

    def _box(self) -> tuple[BoxConfig | None, Outcome]:
        """The box file as it is on disk now (None when refused), and its noted outcome."""
        keeping = "box file not reloaded, keeping its connect rules and models"
        try:
            box = load_box(self.config_path)
        except ConfigError as exc:
            own = [d for d in exc.diagnostics if not isinstance(d, Diagnostic) or d.file == str(self.config_path)]
            if exc.diagnostics and not own:   # only a file it names failed (its mapping: said in that part)
                return None, self.record.note("box", False, f"{keeping}: a file it names did not load (see the mapping)")
            return None, self.record.note("box", False, f"{keeping}:\n{exc}")
        except Exception as exc:  # noqa: BLE001 - RecursionError, a symlink loop, ENAMETOOLONG, ...
            return None, self.record.note("box", False, f"{keeping} ({self.config_path}): {describe(exc)}")
        return box, self.record.note("box", True, f"box file {self.config_path} reloaded")

    def _connect(self, box: BoxConfig) -> str:
        rules = tuple(box.jack.connect)
        if not self.rules.set_connect_rules(rules):
            return "connect rules unchanged"
        return self.record.note("connect", True, f"{len(rules)} connect rule(s) reloaded").message
