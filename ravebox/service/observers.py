"""Observers the composition root attaches to the daemon (systemd, control socket, log summaries).

Owned by the service layer. Contract with ``service/daemon.py``:

- An observer has ``on_ready(daemon)`` (called once JACK is connected and every
  model is loaded and warmed up), ``on_tick(daemon)`` (main thread, about once a
  second, also while unhealthy) and ``on_stopping(daemon)``. All three run on
  the main thread.
- The daemon exposes ``status() -> dict``, ``prepare_reload()`` (any thread: reads the files) and
  ``apply_reload(prepared) -> dict``, ``health() -> tuple[bool, str]``,
  ``learning`` (MIDI learn, or None), ``debug_hang_worker()`` and ``commands`` (the live commands:
  ``recall_preset(ref)``, ``presets()``, ``set_param(key, value)``, ``save_preset(name)``, ``panic()``,
  ``record(action)``, each returning a dict; ``service/live_values.py``).
- ``status()`` may also be called from the control-socket thread, so it must
  return a snapshot (plain JSON-able values) without taking locks the audio
  path or the worker holds; so must ``commands.presets()``. ``apply_reload`` and the other
  commands are only ever called on the main thread (queued from the socket, run in ``on_tick``).
- An observer with a ``status_key`` attribute and a ``status()`` method (any thread, plain values) is
  shown in the daemon's status under that key (the systemd observer: ``"systemd": {"enabled": true,
  "sent": 812, "dropped": 0, "failures": 0}``, datagrams the manager's full queue had no room for).
- ``health()`` is ``(True, "")`` while the JACK process callback advances and the
  inference worker commits blocks in time; ``(True, "degraded: ...")`` while blocks
  finish but none in time (an overloaded box still plays: reported, the watchdog
  still fed); ``(False, reason)`` when the box as a whole makes no progress (the
  callback stopped, no block finished, or one block outlasted the stall window:
  a hung model). The systemd watchdog ping is withheld only while it is false,
  so a hung worker gets the service restarted (``service/health.py``).

The ``status()`` keys that ``ravebox status`` and the systemd ``STATUS=`` line
read (every key optional; unknown keys are shown as they are)::

    {"state": "running",
     "uptime_s": 12.0,
     "jack": {"server": "default", "sample_rate": 48000, "period": 256},
     "clock": {"tempo_bpm": 120.0, "lock": "locked", "source": "midi_in <- TR-8",
               "transport": "running", "beat": 17.25, "bar_beat": "5:2"},
     "gate_step": {"main": 3},
     "graphs": [{"name": "main", "models": ["percussion"], "block_ms": 42.7,
                 "worker_ms": 12.1, "muted": false,
                 "slots": {"encoder": "/m/perc.ts", "decoder 0": "/m/perc.ts"},
                 "loop": {"state": "playing", "beats": 4.0}}],
     "late_blocks": 0, "xruns": 0,
     "latency": {"frames": 2304, "ms": 48.0},
     "mapping": {"path": "/etc/ravebox/mapping.toml",
                 "last_reload": {"ok": true, "message": "12 rules", "at": "10:31:02"},
                 "ignored": ["map[3] (line 20): graph 'voice' is not in this box"]},
     "reload": {"ok": false, "parts": {"mapping": {"ok": true, "message": "...", "at": "10:31:02"},
                                       "box": {"ok": false, "message": "box file not reloaded ...",
                                               "at": "10:31:02"},
                                       "model main decoder 0": {"ok": true, "message": "...", "at": "..."}}},
     "params": {"main.temperature": 0.5},
     "counters": {"xruns": 0, "late_blocks": 0, "midi_events": 1234, "midi_garbage": 0,
                  "mapping_unknown_graphs": 0, "mapping_unknown_dims": 0, "preset_recalls": 1}}
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from pathlib import Path

from ravebox.service import control_socket
from ravebox.service.logs import CounterSummary
from ravebox.service.notify import Notifier

log = logging.getLogger(__name__)

ENV_HANG = "RAVEBOX_DEBUG_HANG_FILE"


class Observer:
    """What the daemon (and the waiting loop) tells an observer, each call on the main thread.

    Subclass and override what you need; the others do nothing. Why a base class and not
    a probe per call: every observer then has all three hooks, and the daemon calls them."""

    def on_ready(self, daemon: Any) -> None:
        """JACK is connected and every model is loaded and warm (the box plays)."""

    def on_tick(self, daemon: Any) -> None:
        """About once a second, also while unhealthy."""

    def on_stopping(self, daemon: Any) -> None:
        """The box is about to stop (after the fade-out)."""

    #: shown in the daemon's status under this key (:meth:`status`), when set
    status_key: str | None = None

    def status(self) -> dict:
        """Any thread: plain values for the daemon's status (only read when ``status_key`` is set)."""
        return {}


