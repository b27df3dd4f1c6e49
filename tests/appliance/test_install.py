"""scripts/install.sh into a scratch root, twice: the second run changes nothing."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "install.sh"


def install(root: Path, *options: str) -> str:
    result = subprocess.run(
        [str(SCRIPT), "--root", str(root), *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def tree(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under root: its kind, permission bits, and content hash or link target."""
    found = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(directory) / name
            info = path.lstat()
            relative = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("dir", stat.S_IMODE(info.st_mode), "")
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[relative] = ("file", stat.S_IMODE(info.st_mode), digest)
    return found


def test_install_twice_into_a_scratch_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    token = tmp_path / "token"
    token.write_text("the-token\n")
    options = ("--name", "branch-1", "--server", "https://central:8443", "--token-file", str(token))
    first = install(root, *options)
    after_first = tree(root)
    second = install(root, *options)
    assert tree(root) == after_first

    # Nothing on the real system was touched: those steps only said what they would run.
    assert "would run: apt-get install -y --no-install-recommends python3 python3-venv" in first
    assert "would run: useradd --system --user-group --home-dir /var/lib/kiosk" in first
    assert "--groups input,video,render,dialout kiosk" in first
    assert "would run: systemctl daemon-reload" in first
    assert "would run: systemctl daemon-reload" not in second  # nothing changed
    assert "installed: /etc/systemd/system/kiosk.service" in first
    assert "unchanged: /etc/systemd/system/kiosk.service" in second
    assert "kept: /etc/kiosk/kiosk.toml" in second

    for unit in ("kiosk.service", "kiosk-sync.service"):
        installed = root / "etc/systemd/system" / unit
        assert installed.read_text() == (ROOT / "systemd" / unit).read_text()
    assert not (root / "etc/systemd/system/kiosk-central.service").exists()
    assert os.readlink(root / "etc/systemd/system/graphical.target.wants/kiosk.service") == (
        "/etc/systemd/system/kiosk.service"
    )
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk-sync.service").is_symlink()
    rules = root / "etc/udev/rules.d/99-kiosk-scanners.rules"
    assert rules.read_text() == (ROOT / "config/99-kiosk-scanners.rules").read_text()
    assert "pam_systemd.so" in (root / "etc/pam.d/kiosk").read_text()

    site = root / "etc/kiosk/kiosk.toml"
    config = tomllib.loads(site.read_text())
    assert config["kiosk"]["name"] == "branch-1"
    assert config["server"]["url"] == "https://central:8443"
    assert stat.S_IMODE(site.stat().st_mode) == 0o640
    assert (root / "etc/kiosk/token").read_text() == "the-token\n"
    assert stat.S_IMODE((root / "etc/kiosk/token").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "etc/kiosk").stat().st_mode) == 0o750
    assert (root / "var/lib/kiosk").is_dir()

    venv = os.readlink(root / "opt/kiosk/venv")
    assert venv.startswith("releases/0.1.0-")
    assert (root / "opt/kiosk" / venv).is_dir()
    assert not (root / "opt/kiosk/previous").exists()
    assert (root / "opt/kiosk/docs/install.md").read_text() == (
        ROOT / "docs/install.md"
    ).read_text()


def test_the_site_file_is_never_overwritten_and_an_upgrade_keeps_the_previous_release(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    install(root, "--name", "branch-1")
    site = root / "etc/kiosk/kiosk.toml"
    site.write_text(site.read_text().replace('mode = "both"', 'mode = "return"'))
    # An older release in use before this one: the upgrade keeps it as "previous".
    (root / "opt/kiosk/releases/0.0.9-abcdef0").mkdir()
    current = os.readlink(root / "opt/kiosk/venv")
    (root / "opt/kiosk/venv").unlink()
    (root / "opt/kiosk/venv").symlink_to("releases/0.0.9-abcdef0")
    output = install(root, "--name", "other-name")
    assert 'mode = "return"' in site.read_text()
    assert 'name = "branch-1"' in site.read_text()
    assert os.readlink(root / "opt/kiosk/venv") == current
    assert os.readlink(root / "opt/kiosk/previous") == "releases/0.0.9-abcdef0"
    assert f"in use: release {current.removeprefix('releases/')} (before: 0.0.9-abcdef0)" in output


def test_the_central_server_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    output = install(root, "--central")
    assert (root / "etc/systemd/system/kiosk-central.service").is_file()
    assert not (root / "etc/systemd/system/kiosk.service").exists()
    assert not (root / "etc/kiosk").exists()
    assert "would run: useradd --system --user-group --home-dir /var/lib/kiosk-central" in output
    assert "cage" not in output
