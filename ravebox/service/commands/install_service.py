"""`ravebox install-service`: users, folders and systemd units for a dedicated box.

Idempotent: every step checks first and says ``ok`` when nothing had to
change, so running it again after an upgrade is safe (it refreshes the units
and never overwrites the operator's config files). ``--dry-run`` only prints
the plan; ``--root DIR`` installs into a folder instead of ``/`` (tests,
image builds) and then never touches the running system.

Users come from a sysusers.d file applied by ``systemd-sysusers`` (the
distribution's own idempotent tool): ``ravebox`` (groups ravebox, ravebox-jack)
runs the daemon, ``ravebox-jack`` (groups ravebox-jack, audio) runs jackd. Only
members of ``ravebox-jack`` can join the JACK server (it plays and patches the
box); ``/var/lib/ravebox/models`` is ``root:ravebox`` 0750: the daemon reads the
models (TorchScript is code) and cannot rewrite them.

Runs in the operator's shell as root; imports no torch and no jack.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ravebox.errors import ServiceError

UNITS = ("ravebox-jackd.service", "ravebox.service")
LINK = "usr/local/bin/ravebox"
SYSUSERS = """\
# ravebox service users (installed by `ravebox install-service`)
g ravebox -
u ravebox -:ravebox "ravebox neural audio daemon" /var/lib/ravebox /usr/sbin/nologin
u ravebox-jack - "JACK server for ravebox" /var/lib/ravebox-jack /usr/sbin/nologin
m ravebox-jack audio
m ravebox ravebox-jack
"""
JACKD_ENV = """\
# JACK server settings for ravebox-jackd.service (read at every start).
# JACK_CARD is the card's id (the word in [brackets] in /proc/asound/cards, or
# `aplay -l`), not its number: numbers change with USB plug order, ids do not.
JACK_CARD={card}
JACK_RATE=48000
JACK_PERIOD=256
JACK_NPERIODS=3
JACK_PRIORITY=80
"""
RAVEBOX_ENV = """\
# Extra environment for ravebox.service, e.g.
# RAVEBOX_LOG_LEVEL=DEBUG
"""


@dataclass(frozen=True)
class Step:
    """One idempotent action: ``needed()`` says whether ``do()`` would change anything."""

    text: str
    needed: Callable[[], bool]
    do: Callable[[], None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="/", help="install into this folder instead of / (tests, images)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    parser.add_argument("--card", default="CODEC",
                        help="ALSA card id for jackd, as in /proc/asound/cards (default: CODEC); "
                             "only written when /etc/ravebox/jackd.env does not exist yet")
    parser.add_argument("--executable", default=None,
                        help="the ravebox program the units start (default: the one running this command)")
    parser.add_argument("--no-enable", action="store_true", help="install but do not enable the units at boot")
    parser.add_argument("--units-dir", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    try:
        steps = plan(root, units_dir(args.units_dir), executable(args.executable), args.card, not args.no_enable)
    except ServiceError as exc:
        print(f"ravebox install-service: {exc}", file=sys.stderr)
        return 2
    for step in steps:
        try:
            _carry_out(step, args.dry_run)
        except (ServiceError, OSError) as exc:
            print(f"FAILED  {step.text}: {exc}", file=sys.stderr)
            return 1
    _print_next_steps(root, args.dry_run)
    return 0


def _carry_out(step: Step, dry_run: bool) -> None:
    if not step.needed():
        print(f"ok      {step.text}")
    elif dry_run:
        print(f"would   {step.text}")
    else:
        step.do()
        print(f"done    {step.text}")


def plan(root: Path, units: Path, program: Path, card: str, enable: bool) -> list[Step]:
    """Every step in order: users, folders, config templates, program link, units, enable."""
    steps = [_sysusers_file(root), _apply_sysusers(root)]
    steps += [_folder(root, "etc/ravebox", 0o755, None), _folder(root, "var/lib/ravebox", 0o750, "ravebox"),
              _folder(root, "var/lib/ravebox/models", 0o750, "root:ravebox")]  # models are code: read-only
    steps += [_template(root / "etc/ravebox/jackd.env", JACKD_ENV.format(card=card)),
              _template(root / "etc/ravebox/ravebox.env", RAVEBOX_ENV)]
    steps.append(_link(root / LINK, program))
    steps += [_unit(root, units / name) for name in UNITS]
    doc = units.parent / "docs" / "dedicated-box.md"
    if doc.is_file():  # the units' Documentation= points here
        steps.append(_copy(doc, root / "usr/share/doc/ravebox/dedicated-box.md"))
    if root == Path("/"):
        steps.append(_daemon_reload())
    if enable:
        steps.append(_enable(root))
    if root == Path("/"):   # the installed package is the one running this command
        steps.append(_native_cycle())
    return steps


def units_dir(explicit: str | None) -> Path:
    """``systemd/`` of the source tree this package runs from (editable or source install)."""
    from ravebox.data import systemd_dir

    candidates = [Path(explicit)] if explicit else [systemd_dir()]
    for folder in candidates:
        if all((folder / name).is_file() for name in UNITS):
            return folder
    raise ServiceError(f"unit files not found in {', '.join(map(str, candidates))}")


def executable(explicit: str | None) -> Path:
    """The ``ravebox`` script of the running install, which the units will start."""
    program = Path(explicit) if explicit else Path(sys.executable).parent / "ravebox"
    if not program.is_file():
        raise ServiceError(f"no ravebox program at {program} (pass --executable)")
    hidden = _hidden_by_sandbox(program)
    if hidden:
        print(f"warning: {program} is under {hidden}; install ravebox in a venv such as /opt/ravebox instead",
              file=sys.stderr)
    return program.absolute()


def _hidden_by_sandbox(program: Path) -> str:
    """Why the service could not see ``program`` ("" when it can): ProtectHome= and PrivateTmp= hide folders."""
    real = program.resolve()
    if real.is_relative_to("/root") or real.is_relative_to("/home"):
        return "a home folder, which the sandbox (ProtectHome=yes) hides from the service"
    if real.is_relative_to("/tmp") or real.is_relative_to("/var/tmp"):
        return "a temporary folder, which the sandbox (PrivateTmp=yes) replaces with an empty one for the service"
    return ""


def _sysusers_file(root: Path) -> Step:
    path = root / "etc/sysusers.d/ravebox.conf"
    return Step(f"write {path}", lambda: _differs(path, SYSUSERS), lambda: _write(path, SYSUSERS, 0o644))


def _apply_sysusers(root: Path) -> Step:
    def missing() -> bool:
        names = {line.split(":", 1)[0] for line in _lines(root / "etc/passwd")}
        members = {line.split(":")[0]: line.rstrip().split(":")[3].split(",") for line in _lines(root / "etc/group")}
        return not ({"ravebox", "ravebox-jack"} <= names and "ravebox-jack" in members.get("audio", [])
                    and "ravebox" in members.get("ravebox-jack", []))

    def apply() -> None:
        tool = shutil.which("systemd-sysusers")
        if tool is None:
            raise ServiceError("systemd-sysusers not found: is this a systemd system?")
        _run([tool, f"--root={root}", str(root / "etc/sysusers.d/ravebox.conf")])

    return Step("create users ravebox and ravebox-jack (groups ravebox-jack, audio) with systemd-sysusers",
                missing, apply)


def _folder(root: Path, rel: str, mode: int, owner: str | None) -> Step:
    path = root / rel

    def needed() -> bool:
        if not path.is_dir():
            return True
        st = path.stat()
        try:
            wrong_owner = owner is not None and (st.st_uid, st.st_gid) != _ids(root, owner)
        except ServiceError:  # the user is not created yet (dry run)
            return True
        return (st.st_mode & 0o777) != mode or wrong_owner

    def make() -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        if owner is not None:
            os.chown(path, *_ids(root, owner))

    return Step(f"folder {path} mode {mode:o}{' owner ' + owner if owner else ''}", needed, make)


def _template(path: Path, text: str) -> Step:
    """Config the operator edits: written once, never overwritten."""
    return Step(f"config {path} (kept if it exists)", lambda: not path.exists(), lambda: _write(path, text, 0o644))


def _link(path: Path, program: Path) -> Step:
    def needed() -> bool:
        return not path.is_symlink() or Path(os.readlink(path)) != program

    def make() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(program)

    return Step(f"link {path} -> {program}", needed, make)


def _unit(root: Path, source: Path) -> Step:
    target = root / "etc/systemd/system" / source.name
    text = source.read_text()
    return Step(f"unit {target}", lambda: _differs(target, text), lambda: _write(target, text, 0o644))


def _copy(source: Path, target: Path) -> Step:
    text = source.read_text()
    return Step(f"copy {target}", lambda: _differs(target, text), lambda: _write(target, text, 0o644))


def _native_cycle() -> Step:
    """Build the JACK thread's native half beside its source now, as root: under systemd the package folder
    is read-only to the daemon, which would otherwise play through its Python process thread (last: a
    missing compiler fails this step only, and says what to install)."""
    from ravebox.host import nativebuild

    target = nativebuild.candidates()[0]

    def build() -> None:
        why = nativebuild.build(target)
        if why:
            raise ServiceError(why)

    return Step(f"build the JACK thread's native half {target}", lambda: not target.exists(), build)


def _daemon_reload() -> Step:
    return Step("systemctl daemon-reload", lambda: True, lambda: _run(["systemctl", "daemon-reload"]))


def _enable(root: Path) -> Step:
    wants = root / "etc/systemd/system/multi-user.target.wants"

    def needed() -> bool:
        return not all((wants / name).is_symlink() for name in UNITS)

    return Step(f"enable {' '.join(UNITS)} at boot", needed,
                lambda: _run(["systemctl", f"--root={root}", "enable", *UNITS]))


def _ids(root: Path, name: str) -> tuple[int, int]:
    """uid and gid of ``name`` (``user`` or ``user:group``) from ``root``'s passwd and group files
    (not the host's, under --root)."""
    if ":" in name:
        user, group = name.split(":", 1)
        for line in _lines(root / "etc/group"):
            fields = line.split(":")
            if fields[0] == group:
                return (0 if user == "root" else _ids(root, user)[0]), int(fields[2])
        raise ServiceError(f"group {group} not found in {root / 'etc/group'}")
    for line in _lines(root / "etc/passwd"):
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise ServiceError(f"user {name} not found in {root / 'etc/passwd'}")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _differs(path: Path, text: str) -> bool:
    return not path.is_file() or path.read_text() != text


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")


def _print_next_steps(root: Path, dry_run: bool) -> None:
    if dry_run or root != Path("/"):
        return
    print("\nnext: put box.toml in /etc/ravebox and models in /var/lib/ravebox/models, set JACK_CARD in "
          "/etc/ravebox/jackd.env, then: sudo systemctl start ravebox\n"
          "      to use `ravebox status` without sudo: sudo usermod -aG ravebox $USER (log in again)")
