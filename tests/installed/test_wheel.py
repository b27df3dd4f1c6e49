"""What the built sdist and wheel hold: every file of the package, so every file the code
opens at run time (the screens' layouts, the catalogs, the shipped defaults, the demo
policy, Alembic's environments, templates and migrations).

The expectation comes from the source tree, not from a list that can go stale: every file
under kiosk/ that git knows (tracked, or new and not ignored) must be in the wheel, and
nothing else. The named must-haves below say which of them the programs cannot start
without, so that a rule excluding them would be caught even with the files gone.
"""

from __future__ import annotations

import configparser
import tarfile
import zipfile
from fnmatch import fnmatch

from .conftest import Built

PACKAGE = "kiosk/"

# fnmatch's * also matches "/": "kiosk/*/app.kv" is app.kv in any folder of the package.
MUST_HAVE = (
    # the window and each screen's layout (kiosk/screens/app.py loads them by name)
    *(
        f"kiosk/*/{name}.kv"
        for name in (
            "app widgets welcome pin checkout account drop finish help staff out_of_service"
        ).split()
    ),
    # the catalogs (a missing one stopped an installed kiosk: UnknownLanguage 'es')
    "kiosk/*locale/kiosk.pot",
    "kiosk/*locale/es/LC_MESSAGES/kiosk.po",
    "kiosk/*locale/fr/LC_MESSAGES/kiosk.po",
    # the shipped kiosk.toml under the site's, and the demo library's policy
    "kiosk/*/defaults.toml",
    "kiosk/*/policy.example.toml",
    # Alembic: environment, template and first migration of mirror.db, journal.db, central
    *(
        f"kiosk/*{database}/{name}"
        for database in ("migrations/mirror", "migrations/journal", "central/migrations")
        for name in ("env.py", "script.py.mako", "versions/0001_*.py")
    ),
)


def wheel_files(built: Built) -> set[str]:
    with zipfile.ZipFile(built.wheel) as wheel:
        return {name for name in wheel.namelist() if ".dist-info/" not in name}


def sdist_files(built: Built) -> set[str]:
    with tarfile.open(built.sdist) as sdist:
        names = [member.name for member in sdist.getmembers() if member.isfile()]
    # Each name starts with the sdist's own folder, library_kiosk-VERSION/.
    return {name.split("/", 1)[1] for name in names}


def package_files(built: Built) -> set[str]:
    return {name for name in built.files if name.startswith(PACKAGE)}


def test_the_wheel_holds_every_file_of_the_package_and_nothing_else(built: Built) -> None:
    expected = package_files(built)
    held = wheel_files(built)
    assert sorted(expected - held) == [], (
        "missing from the wheel: add them to pyproject.toml [tool.setuptools.package-data]"
    )
    assert sorted(held - expected) == [], "in the wheel but not in the source tree"
    assert {name for name in expected if not name.endswith(".py")}, "no data files at all?"


def test_the_wheel_holds_what_the_programs_cannot_start_without(built: Built) -> None:
    held = wheel_files(built)
    missing = [pattern for pattern in MUST_HAVE if not any(fnmatch(n, pattern) for n in held)]
    assert missing == []
    # Every migration of each database, not only the first.
    for database in ("migrations/mirror", "migrations/journal", "central/migrations"):
        pattern = f"kiosk/*{database}/versions/*.py"
        in_source = {name for name in package_files(built) if fnmatch(name, pattern)}
        assert in_source, pattern
        assert in_source <= held


def test_the_commands_point_at_modules_in_the_wheel(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = wheel.read(entry_points).decode()
    parser = configparser.ConfigParser()
    parser.read_string(text)
    scripts = dict(parser["console_scripts"])
    assert set(scripts) == {"kiosk", "kiosk-central"}
    held = wheel_files(built)
    for target in scripts.values():
        module = target.split(":")[0].replace(".", "/")
        assert {f"{module}.py", f"{module}/__init__.py"} & held, target


def test_the_sdist_holds_the_package_and_what_builds_it(built: Built) -> None:
    held = sdist_files(built)
    assert sorted(package_files(built) - held) == [], "missing from the sdist"
    assert {"pyproject.toml", "README.md"} <= held
    # The wheel tested above was built from this sdist, unpacked, as `python -m build` does.
    assert built.wheel.parent == built.sdist.parent