def notify(observers: Sequence[Observer], hook: Callable[[Observer], None]) -> None:
    """Main thread: call ``hook`` on each observer; one that raises is logged, never fatal."""
    for observer in observers:
        try:
            hook(observer)
        except Exception:  # noqa: BLE001 - an observer must never take the box down
            log.exception("observer %s failed", type(observer).__name__)


def status_line(status: dict) -> str:
    """One line for systemd's ``STATUS=``: tempo, lock, xruns, late blocks, models (or why it waits)."""
    if status.get("state") == "waiting":
        return f"waiting: {status.get('reason', '?')}"
    clock = status.get("clock") or {}
    tempo = clock.get("tempo_bpm")
    tempo_text = f"{tempo:.1f} BPM" if isinstance(tempo, (int, float)) else "no tempo"
    lock = clock.get("lock", "?")
    models = ", ".join(_graph_summary(g) for g in status.get("graphs") or []) or "no models"
    return (f"{tempo_text} {lock} | xruns {status.get('xruns', '?')}, late {status.get('late_blocks', '?')}"
            f" | {models}")


def counters_of(status: dict) -> dict[str, float]:
    """The monotonic counters to summarize: ``counters``, else the top-level xruns/late_blocks."""
    counters = status.get("counters")
    if isinstance(counters, dict):
        return {k: v for k, v in counters.items() if isinstance(v, (int, float))}
    return {k: status[k] for k in ("xruns", "late_blocks") if isinstance(status.get(k), (int, float))}


def _graph_summary(graph: dict) -> str:
    name = graph.get("name", "?")
    models = "+".join(str(m) for m in graph.get("models") or []) or "-"
    muted = " MUTED" if graph.get("muted") else ""
    return f"{name}:{models}{muted}"


class SystemdObserver(Observer):
    """READY=1 at ``on_ready``, STATUS= when the summary changes, WATCHDOG=1 only while healthy, STOPPING=1.

    Main thread only. Why the watchdog follows ``health()`` and not just the
    tick: the main loop can be alive while the worker is stuck; systemd must
    see the silence to restart us.
    """

    status_key = "systemd"

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.ready = False
        self.healthy = True
        self.degraded = False
        self._last_status = ""

    def on_ready(self, daemon: object) -> None:
        text = self._summary(daemon)
        self.notifier.ready(text)
        self._last_status = text
        self.ready = True
        log.info("ready: %s", text)

    def on_tick(self, daemon: object) -> None:
        if not self.ready:
            return
        healthy, reason = _health(daemon)
        self._note_health(healthy, reason)
        if healthy and self.notifier.watchdog_usec is not None:
            self.notifier.watchdog()
        text = (f"UNHEALTHY: {reason}" if not healthy else
                f"{self._summary(daemon)} | DEGRADED: {reason.removeprefix('degraded: ')}" if reason else
                self._summary(daemon))
        if text != self._last_status:
            self.notifier.status(text)
            self._last_status = text

    def on_stopping(self, daemon: object) -> None:
        self.notifier.stopping("stopping")
        self.ready = False

    def status(self) -> dict:
        """Any thread: whether a manager listens, and the notifier's counts (plain ints)."""
        return {"enabled": self.notifier.enabled, **self.notifier.counts()}

    def _note_health(self, healthy: bool, reason: str) -> None:
        degraded = healthy and bool(reason)
        if healthy != self.healthy:
            if healthy:
                log.info("healthy again; watchdog pings resume")
            else:
                log.error("unhealthy, withholding the watchdog ping: %s", reason)
        if degraded and not self.degraded:
            log.warning("%s; watchdog pings continue", reason)
        elif healthy and not degraded and self.degraded:
            log.info("blocks in time again")
        self.healthy, self.degraded = healthy, degraded

    @staticmethod
    def _summary(daemon: object) -> str:
        try:
            return status_line(daemon.status())  # type: ignore[attr-defined]
        except Exception as exc:
            return f"status unavailable: {exc}"


