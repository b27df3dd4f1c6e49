"""The wheel installed into a fresh virtual environment, its commands run from a folder
outside the checkout, as `scripts/install.sh` installs a kiosk and staff then use it.

Every test drives the installed programs (``venv/bin/kiosk``, ``venv/bin/kiosk-central``)
in subprocesses; nothing here imports the kiosk from the checkout.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.screens.xvfb import run_kiosk

from .conftest import ROOT, Installed


@pytest.fixture(scope="module")
def central(installed: Installed) -> Path:
    """``kiosk-central init`` and ``demo-data`` into a folder laid out as
    ``kiosk run --demo --demo-dir`` keeps its own, with this kiosk registered."""
    directory = installed.outside / "central-demo"
    directory.mkdir()
    database = f"sqlite:///{directory / 'central.db'}"
    for command in (["init"], ["demo-data", "--out", str(directory)], ["init"]):
        done = installed.run("kiosk-central", "--db", database, *command)
        assert done.returncode == 0, done.stderr
    added = installed.run("kiosk-central", "--db", database, "kiosk", "add", "demo-kiosk", "--json")
    assert added.returncode == 0, added.stderr
    token = directory / "token"
    token.write_text(json.loads(added.stdout)["token"] + "\n")
    token.chmod(0o600)
    return directory


def cards(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((directory / "demo-cards.json").read_text())
    return loaded


def card(directory: Path, situation: str) -> dict[str, Any]:
    return next(c for c in cards(directory)["cards"] if c["situation"] == situation)


def test_the_commands_run_the_installed_package_not_the_checkout(installed: Installed) -> None:
    assert not installed.outside.is_relative_to(ROOT)
    assert not installed.venv.is_relative_to(ROOT)
    done = installed.run(
        "python",
        "-c",
        "import json, sys, kiosk; print(json.dumps([kiosk.__file__, sys.prefix, sys.path]))",
    )
    assert done.returncode == 0, done.stderr
    module, prefix, path = json.loads(done.stdout)
    assert Path(module) == installed.site_packages / "kiosk" / "__init__.py"
    assert Path(prefix) == installed.venv
    assert not [entry for entry in path if entry and Path(entry).is_relative_to(ROOT)]
    for command in ("kiosk", "kiosk-central"):
        shebang = installed.bin(command).read_text().splitlines()[0]
        assert shebang == f"#!{installed.bin('python')}", (command, shebang)
    version = installed.run("kiosk", "--version")
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout


def test_kiosk_central_init_and_demo_data(installed: Installed, central: Path) -> None:
    assert (central / "central.db").stat().st_size > 0
    demo = cards(central)
    assert len(demo["cards"]) >= 5
    assert demo["items"]["FICTION"]["available"]
    listed = installed.run(
        "kiosk-central", "--db", f"sqlite:///{central / 'central.db'}", "kiosk", "list"
    )
    assert listed.returncode == 0, listed.stderr
    assert "demo-kiosk" in listed.stdout


def test_kiosk_demo_data_then_a_checkout_from_the_terminal(installed: Installed) -> None:
    data = installed.outside / "kiosk-data"
    built = installed.run("kiosk", "demo-data", "--out", str(data))
    assert built.returncode == 0, built.stderr
    assert {"mirror.db", "journal.db", "demo-cards.json"} <= {p.name for p in data.iterdir()}
    adult = card(data, "adult, nothing on loan")
    book = cards(data)["items"]["FICTION"]["available"][0]
    sign_in = ("--card", adult["card"], "--pin", adult["pin"])
    lent = installed.run("kiosk", "circ", "--data", str(data), "checkout", *sign_in, "--item", book)
    assert lent.returncode == 0, lent.stdout + lent.stderr
    assert f"lent: {book}" in lent.stdout
    assert "Due back by" in lent.stdout
    account = installed.run("kiosk", "circ", "--data", str(data), "--json", "account", *sign_in)
    assert account.returncode == 0, account.stderr
    answer = json.loads(account.stdout)
    assert answer["first_name"] == adult["first_name"]
    assert len(answer["loans"]) == 1


SITE = """\
[kiosk]
name = "branch-1"
data_dir = "data"

