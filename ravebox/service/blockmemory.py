"""The auto block multiple each box chose at its last start on this machine (the daemon's state folder).

Why: ``engine/autoblock.py`` makes the last start's choice sticky within a band, so a
model whose work sits near a line plays at the same latency after every boot instead
of flipping between two (on this VM the full-size model played x2 at about 190 ms of
latency after some starts and x4 at about 330 ms after others).

"The same box on the same machine" is a key over what the choice depends on: the
models' files (resolved path, size, modification time), the graphs that play them,
the sample rate, torch's thread count and the machine (CPU model, core count).
Anything of it changed, the key is new and the block is decided afresh.

Where: ``$STATE_DIRECTORY`` (systemd's ``StateDirectory=ravebox``: /var/lib/ravebox),
else ``$XDG_STATE_HOME/ravebox``, else ``~/.local/state/ravebox``. A file that cannot
be read (missing, corrupt, not ours) is an empty memory; one that cannot be written
(a read-only root on a stage box) costs a warning, never the start. Written atomically
(``tomlwrite.atomic_write_text``): a crash mid-write leaves the old file. At most
:data:`KEEP` boxes are kept, the most recent.

Thread: the daemon's main thread, at start-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Protocol

from ravebox.config.box import BoxConfig
from ravebox.engine.autoblock import AUTO, MULTIPLES, BlockChoice
from ravebox.tomlwrite import atomic_write_text

log = logging.getLogger("ravebox.blockmemory")

FILE = "autoblock.json"
KEEP = 32


def state_folder() -> Path:
    """The daemon's state folder (see the module docstring)."""
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "ravebox"


def box_key(box: BoxConfig, sample_rate: int) -> str:
    """What the auto block's choice depends on, hashed (see the module docstring)."""
    models = []
    for name, spec in sorted(box.models.items()):
        try:
            st = spec.path.stat()
            models.append([name, str(spec.path), st.st_size, st.st_mtime_ns, spec.resample])
        except OSError:
            models.append([name, str(spec.path), None, None, spec.resample])
    graphs = [[g.name, g.kind, g.encoder, g.prior, list(g.decoders)] for g in box.graphs]
    machine = [platform.machine(), _cpu_model(), os.cpu_count()]
    text = json.dumps([models, graphs, int(sample_rate), box.output.torch_threads, machine])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.split(":")[0].strip() in ("model name", "Model"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


class BlockMemory:
    """``recall(key)`` the multiple the last start chose; ``remember(key, multiple)`` this one."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):   # missing, unreadable, not JSON, not UTF-8
            return {}
        boxes = data.get("boxes") if isinstance(data, dict) else None
        return {k: v for k, v in boxes.items() if isinstance(v, dict)} if isinstance(boxes, dict) else {}

    def recall(self, key: str) -> int | None:
        """The multiple the last start of this box chose here (None: none, or not one we know)."""
        return _multiple(self._read().get(key, {}))

    def remember(self, key: str, multiple: int) -> bool:
        """Keep ``multiple`` for the next start (False: could not write; logged)."""
        boxes = self._read()
        if _multiple(boxes.get(key, {})) == multiple:
            return True   # nothing new: a read-only root keeps quiet after its first start
        boxes.pop(key, None)
        boxes[key] = {"multiple": multiple, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        kept = dict(list(boxes.items())[-KEEP:])   # insertion order: the most recent last
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps({"version": 1, "boxes": kept}, indent=1) + "\n")
        except OSError as exc:
            log.warning("cannot remember the auto block multiple in %s (%s): the next start decides afresh",
                        self.path, exc)
            return False
        return True


def _multiple(entry: dict) -> int | None:
    multiple = entry.get("multiple")
    return multiple if type(multiple) is int and multiple in MULTIPLES else None


class ChoosingEngine(Protocol):
    """What :func:`remember_choice` reads of the engine (:class:`ravebox.engine.engine.Engine`)."""

    block_choice: BlockChoice

    def has_large_models(self) -> bool: ...


def remember_choice(memory: BlockMemory, key: str, engine: ChoosingEngine) -> None:
    """After start-up timing: keep a choice the auto block made (large models only: small ones
    never ask, so there is nothing to keep)."""
    if engine.block_choice.source == AUTO and engine.has_large_models():
        memory.remember(key, engine.block_choice.multiple)
