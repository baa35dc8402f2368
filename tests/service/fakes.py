"""A fake daemon with the observer contract of ``ravebox.service.observers``, and a notify listener."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from ravebox.errors import ConfigError, RaveboxError


class FakeDaemon:
    """Records which thread ran each mutating command; health is settable."""

    def __init__(self) -> None:
        self.healthy = (True, "")
        self.xruns = 0
        self.late = 0
        self.preset = None
        self.panics = 0
        self.reloads = 0
        self.threads: dict[str, str] = {}
        self.learning = None

    @property
    def commands(self) -> "FakeDaemon":
        """The live commands (``Daemon.commands``): this fake answers them itself."""
        return self

    def status(self) -> dict:
        return {
            "state": "running",
            "clock": {"tempo_bpm": 123.4, "lock": "locked", "transport": "playing", "beat": 8.5},
            "gate_step": {"main": 3},
            "graphs": [{"name": "main", "models": ["percussion"], "block_ms": 42.7, "worker_ms": 12.5,
                        "muted": False}],
            "xruns": self.xruns,
            "late_blocks": self.late,
            "latency": {"frames": 2304, "ms": 48.0},
            "mapping": {"path": "/etc/ravebox/mapping.toml",
                        "last_reload": {"ok": True, "message": "12 rules", "at": "10:31:02"}},
            "params": {"main.temperature": 0.5},
            "preset": self.preset,
        }

    def prepare_reload(self) -> None:
        return None

    def apply_reload(self, prepared) -> dict:
        self.threads["reload"] = threading.current_thread().name
        self.reloads += 1
        if self.reloads == 2:
            raise ConfigError(["mapping.toml:3: cc.7: channel must be in range 1..16"])
        return {"ok": True, "mapping": "/etc/ravebox/mapping.toml"}

    def recall_preset(self, ref) -> dict:
        self.threads["preset"] = threading.current_thread().name
        if ref == "missing":
            raise RaveboxError("no preset 'missing'")
        self.preset = ref
        return {"preset": ref}

    def presets(self) -> dict:
        return {"presets": [{"name": "init", "program": 0, "file": "/p/init.toml"},
                            {"name": "verse", "program": 1, "file": "/p/verse.toml"}],
                "current": self.preset}

    def set_param(self, key: str, value: float) -> dict:
        self.threads["set"] = threading.current_thread().name
        if key != "mix.wet":
            raise ConfigError([f"set: {key}: unknown parameter"])
        self.params = {key: value}
        return {"ok": True, "message": f"{key} = {value:g}"}

    def save_preset(self, name: str) -> dict:
        self.threads["save"] = threading.current_thread().name
        self.saved = name
        return {"ok": True, "message": f"preset '{name}' saved to /p/{name}.toml"}

    def panic(self) -> dict:
        self.threads["panic"] = threading.current_thread().name
        self.panics += 1
        return {"muted": True, "reset": ["main"]}

    def health(self) -> tuple[bool, str]:
        return self.healthy


class NotifyListener:
    """A real AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self, folder: Path) -> None:
        self.path = str(folder / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)

    def messages(self) -> list[dict[str, str]]:
        """Every datagram received so far, parsed into ``{KEY: value}``."""
        out = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return out
            out.append(dict(line.split("=", 1) for line in data.decode().split("\n")))

    def env(self, watchdog_usec: int | None = 10_000_000) -> dict[str, str]:
        env = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            env.update(WATCHDOG_USEC=str(watchdog_usec), WATCHDOG_PID=str(os.getpid()))
        return env

    def close(self) -> None:
        self.sock.close()
