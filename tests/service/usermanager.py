"""A real ``systemd --user`` manager in its own PID and mount namespace, for end-to-end tests.

Why this shape (found by trying on these machines, systemd 252, no systemd as PID 1):

- ``unshare --pid --ipc --fork --mount-proc --kill-child``: the manager gets a
  PID namespace whose init is a small shell; ending ``unshare`` kills that init
  and with it every process of the namespace, so nothing outlives the test.
- JACK keeps a machine-wide server registry (``/dev/shm/jack-shm-registry``
  and a SysV semaphore) with 8 slots, keyed by PIDs: servers killed inside a
  PID namespace would leak slots for the whole machine. So the namespace gets
  its own IPC namespace and its own ``/dev/shm``; JACK clients of the test
  join it with ``nsenter`` (:meth:`UserManager.run`).
- On this kernel the cpu controller (cgroup v1, RT group scheduling) gives new
  cgroups no realtime budget, so SCHED_FIFO fails with EPERM in any unit.
  The namespace unmounts that hierarchy, so services stay in the root cpu
  group, as on a cgroup-v2 box where systemd leaves the cpu controller off.
- systemd refuses to run unless ``/run/systemd/system`` exists ("not booted
  with systemd"), so the shell mounts a private tmpfs on ``/run/systemd`` first.
  The mount namespace keeps that invisible to the rest of the machine.
- ``/run`` must be a mount point, as on any booted system: units with
  ProtectProc=, ProcSubset=, ProtectKernelTunables=... mount a private tmpfs
  on ``/run`` when it is not one, which hides the notify socket.
- Options that hide paths (ProtectHome=yes, ProtectKernelLogs=...) mount
  the nodes of ``/run/systemd/inaccessible`` over them, which PID 1 creates at
  boot; the shell creates them in the private tmpfs (226/NAMESPACE otherwise).
- The manager must not be PID 1 of the namespace (it would act as a system
  manager), so the shell starts it as a child.
- ``systemctl --user`` needs the user's D-Bus, which the manager starts inside
  the namespace; systemctl is therefore run inside it with ``nsenter``.
- Services here run as other users than the manager (as they do on a box), so
  the manager's notify socket is opened to them (mode 0777, test only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

INIT = """
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
for c in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct; do umount "$c" 2>/dev/null; done
mountpoint -q /run || mount --bind /run /run
mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/system /run/systemd/inaccessible
cd /run/systemd/inaccessible && mkdir dir && touch reg && mkfifo fifo && mknod chr c 0 0 && mknod blk b 0 0
chmod 0000 dir reg fifo chr blk; cd /
/lib/systemd/systemd --user --log-target=console &
wait
"""


def available() -> str | None:
    """Why the end-to-end tests cannot run here, or None."""
    if os.getuid() != 0:
        return "needs root (namespaces, other service users)"
    for tool in ("unshare", "nsenter", "systemctl", "jackd"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    if not Path("/lib/systemd/systemd").exists():
        return "systemd not installed"
    return None


class UserManager:
    """Start with :meth:`start`, drive with :meth:`systemctl` and :meth:`show`, end with :meth:`close`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.runtime = base / "run"
        self.config = base / "config"
        self.units = self.config / "systemd" / "user"
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(base / "home"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(self.config),
            "XDG_STATE_HOME": str(base / "state"),
            "XDG_CACHE_HOME": str(base / "cache"),
            "XDG_DATA_HOME": str(base / "data"),
            "SYSTEMD_LOG_TARGET": "console",  # manager.log, not the host kernel log
        }
        self._proc: subprocess.Popen | None = None
        self.pid: int | None = None

    def start(self, timeout: float = 20.0) -> "UserManager":
        for name in ("run", "home", "state", "cache", "data"):
            (self.base / name).mkdir(mode=0o755, parents=True, exist_ok=True)
        self.units.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            ["unshare", "--pid", "--ipc", "--fork", "--mount-proc", "--kill-child", "sh", "-c", INIT],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.base / "manager.log", "ab"),
            stderr=subprocess.STDOUT)
        self.pid = self._wait_manager(timeout)
        notify = self.runtime / "systemd" / "notify"
        notify.chmod(0o777)
        return self

    def _wait_manager(self, timeout: float) -> int:
        """The manager's PID (seen from outside), once its private socket answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._manager_pid()
            if pid and (self.runtime / "systemd" / "notify").exists() and (self.runtime / "bus").exists():
                if self.systemctl("is-system-running", check=False).stdout.strip() in ("running", "degraded"):
                    return pid
            if self._proc.poll() is not None:
                raise RuntimeError(f"user manager exited: {(self.base / 'manager.log').read_text()}")
            time.sleep(0.2)
        raise RuntimeError("user manager did not come up")

    def _manager_pid(self) -> int | None:
        """unshare -> sh (namespace init) -> systemd --user."""
        for child in _children(self._proc.pid):
            for grandchild in _children(child):
                try:
                    comm = Path(f"/proc/{grandchild}/comm").read_text().strip()
                except OSError:  # a short-lived child exited meanwhile (ProcessLookupError)
                    continue
                if comm == "systemd":
                    self.pid = grandchild
                    return grandchild
        return None

    def systemctl(self, *args: str, check: bool = True, timeout: float = 240.0) -> subprocess.CompletedProcess:
        """``systemctl --user ARGS`` inside the manager's namespaces."""
        argv = ["nsenter", "-t", str(self.pid), "-m", "-p", "-i", "env", *(f"{k}={v}" for k, v in self.env.items()),
                "systemctl", "--user", "--no-pager", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"systemctl --user {' '.join(args)}: {result.returncode} {result.stderr}")
        return result

    def run(self, argv: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside the namespaces (same /dev/shm and IPC: a JACK client of the test)."""
        prefix = ["nsenter", "-t", str(self.pid), "-m", "-p", "-i", "env", *(f"{k}={v}" for k, v in (env or {}).items())]
        return subprocess.run(prefix + argv, capture_output=True, text=True, **kwargs)

    def popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """Like :meth:`run`, in the background (a JACK client that keeps running)."""
        prefix = ["nsenter", "-t", str(self.pid), "-m", "-p", "-i", "env", *(f"{k}={v}" for k, v in (env or {}).items())]
        return subprocess.Popen(prefix + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, unit: str, predicate, timeout: float, *props: str) -> dict[str, str]:
        """Poll ``show`` until ``predicate(props)`` holds; returns the props, or raises with the last seen."""
        deadline = time.monotonic() + timeout
        seen: dict[str, str] = {}
        while time.monotonic() < deadline:
            seen = self.show(unit, *props)
            if predicate(seen):
                return seen
            time.sleep(0.25)
        raise AssertionError(f"{unit}: condition not met within {timeout:g} s; last seen {seen}")

    def close(self) -> None:
        """Stop every unit, then end the namespace (idempotent)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self.systemctl("stop", "--all", "*.service", check=False, timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> "UserManager":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]