def _health(daemon: object) -> tuple[bool, str]:
    try:
        healthy, reason = daemon.health()  # type: ignore[attr-defined]
    except Exception as exc:  # a health check that raises is a failed health check
        return False, f"health check raised {type(exc).__name__}: {exc}"
    return bool(healthy), str(reason)


class CounterLogObserver(Observer):
    """Logs one summary line of counter increments (xruns, late blocks...) per interval.

    Main thread. ``clock`` is injectable so tests need no sleeping.
    """

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self.summary = CounterSummary()
        self._next = 0.0

    def on_ready(self, daemon: object) -> None:
        self.summary.summarize(_counters(daemon))  # baseline: start-up counts are not news
        self._next = self.clock() + self.interval_s

    def on_tick(self, daemon: object) -> None:
        if self.clock() < self._next:
            return
        self._next = self.clock() + self.interval_s
        line = self.summary.summarize(_counters(daemon))
        if line:
            log.info("in the last %gs: %s", self.interval_s, line)

    def on_stopping(self, daemon: object) -> None:
        line = self.summary.summarize(_counters(daemon))
        if line:
            log.info("since the last summary: %s", line)


def _counters(daemon: object) -> dict[str, float]:
    try:
        return counters_of(daemon.status())  # type: ignore[attr-defined]
    except Exception:
        return {}


class DebugHangObserver(Observer):
    """Test hook for the watchdog: when the file ``$RAVEBOX_DEBUG_HANG_FILE`` appears, hold the worker.

    Main thread. The file is consumed (deleted) first, so the restarted
    process does not hang again: ``daemon.debug_hang_worker()`` holds the worker
    (the host's documented test switch). Only attached when the variable is set.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_ready(self, daemon: object) -> None:
        pass

    def on_tick(self, daemon: object) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        log.warning("debug: %s appeared; holding the inference worker so the watchdog fires", self.path)
        daemon.debug_hang_worker()  # type: ignore[attr-defined]

    def on_stopping(self, daemon: object) -> None:
        pass


class PresetRecallObserver(Observer):
    """Logs every preset recall, however it came (MIDI, socket, knob); main thread, each tick.

    Reads ``counters.preset_recalls`` and ``preset`` from the daemon's status."""

    def __init__(self) -> None:
        from ravebox.service.live_values import RecallLog

        self.recalls = RecallLog()

    def on_ready(self, daemon: object) -> None:
        pass

    def on_tick(self, daemon: object) -> None:
        try:
            status = daemon.status()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a status that raises is logged by the systemd observer
            return
        count = (status.get("counters") or {}).get("preset_recalls")
        if isinstance(count, int):
            self.recalls.tick(count, status.get("preset"))

    def on_stopping(self, daemon: object) -> None:
        self.on_tick(daemon)   # a recall in the last second is still logged


def default_observers(socket_path: str | None = None, env: Mapping[str, str] | None = None) -> list[Observer]:
    """The observers ``ravebox run`` attaches: systemd notification, control socket, counter summaries.

    The socket path is ``socket_path`` (``ravebox run --control-socket``), else
    ``$RAVEBOX_CONTROL_SOCKET``, else ``/run/ravebox/control.sock``.
    ``$RAVEBOX_DEBUG_HANG_FILE`` adds the watchdog test hook.
    """
    from ravebox.service.socket_observer import ControlSocketObserver

    env = os.environ if env is None else env
    path = socket_path or control_socket.default_path(env)
    observers: list[Observer] = [SystemdObserver(Notifier(env=env)), ControlSocketObserver(path), CounterLogObserver(),
                               PresetRecallObserver()]
    if env.get(ENV_HANG):
        observers.append(DebugHangObserver(env[ENV_HANG]))
    return observers
