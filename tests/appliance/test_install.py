"""scripts/install.sh into scratch roots, for real: pip installs the kiosk into a virtual
environment under the root, the installed commands run, and a second run changes nothing.

The release installed is the commit checked out (install.sh exports HEAD). The tests
install from a clone of this checkout, as a Pi's administrator does, with this checkout's
scripts/install.sh copied in: commits made meanwhile, and files changed but not
committed, leave the test alone. The installs need the network (PyPI) and take a minute
or so; the kiosk's and the central server's run side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).parents[2]
KIOSK_OPTIONS = ("--name", "branch-1", "--server", "https://central:8443")
INSTALL_TIMEOUT = 900  # a first install downloads Kivy and the rest from PyPI


def git(clone: Path, *arguments: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(clone), *arguments], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's HEAD, cloned, with the install.sh under test."""
    clone = tmp_path_factory.mktemp("clone") / "library-kiosk"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-local", str(CHECKOUT), str(clone)],
        capture_output=True,
        check=True,
    )
    (clone / "scripts/install.sh").write_bytes((CHECKOUT / "scripts/install.sh").read_bytes())
    return clone


def start_install(clone: Path, root: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(clone / "scripts/install.sh"), "--root", str(root), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root.parent,
    )


def finish(process: subprocess.Popen[str]) -> str:
    try:
        stdout, stderr = process.communicate(timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, stdout + stderr
    return stdout


def install(clone: Path, root: Path, *options: str) -> str:
    return finish(start_install(clone, root, *options))


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


def run(command: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """An installed command, from a folder outside the checkout."""
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )


@dataclass
class Installed:
    root: Path
    first: str
    second: str
    after_first: dict[str, tuple[str, int, str]]
    after_second: dict[str, tuple[str, int, str]]


@dataclass
class Roots:
    clone: Path
    kiosk: Installed
    central: Path
    central_output: str


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory, clone: Path) -> Roots:
    """A kiosk installed twice into one scratch root and, meanwhile, a central server into
    another."""
    base = tmp_path_factory.mktemp("install")
    token = base / "token"
    token.write_text("the-token\n")
    kiosk_root, central_root = base / "kiosk-root", base / "central-root"
    options = (*KIOSK_OPTIONS, "--token-file", str(token))
    central = start_install(clone, central_root, "--central")
    try:
        first = install(clone, kiosk_root, *options)
    finally:
        central_output = finish(central)
    after_first = tree(kiosk_root)
    second = install(clone, kiosk_root, *options)
    installed = Installed(kiosk_root, first, second, after_first, tree(kiosk_root))
    return Roots(clone, installed, central_root, central_output)


def test_install_twice_into_a_scratch_root(roots: Roots) -> None:
    kiosk = roots.kiosk
    root, first, second = kiosk.root, kiosk.first, kiosk.second
    assert kiosk.after_second == kiosk.after_first  # the second run changed nothing

    # Nothing on the real system was touched: those steps only said what they would run.
    assert "would run: apt-get install -y --no-install-recommends python3 python3-venv" in first
    assert "would run: useradd --system --user-group --home-dir /var/lib/kiosk" in first
    assert "--groups input,video,render,dialout kiosk" in first
    assert "would run: systemctl daemon-reload" in first
    assert "would run: systemctl daemon-reload" not in second  # nothing changed
    assert "would run: systemctl restart kiosk-sync.service kiosk.service" in first
    assert "installed: /etc/systemd/system/kiosk.service" in first
    assert "unchanged: /etc/systemd/system/kiosk.service" in second
    assert "kept: /etc/kiosk/kiosk.toml" in second

    # The program, for real: one virtual environment for the release, installed once.
    venv = os.readlink(root / "opt/kiosk/venv")
    release = venv.removeprefix("releases/")
    assert release == f"0.1.0-{git(roots.clone, 'rev-parse', '--short=9', 'HEAD').strip()}"
    assert f"release {release}: installing into /opt/kiosk/releases/{release}" in first
    assert f"release {release}: already installed" in second
    assert (root / "opt/kiosk" / venv / ".installed").is_file()
    assert (root / "opt/kiosk" / venv / "bin/kiosk").is_file()
    assert (root / "opt/kiosk/venv/bin/kiosk-central").is_file()
    assert not (root / "opt/kiosk/previous").exists()
    # Built from a clean export: nothing written into the checkout.
    assert not (roots.clone / "build").exists()
    assert not list(roots.clone.glob("*.egg-info"))
    assert (root / "opt/kiosk/docs/install.md").read_bytes() == (
        roots.clone / "docs/install.md"
    ).read_bytes()
    # The installed kiosk checked the installed settings and told its state, both runs.
    for output in (first, second):
        assert ": valid\n" in output
        assert "kiosk branch-1 (mode both), version 0.1.0: OUT OF SERVICE" in output
        assert "the mirror is empty" in output

    for unit in ("kiosk.service", "kiosk-sync.service"):
        installed = root / "etc/systemd/system" / unit
        assert installed.read_bytes() == (roots.clone / "systemd" / unit).read_bytes()
    assert not (root / "etc/systemd/system/kiosk-central.service").exists()
    assert os.readlink(root / "etc/systemd/system/graphical.target.wants/kiosk.service") == (
        "/etc/systemd/system/kiosk.service"
    )
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk-sync.service").is_symlink()
    rules = root / "etc/udev/rules.d/99-kiosk-scanners.rules"
    assert rules.read_bytes() == (roots.clone / "config/99-kiosk-scanners.rules").read_bytes()
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


