"""The daemon's status snapshot, gathered from each part's own report.

Each part answers for itself -- the host (JACK, latency, xruns, its control
loop and worker), the clock follower (tempo, lock, source, bar:beat), the gate
sequencer (current steps), the engine (per graph: failure, degradation, loop
state, rates, measured cost), the model slots (which file each plays), the
mapping (counters, entries aimed at what the box lacks) and the reload record
(each part's last outcome) -- and this module only puts the answers where
``ravebox status`` and the systemd status line read them (keys documented in
``service/observers.py``).

Threads: :meth:`StatusReport.snapshot` runs on the control-socket thread and
the main thread; every part it asks reads counters and immutable snapshots
only, without locks the audio path or the worker take.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ravebox.assembly import BoxParts
from ravebox.gates.sequencer import GateSequencer
from ravebox.service.model_reload import ModelReloader
from ravebox.service.reloading import ReloadRecord


class HostStatus(Protocol):
    """The JACK host as status reads it (:class:`ravebox.host.host.Host`)."""

    def status(self) -> dict[str, Any]: ...
    def now(self) -> int: ...
    def headroom_now(self) -> Any: ...


class EngineStatus(Protocol):
    """The engine as status reads it (:class:`ravebox.engine.engine.Engine`; test stand-ins alike)."""

    failed: dict[str, str]
    costs: dict[str, Any]

    def status(self) -> dict[str, dict[str, Any]]: ...
    def rate_status(self) -> dict[str, dict[str, Any]]: ...


class Reporter(Protocol):
    """An optional service's own status (MIDI learn, recording, OSC)."""

    def status(self) -> dict: ...


ENGINE_KEYS = ("failed", "degraded", "bad_blocks", "mutes", "block_multiple")


