"""The daemon's optional services, wired to a running box: MIDI learn, recording, OSC.

Why apart from the daemon: each needs a few callbacks into the host, the parts
and the reload; building them is wiring, not the daemon's lifecycle. Each
service owns its own thread rules (see its module); these functions run on the
main thread at start-up.
"""

from __future__ import annotations

import logging
from typing import Any

from ravebox.assembly import BoxParts
from ravebox.errors import ServiceError
from ravebox.mapping.reloader import Reload
from ravebox.params.table import ParamKey
from ravebox.service.offmain import OffMainThread
from ravebox.service.reloading import BoxReload

log = logging.getLogger("ravebox.daemon")


def learning(parts: BoxParts, reload: BoxReload, offmain: OffMainThread) -> Any:
    """MIDI learn into the active mapping file (captures on the control thread, writes off the main one)."""
    from ravebox.service.learning import LearnService

    def arm(capture: Any) -> None:
        parts.router.learner = capture   # one reference assignment; the control thread reads it per event

    def installed(result: Reload) -> None:
        reload.installed(result)         # noted as the mapping part of the reload record
    return LearnService(reload.mapping_reloader, arm, offmain.submit, installed,
                        pair_window=int(0.01 * parts.sample_rate))


def recording(parts: BoxParts, host: Any) -> Any:
    """Takes of the output (and the dry input) to FLAC; ``host.path`` is read per take (it changes on a
    reconnect at another period)."""
    from ravebox.service.recording import RecordingService

    return RecordingService(parts.box.record, lambda: host.path, parts.store)


class Unavailable:
    """A service that could not start, reporting why in status (``{"error": reason}``)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def status(self) -> dict:
        return {"error": self.reason}


def osc(parts: BoxParts, host: Any, learn: Any) -> tuple[Any, str | None]:
    """The OSC listener and None, only with ``[osc] port``; a port that cannot be bound is ``(None, reason)``
    (logged: the box plays on without OSC)."""
    from ravebox.mapping.learnfile import LearnTarget
    from ravebox.service.osc import OscService

    settings = parts.box.osc
    if not settings.enabled:
        return None, None
    store, runtime = parts.store, parts.mapping

    def set_param(key: ParamKey, value: float) -> None:
        host.post_control(lambda: store.set(key, value, host.now()))

    def recall(ref: str | int) -> None:
        host.post_control(lambda: runtime.recall(ref, host.now()))

    def learn_one(target: str, graph: str | None, dim: int | None) -> dict:
        return learn.request(LearnTarget(target, graph, dim))
    try:
        return OscService(settings, dict(store.graphs), set_param, recall, learn_one, store.snapshot).start(), None
    except ServiceError as exc:
        log.error("%s; running without OSC", exc)
        return None, str(exc)
