"""The kiosk as it is really installed: its sdist and wheel built from the checkout, and
the wheel installed into a fresh virtual environment of its own, once per test session.

The build runs on a copy of the files git knows (tracked, and new ones not ignored), so
nothing left in the checkout (``build/``, ``*.egg-info``) can slip into the package or
hide a file missing from it. It goes as ``python -m build`` goes: the sdist from the
source, then the wheel from the unpacked sdist, with the build requirements pyproject.toml
names installed apart (the project's .venv is never used to build or to run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class Built:
    source: Path  # the copy the sdist was built from
    files: frozenset[str]  # every file of that copy, relative to it, as posix paths
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Installed:
    venv: Path
    site_packages: Path
    outside: Path  # a working directory outside the checkout
    env: dict[str, str]  # the environment, with nothing pointing Python at the checkout

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def run(
        self, name: str, *args: str, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """One of the installed commands (``kiosk``, ``kiosk-central``, ``python``)."""
        return subprocess.run(
            [str(self.bin(name)), *args],
            cwd=cwd or self.outside,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _git_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # --cached still lists a file deleted (or moved away) in the working tree.
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def _call(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """os.environ without what would point a Python at the checkout or at .venv."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        env.pop(name, None)
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    files = _git_files()
    for name in files:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)

    # The build requirements pyproject.toml names (setuptools), apart from everything else.
    requires = tomllib.loads((source / "pyproject.toml").read_text())["build-system"]["requires"]
    backend = base / "backend"
    _call(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(backend), *requires],
        cwd=base,
    )
    env = {**_clean_env(), "PYTHONPATH": str(backend)}
    build = "import sys; from setuptools import build_meta as b; print(b.{}(sys.argv[1]))"
    dist = base / "dist"
    # -S: no site-packages, so the backend sees only what it was given.
    sdist_name = _call(
        [sys.executable, "-S", "-c", build.format("build_sdist"), str(dist)], source, env
    )
    sdist = dist / sdist_name.strip().splitlines()[-1]
    unpacked = base / "unpacked"
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # Pythons before 3.11.4 have no filters
            archive.extraction_filter = tarfile.data_filter
        archive.extractall(unpacked)
    (sdist_root,) = unpacked.iterdir()
    wheel_name = _call(
        [sys.executable, "-S", "-c", build.format("build_wheel"), str(dist)], sdist_root, env
    )
    wheel = dist / wheel_name.strip().splitlines()[-1]
    assert wheel.is_file(), wheel
    return Built(source, frozenset(files), sdist, wheel)


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel in a fresh virtual environment; its dependencies come from the package
    index (or pip's cache), as on a kiosk."""
    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    env = _clean_env()
    # From within .venv, venv makes an environment of the interpreter .venv was made from:
    # nothing of .venv's packages is in it.
    _call([sys.executable, "-m", "venv", str(venv)], cwd=base, env=env)
    python = str(venv / "bin" / "python")
    _call([python, "-m", "pip", "install", "-q", str(built.wheel)], cwd=base, env=env)
    purelib = _call(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], base, env
    )
    outside = base / "elsewhere"
    outside.mkdir()
    return Installed(venv, Path(purelib.strip()), outside, env)