[server]
url = "https://central.example:8443"
token_file = "token"
"""


def test_kiosk_check_config(installed: Installed) -> None:
    folder = installed.outside / "etc-kiosk"
    (folder / "data").mkdir(parents=True)
    token = folder / "token"
    token.write_text("secret-token\n")
    token.chmod(0o600)
    site = folder / "kiosk.toml"
    site.write_text(SITE)
    good = installed.run("kiosk", "check-config", str(site))
    assert (good.returncode, good.stdout) == (0, f"{site}: valid\n"), good.stderr
    site.write_text(SITE.replace('name = "branch-1"', 'name = "branch-1"\nmode = "chekout"'))
    bad = installed.run("kiosk", "check-config", str(site))
    assert bad.returncode == 2
    assert f"{site}:3: kiosk.mode: must be one of checkout, return, both" in bad.stderr
    assert "did you mean 'checkout'?" in bad.stderr


def test_a_scripted_run_reaches_checkout_in_spanish_and_in_english(
    installed: Installed,
    central: Path,
    display: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = installed.outside / tmp_path.name
    shutil.copytree(central, demo)
    adult = card(demo, "adult, nothing on loan")
    first, second = cards(demo)["items"]["FICTION"]["available"][:2]
    session = "scan {card}\npin {pin}\nscan {book}\npress done\npress no_receipt\n"
    script = (
        f"lang es\n{session.format(book=first, **adult)}"
        # The same card twice within [scanners] debounce_seconds (1) counts once.
        f"wait 1.5\n{session.format(book=second, **adult)}"
    )
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the run's environment is os.environ's
    run = run_kiosk(
        display, demo, script, kiosk=[str(installed.bin("kiosk"))], cwd=installed.outside
    )
    assert run.status == 0, run.output
    assert "Traceback" not in run.output

    run.first("welcome", "Escanee su carné de la biblioteca")
    spanish = [entry for entry in run.trace if entry["screen"] == "checkout"]
    assert spanish, run.screens()
    assert spanish[0]["language"] == "es"
    assert f"Hola, {adult['first_name']}" in spanish[0]["texts"]
    lent_es = run.first("checkout", "Fecha de devolución:")
    assert run.trace[lent_es]["language"] == "es"

    # The session over, the next patron meets the kiosk's own language: English.
    back = next(i for i in range(lent_es, len(run.trace)) if run.trace[i]["screen"] == "welcome")
    assert run.trace[back]["language"] == "en"
    english = [entry for entry in run.after(back) if entry["screen"] == "checkout"]
    assert english, run.screens()
    assert all(entry["language"] == "en" for entry in english)
    assert any(f"Hello {adult['first_name']}" in entry["texts"] for entry in english)
    assert any("Due back by" in text for entry in english for text in entry["texts"])
    assert run.screens()[-1] == "welcome"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_installed_server_serves_the_console_and_the_portal(
    installed: Installed, central: Path
) -> None:
    """``kiosk-central serve`` from the wheel: its templates, GOV.UK Frontend's macros and
    assets, and the start-up work each worker does (every template compiled, the subjects
    counted) come from the installed package, as they do from the checkout."""
    config = installed.outside / "serve-central.toml"
    config.write_text('[library]\nname = "Installed Library"\n', encoding="utf-8")
    port = _free_port()
    server = subprocess.Popen(
        [
            str(installed.bin("kiosk-central")),
            "--db",
            f"sqlite:///{central / 'central.db'}",
            "--config",
            str(config),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=installed.outside,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                staff = requests.get(f"{base}/staff/login", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, "the installed server stopped"
                assert time.monotonic() < deadline, "the installed server never answered"
                time.sleep(0.2)
        assert staff.status_code == 200
        assert 'name="username"' in staff.text
        assert "Installed Library" in staff.text
        portal = requests.get(f"{base}/my/login", timeout=5)
        assert portal.status_code == 200
        assert 'name="card"' in portal.text
        stylesheet = re.search(r'href="(/staff/static/[^"]+\.css)"', staff.text)
        assert stylesheet is not None
        assert requests.get(f"{base}{stylesheet.group(1)}", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output