class StatusReport:
    """Gathers one JSON-able snapshot of a running box; see the module docstring."""

    def __init__(self, parts: Callable[[], BoxParts], host: HostStatus, models: ModelReloader, reloads: ReloadRecord,
                 mapping_path: Callable[[], object], extras: dict[str, Reporter | None],
                 state: Callable[[], str], started_at: float) -> None:
        self._parts = parts   # read per snapshot: a JACK restart at another rate replaces the parts
        self.host = host
        self.models = models
        self.reloads = reloads
        self.mapping_path = mapping_path
        self.extras = extras
        self.state = state
        self.started_at = started_at
        self.gates: GateSequencer | None = parts().gates(1)

    @property
    def parts(self) -> BoxParts:
        return self._parts()

    @property
    def engine(self) -> EngineStatus:
        """The engine of the parts in force (read per snapshot, as every part is)."""
        engine: EngineStatus = self.parts.engine
        return engine

    def snapshot(self) -> dict[str, Any]:
        host = self.host.status()
        state = self.state()
        if not host:
            return {"state": state}
        connected = host["jack"]["connected"]
        control, worker = host["control"], host["worker"]
        mapping = self.parts.mapping
        counters = {"xruns": host["xruns"], "unready_cycles": host["unready_cycles"], "late_blocks": host["late_blocks"],
                    "midi_dropped": host["midi_dropped"], "reconnects": host["jack"]["reconnects"],
                    **{k: v for k, v in control.items() if k != "realtime"},
                    **{k: v for k, v in worker.items() if k in ("worker_errors", "worker_skipped")},
                    **self._safety(host["graphs"]),
                    "preset_recalls": mapping.stats.recalls,
                    "mapping_unknown_graphs": mapping.stats.unknown_graphs,
                    "mapping_unknown_dims": mapping.stats.unknown_dims}
        jack = {**host["jack"], "realtime": {"worker": bool(worker.get("realtime")),
                                             "control": bool(control.get("realtime"))}}
        return {
            "state": "reconnecting" if state == "running" and not connected else state,
            "uptime_s": round(time.monotonic() - self.started_at, 1),
            "jack": jack,
            "clock": self.parts.follower.status(self.host.now()),
            "graphs": self._graphs(host, worker),
            "gate_step": self._gate_steps(),
            "late_blocks": host["late_blocks"], "xruns": host["xruns"], "unready_cycles": host["unready_cycles"],
            "latency": host["latency"],
            "warnings": host["warnings"],
            "mapping": {"path": str(self.mapping_path()), "last_reload": self._last("mapping"),
                        "ignored": mapping.mapping.unknown_targets(self.parts.store.graphs)},
            "reload": self.reloads.to_json(),
            "preset": mapping.last_preset,
            **{name: part.status() if part is not None else None for name, part in self.extras.items()},
            "alsa_inputs": host["alsa_inputs"],
            "params": self.parts.store.snapshot(),
            "counters": counters,
        }

    def _last(self, part: str) -> dict | None:
        outcome = self.reloads.get(part)
        return outcome.to_json() if outcome is not None else None

    def _gate_steps(self) -> dict[str, int]:
        """Current step (1-based) of each graph's selected pattern, as the sequencer places it."""
        if self.gates is None:
            return {}
        beat = self.parts.follower.view().beat_at(self.host.now())
        steps = {g: self.gates.current_step(beat, self.parts.store, g) for g in self.parts.store.graphs}
        return {g: s for g, s in steps.items() if s is not None}

    @staticmethod
    def _safety(graphs: dict[str, dict]) -> dict[str, int]:
        """The output stages' scrub and limiter counters, summed over graphs."""
        keys = ("nonfinite_samples", "clamped_samples", "limited_samples")
        return {key: sum(int(g.get("safety", {}).get(key, 0)) for g in graphs.values()) for key in keys}

    def _graphs(self, host: dict, worker: dict) -> list[dict]:
        engine = self.engine.status()
        rates = self.engine.rate_status()
        block_ms = round(1000.0 * host["latency"]["block"] / host["jack"]["sample_rate"], 2)
        muted = set(self.engine.failed) | set(worker.get("muted", ()))
        slots = self.models.playing()
        out = []
        for name, ports in host["graphs"].items():
            spec = self.parts.box.graph(name)
            models = [m for m in (spec.encoder, *spec.decoders, spec.prior) if m]
            own = engine.get(name) or {}
            item: dict[str, Any] = {
                "name": name, "models": list(dict.fromkeys(models)), "block_ms": block_ms,
                "muted": name in muted, "inputs": ports["inputs"], "outputs": ports["outputs"],
                "slots": {f"{slot.role}" + (f" {slot.index}" if slot.index is not None else ""): path
                          for slot, path in slots.items() if slot.graph == name},
                "rates": rates.get(name)}
            if "loop" in own:
                item["loop"] = {"state": own["loop"], "beats": own.get("loop_beats")}
            if "p99_ms" in worker:
                item["worker_ms"], item["worker_max_ms"] = worker["p99_ms"], worker["max_ms"]
                item["worker_max_cpu_ms"] = worker["max_cpu_ms"]
            item.update(self._measured(name))
            item.update({key: own[key] for key in ENGINE_KEYS if key in own})
            if "safety" in ports:
                item["safety"] = {k: ports["safety"][k] for k in ("nonfinite_samples", "clamped_samples",
                                                                  "limited_samples", "max_gain_reduction_db")}
            out.append(item)
        return out

    def _measured(self, graph: str) -> dict:
        """The graph's inference time measured at load (or its last swap), the headroom and its margin."""
        cost = self.engine.costs.get(graph)
        headroom = self.host.headroom_now()
        if cost is None or headroom is None:
            return {}
        total, budget = cost.total, headroom.budget_s
        return {"inference_ms": {"p50": round(1e3 * total.p50, 2), "p99": round(1e3 * total.p99, 2)},
                "headroom_ms": round(1e3 * budget, 3),
                "margin": round(1.0 - total.p99 / budget, 3) if budget > 0 else None}
