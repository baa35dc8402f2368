"""The shipped units: what the issue asks of them, verify-clean, exposure <= 2.0."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
# What a fresh machine has: no ravebox on PATH, only the checkout's .venv/bin/ravebox.
BARE_ENV = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def check_units(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "tools" / "check_units.sh"), *args], capture_output=True, text=True,
                          env=BARE_ENV)


def unit(name: str) -> dict[str, list[str]]:
    """``Section.Key`` -> every value, in order (systemd keys may repeat)."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key}", []).append(value)
    return out


def test_ravebox_unit_is_notify_bound_to_jackd_with_a_watchdog():
    u = unit("ravebox.service")
    assert u["Service.Type"] == ["notify"]
    assert u["Unit.BindsTo"] == ["ravebox-jackd.service"]
    assert u["Unit.After"] == ["ravebox-jackd.service"]
    assert u["Service.WatchdogSec"] == ["10"]
    assert u["Service.Restart"] == ["on-failure"]
    assert u["Service.User"] == ["ravebox"]
    assert u["Service.SupplementaryGroups"] == ["ravebox-jack"]
    assert u["Service.ExecStart"] == ["/usr/local/bin/ravebox run --config /etc/ravebox/box.toml"]
    assert u["Service.StateDirectory"] == ["ravebox"]
    assert u["Service.ConfigurationDirectory"] == ["ravebox"]
    assert u["Service.RestrictAddressFamilies"] == ["AF_UNIX AF_NETLINK"]
    assert "Service.RestrictRealtime" not in u  # the JACK client thread needs SCHED_FIFO
    assert u["Service.LimitRTPRIO"] == ["95"]


def test_ravebox_unit_writes_only_its_own_folders():
    u = unit("ravebox.service")
    assert u["Service.ProtectSystem"] == ["strict"]
    assert "Service.ReadWritePaths" not in u  # StateDirectory/RuntimeDirectory are the only writable paths
    assert "RAVEBOX_CONTROL_SOCKET=%t/ravebox/control.sock" in u["Service.Environment"]


def test_jackd_unit_picks_the_card_by_name_with_alsa_midi_bridge():
    u = unit("ravebox-jackd.service")
    exec_start = u["Service.ExecStart"][0]
    assert "-d hw:${JACK_CARD}" in exec_start and "hw:0" not in exec_start
    assert " -X seq " in exec_start
    assert u["Service.Restart"] == ["always"]
    assert u["Service.User"] == ["ravebox-jack"]
    assert u["Service.LimitRTPRIO"] == ["95"]
    assert u["Service.LimitMEMLOCK"] == ["infinity"]
    assert u["Service.DeviceAllow"] == ["char-alsa rw"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_check_units_script_passes_on_the_shipped_units():
    result = check_units()
    assert result.returncode == 0, result.stdout + result.stderr
    scores = [line for line in result.stdout.splitlines() if "exposure" in line]
    assert len(scores) == 2 and all(line.startswith("ok ") for line in scores)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_check_units_script_catches_an_ignored_bad_value(tmp_path):
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    result = check_units(str(tmp_path))
    assert result.returncode == 1
    assert "Failed to parse service restart specifier, ignoring: sometimes" in result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_check_units_script_catches_a_weak_sandbox(tmp_path):
    for path in UNITS.glob("*.service"):
        text = "\n".join(line for line in path.read_text().splitlines()
                         if not line.startswith(("Protect", "Private", "SystemCall", "Capability", "Restrict")))
        (tmp_path / path.name).write_text(text + "\n")
    result = check_units(str(tmp_path))
    assert result.returncode == 1
    assert "FAIL ravebox.service exposure" in result.stdout


def syscalls(group: str) -> set[str]:
    """Every syscall of a systemd syscall group, nested groups expanded."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, check=True)
    names: set[str] = set()
    for line in out.stdout.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        names |= syscalls(word) if word.startswith("@") else {word}
    return names


REALTIME_SYSCALLS = {"sched_setscheduler", "sched_setparam", "sched_setattr", "sched_get_priority_max",
                     "mlock", "mlockall", "munlockall"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("name", ["ravebox.service", "ravebox-jackd.service"])
def test_sandbox_keeps_realtime_scheduling(name):
    """What the end-to-end test cannot show on a machine without CAP_SYS_RESOURCE: SCHED_FIFO stays allowed."""
    u = unit(name)
    assert "Service.RestrictRealtime" not in u
    assert u["Service.LimitRTPRIO"] == ["95"] and u["Service.LimitMEMLOCK"] == ["infinity"]
    allowed = set()
    for entry in u["Service.SystemCallFilter"]:
        groups = entry.lstrip("~").split()
        members = set().union(*(syscalls(g) if g.startswith("@") else {g} for g in groups))
        allowed = allowed - members if entry.startswith("~") else allowed | members
    assert REALTIME_SYSCALLS <= allowed, REALTIME_SYSCALLS - allowed


def test_a_config_error_does_not_restart_loop():
    """``ravebox run`` exits 2 on a configuration error (one line); systemd must not retry that."""
    service = unit("ravebox.service")
    assert service["Service.Restart"] == ["on-failure"]
    assert service["Service.RestartPreventExitStatus"] == ["2"]


def test_jack_is_restricted_to_the_box_group_and_models_are_read_only():
    """Whoever joins the JACK server controls the box: only the ravebox-jack group, not all of audio."""
    jackd, box = unit("ravebox-jackd.service"), unit("ravebox.service")
    assert jackd["Service.Group"] == ["ravebox-jack"] and jackd["Service.SupplementaryGroups"] == ["audio"]
    for u in (jackd, box):
        env = " ".join(u["Service.Environment"])
        assert "JACK_PROMISCUOUS_SERVER=ravebox-jack" in env and "JACK_PROMISCUOUS_SERVER=audio" not in env
    assert box["Service.ReadOnlyPaths"] == ["/var/lib/ravebox/models"]