def test_the_installed_kiosk_lends(roots: Roots, tmp_path: Path) -> None:
    """The installed commands, from outside the checkout: a demo library, then a checkout
    and the kiosk's status."""
    kiosk = str(roots.kiosk.root / "opt/kiosk/venv/bin/kiosk")
    version = run([kiosk, "--version"], tmp_path)
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout

    data = tmp_path / "data"
    built = run([kiosk, "demo-data", "--out", str(data)], tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    demo = json.loads((data / "demo-cards.json").read_text())
    patron = next(card for card in demo["cards"] if card["situation"] == "adult, nothing on loan")
    item = demo["items"]["NONFICTION"]["available"][0]

    token = tmp_path / "token"
    token.write_text("the-token\n")
    token.chmod(0o600)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nname = "branch-1"\ndata_dir = "{data}"\n\n'
        f'[server]\nurl = "https://central:8443"\ntoken_file = "{token}"\n\n'
        "[scanners]\nkeyboard = true\n"
    )
    checked = run([kiosk, "check-config", str(config)], tmp_path)
    assert checked.returncode == 0, checked.stderr
    checkout = ["checkout", "--card", patron["card"], "--pin", patron["pin"], "--item", item]
    lent = run([kiosk, "circ", "--data", str(data), *checkout], tmp_path)
    assert lent.returncode == 0, lent.stdout + lent.stderr
    status = run([kiosk, "status", "--config", str(config), "--json"], tmp_path)
    assert status.returncode == 0, status.stdout + status.stderr
    state = json.loads(status.stdout)
    assert state["version"] == "0.1.0"
    assert state["can_lend"] is True
    assert state["journal"]["pending"] == 1
    assert state["faults"] == []


def test_the_central_server_host(roots: Roots, tmp_path: Path) -> None:
    root, output = roots.central, roots.central_output
    assert (root / "etc/systemd/system/kiosk-central.service").read_bytes() == (
        roots.clone / "systemd/kiosk-central.service"
    ).read_bytes()
    # The SIP2 server is installed beside it, and left off until its accounts exist.
    assert (root / "etc/systemd/system/kiosk-central-sip2.service").read_bytes() == (
        roots.clone / "systemd/kiosk-central-sip2.service"
    ).read_bytes()
    assert not list(root.glob("etc/systemd/system/*.wants/kiosk-central-sip2.service"))
    for unit in (
        "kiosk-central-backup.service",
        "kiosk-central-backup.timer",
        "kiosk-central-notices.service",
        "kiosk-central-relay.service",
        "kiosk-central-import.service",
        "kiosk-central-import.timer",
    ):
        assert (root / "etc/systemd/system" / unit).read_bytes() == (
            roots.clone / "systemd" / unit
        ).read_bytes()
        assert not list(root.glob(f"etc/systemd/system/*.wants/{unit}"))
    # The daily forgetting is installed and on: privacy is the default.
    for unit in ("kiosk-central-forget.service", "kiosk-central-forget.timer"):
        assert (root / "etc/systemd/system" / unit).read_bytes() == (
            roots.clone / "systemd" / unit
        ).read_bytes()
    assert (root / "etc/systemd/system/timers.target.wants/kiosk-central-forget.timer").is_symlink()
    assert (root / "opt/kiosk/docs/sip2.md").is_file()
    assert not (root / "etc/systemd/system/kiosk.service").exists()
    assert not (root / "etc/kiosk").exists()
    assert "would run: useradd --system --user-group --home-dir /var/lib/kiosk-central" in output
    assert "would run: systemctl restart kiosk-central.service" in output
    assert "cage" not in output
    central = str(root / "opt/kiosk/venv/bin/kiosk-central")
    database = f"sqlite:///{tmp_path / 'central.db'}"
    initialised = run([central, "--db", database, "init"], tmp_path)
    assert initialised.returncode == 0, initialised.stderr
    added = run([central, "--db", database, "kiosk", "add", "branch-1"], tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip()


def test_the_site_file_is_never_overwritten_and_an_upgrade_keeps_the_previous_release(
    roots: Roots,
) -> None:
    """Last: it changes the kiosk's root."""
    root = roots.kiosk.root
    site = root / "etc/kiosk/kiosk.toml"
    site.write_text(site.read_text().replace('mode = "both"', 'mode = "return"'))
    # An older release in use before this one: the upgrade keeps it as "previous".
    (root / "opt/kiosk/releases/0.0.9-abcdef0").mkdir()
    current = os.readlink(root / "opt/kiosk/venv")
    (root / "opt/kiosk/venv").unlink()
    (root / "opt/kiosk/venv").symlink_to("releases/0.0.9-abcdef0")
    output = install(roots.clone, root, "--name", "other-name")
    assert 'mode = "return"' in site.read_text()
    assert 'name = "branch-1"' in site.read_text()
    assert os.readlink(root / "opt/kiosk/venv") == current
    assert os.readlink(root / "opt/kiosk/previous") == "releases/0.0.9-abcdef0"
    assert f"in use: release {current.removeprefix('releases/')} (before: 0.0.9-abcdef0)" in output
    assert "kiosk branch-1 (mode return), version 0.1.0" in output
