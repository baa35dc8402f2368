import shutil
import stat
from pathlib import Path

import pytest

from ravebox.service import cli

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemctl") is None,
                                reason="needs systemd-sysusers and systemctl")


@pytest.fixture
def program(tmp_path) -> Path:
    path = tmp_path / "opt" / "bin" / "ravebox"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def install(root: Path, program: Path, *extra: str, capsys=None) -> tuple[int, list[str]]:
    argv = ["install-service", "--root", str(root), "--executable", str(program), *extra]
    code = cli.main(argv)
    lines = capsys.readouterr().out.splitlines() if capsys else []
    return code, lines


def passwd(root: Path) -> dict[str, list[str]]:
    return {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}


def test_dry_run_changes_nothing(tmp_path, program, capsys):
    root = tmp_path / "root"
    code, lines = install(root, program, "--dry-run", capsys=capsys)
    assert code == 0
    assert lines and all(line.startswith("would ") for line in lines)
    assert not root.exists()


def test_install_creates_users_folders_units_and_links(tmp_path, program, capsys):
    root = tmp_path / "root"
    code, lines = install(root, program, "--card", "USB", capsys=capsys)
    assert code == 0 and all(line.startswith("done ") for line in lines), lines
    users = passwd(root)
    assert users["ravebox"][5:] == ["/var/lib/ravebox", "/usr/sbin/nologin"]
    assert "ravebox-jack" in users
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().splitlines()}
    assert groups["audio"] == ["ravebox-jack"]                    # only jackd touches the sound card
    assert groups["ravebox-jack"] == ["ravebox"]                  # only ravebox joins the JACK server
    models = (root / "var/lib/ravebox/models").stat()
    assert stat.S_IMODE(models.st_mode) == 0o750
    assert models.st_uid == 0 and models.st_gid == int(users["ravebox"][3])   # models are code: read-only
    for name in ("ravebox.service", "ravebox-jackd.service"):
        assert (root / "etc/systemd/system" / name).read_text() == (ROOT / "systemd" / name).read_text()
        assert (root / "etc/systemd/system/multi-user.target.wants" / name).is_symlink()
    assert (root / "usr/local/bin/ravebox").resolve() == program
    assert "JACK_CARD=USB\n" in (root / "etc/ravebox/jackd.env").read_text()
    assert (root / "usr/share/doc/ravebox/dedicated-box.md").read_text() == (ROOT / "docs/dedicated-box.md").read_text()


def test_second_run_is_all_ok_and_keeps_edited_config(tmp_path, program, capsys):
    root = tmp_path / "root"
    install(root, program, capsys=capsys)
    env = root / "etc/ravebox/jackd.env"
    env.write_text("JACK_CARD=Mine\n")
    code, lines = install(root, program, "--card", "Other", capsys=capsys)
    assert code == 0
    assert lines and all(line.startswith("ok ") for line in lines), lines
    assert env.read_text() == "JACK_CARD=Mine\n"


def test_changed_unit_and_moved_program_are_refreshed(tmp_path, program, capsys):
    root = tmp_path / "root"
    install(root, program, capsys=capsys)
    unit = root / "etc/systemd/system/ravebox.service"
    unit.write_text("[Service]\nExecStart=/old\n")
    moved = program.with_name("ravebox2")
    shutil.copy(program, moved)
    code, lines = install(root, moved, capsys=capsys)
    assert code == 0
    assert sorted(line.split()[0] for line in lines if not line.startswith("ok ")) == ["done", "done"]
    assert unit.read_text() == (ROOT / "systemd/ravebox.service").read_text()
    assert (root / "usr/local/bin/ravebox").resolve() == moved


def test_no_enable(tmp_path, program, capsys):
    root = tmp_path / "root"
    code, _ = install(root, program, "--no-enable", capsys=capsys)
    assert code == 0
    assert not (root / "etc/systemd/system/multi-user.target.wants").exists()


def test_missing_program_is_a_clear_error(tmp_path, capsys):
    code = cli.main(["install-service", "--root", str(tmp_path), "--executable", str(tmp_path / "nope")])
    assert code == 2
    assert "no ravebox program at" in capsys.readouterr().err


def test_a_program_under_tmp_is_warned_about(tmp_path, program, capsys):
    """PrivateTmp=yes gives the service an empty /tmp: a venv there would vanish for it."""
    assert str(program).startswith(("/tmp/", "/var/tmp/")), "pytest's tmp_path is expected under /tmp"
    code = cli.main(["install-service", "--root", str(tmp_path / "root"), "--executable", str(program), "--dry-run"])
    assert code == 0
    err = capsys.readouterr().err
    assert f"warning: {program} is under a temporary folder" in err and "PrivateTmp=yes" in err


def test_on_the_running_system_it_builds_the_jack_thread_s_native_half_last(monkeypatch, tmp_path):
    """As root on ``/`` the installed package's C half is built beside its source (the daemon cannot write
    there under systemd); without a compiler that step alone fails, saying what to install."""
    from ravebox.errors import ServiceError
    from ravebox.host import nativebuild
    from ravebox.service.commands import install_service

    target = tmp_path / "native" / nativebuild.library_name()
    monkeypatch.setattr(nativebuild, "candidates", lambda: [target])
    step = install_service._native_cycle()
    assert step.needed() and "native half" in step.text
    step.do()
    assert target.is_file() and not step.needed()
    target.unlink()
    monkeypatch.setattr(nativebuild, "compiler", lambda: None)
    with pytest.raises(ServiceError, match="no C compiler"):
        step.do()
    plan = install_service.plan(Path("/"), install_service.units_dir(None), Path("/usr/bin/true"), "CODEC", True)
    assert plan[-1].text == step.text
    assert not any("native half" in s.text for s in install_service.plan(
        tmp_path / "root", install_service.units_dir(None), Path("/usr/bin/true"), "CODEC", True))
