"""The import table of shared/docs/architecture.md, checked on every module's imports.

Every ``import`` and ``from ... import`` in the package is read, at any depth (inside
functions and ``TYPE_CHECKING`` blocks too: a lazy import is still a dependency), and
each must be one its part may make.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kiosk"
EVERYTHING_ON_THE_KIOSK = frozenset(
    {
        "common",
        "rules",
        "store",
        "circulation",
        "devices",
        "sync",
        "session",
        "screens",
        "config",
        "appliance",
    }
)

# part -> the parts of the project it may import (its own always allowed). "sync.protocol"
# and "devices.scan" name one module of a part.
ALLOWED: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "rules": frozenset(),
    "store": frozenset({"rules", "common"}),
    "circulation": frozenset({"rules", "store", "common"}),
    "devices": frozenset({"common"}),
    "sync": frozenset({"store", "rules", "common"}),
    "session": frozenset({"circulation", "devices.scan", "common"}),
    "screens": frozenset({"session"}),
    "config": frozenset({"common"}),
    "appliance": EVERYTHING_ON_THE_KIOSK,
    "commands": EVERYTHING_ON_THE_KIOSK | {"demo"},
    "demo": EVERYTHING_ON_THE_KIOSK | {"central", "commands"},
    "central": frozenset({"rules", "sync.protocol", "common"}),
    "": frozenset({"commands"}),  # kiosk/__init__.py and __main__.py
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    line: int
    target: str  # what it imports, dotted


def _part(dotted: str) -> str:
    """``kiosk.store.journal`` -> ``store``; ``kiosk`` itself -> ``""``."""
    pieces = dotted.split(".")
    return "" if len(pieces) == 1 or pieces[1].startswith("__") else pieces[1]


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports() -> Iterator[Import]:
    for module, path in _modules():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, node.lineno, alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    # ``from kiosk import screens`` imports a part; ``from x import name``
                    # imports from x.
                    whole = f"{base}.{alias.name}"
                    yield Import(module, node.lineno, whole if base == "kiosk" else base)


def _allowed(importer: str, target: str) -> bool:
    if not target.startswith("kiosk.") and target != "kiosk":
        return True
    source, wanted = _part(importer), _part(target)
    if wanted in ("", source) or target in ("kiosk", "kiosk.__init__"):
        return True
    allowed = ALLOWED[source]
    module = ".".join(target.split(".")[1:3])  # "sync.protocol", "devices.scan"
    return wanted in allowed or module in allowed


IMPORTS = list(_imports())


def test_the_reader_sees_every_part_and_its_imports() -> None:
    """The check is only as good as what it reads: every part is there, with imports."""
    parts = {_part(entry.module) for entry in IMPORTS}
    assert parts >= set(ALLOWED) - {""}, set(ALLOWED) - parts
    assert any(entry.target == "kivy.app" for entry in IMPORTS)
    # a lazy import inside a function is read too
    assert any(
        entry.module == "kiosk.commands.circ" and entry.target == "kiosk.store.store"
        for entry in IMPORTS
    )


@pytest.mark.parametrize(
    ("importer", "target", "allowed"),
    [
        ("kiosk.rules.decisions", "kiosk.common.money", False),
        ("kiosk.rules.decisions", "kiosk.rules.model", True),
        ("kiosk.session.flow", "kiosk.devices.scan", True),
        ("kiosk.session.flow", "kiosk.devices.printer", False),
        ("kiosk.config.loading", "kiosk.devices.settings", False),
        ("kiosk.central.api.app", "kiosk.sync.protocol", True),
        ("kiosk.central.api.app", "kiosk.sync.agent", False),
        ("kiosk.central.models", "kiosk.store.types", False),
        ("kiosk.sync.agent", "kiosk.central.models", False),
        ("kiosk.demo.loopback", "kiosk.central.process", True),
        ("kiosk.screens.app", "kiosk.session.flow", True),
        ("kiosk.screens.app", "kiosk.circulation.service", False),
        ("kiosk.store.journal", "sqlalchemy", True),
    ],
)
def test_the_table_itself(importer: str, target: str, allowed: bool) -> None:
    assert _allowed(importer, target) is allowed


def test_every_part_imports_only_what_the_architecture_allows() -> None:
    wrong = {
        f"{entry.module}:{entry.line} imports {entry.target}"
        for entry in IMPORTS
        if not _allowed(entry.module, entry.target)
    }
    assert sorted(wrong) == []


def test_kivy_is_imported_only_by_the_screens() -> None:
    wrong = [
        f"{entry.module}:{entry.line} imports {entry.target}"
        for entry in IMPORTS
        if entry.target.split(".")[0] == "kivy" and _part(entry.module) != "screens"
    ]
    assert wrong == []


def test_on_the_server_only_its_circulation_decides_a_lending_question() -> None:
    """The kiosks' API, the staff console, the portal and SIP2 call the decision path;
    none of them asks the rules itself."""
    deciders = {"decide_checkout", "decide_renewal", "assess_return", "assess_fault"}
    wrong = []
    for module, path in _modules():
        if not module.startswith("kiosk.central.") or module.startswith(
            "kiosk.central.circulation"
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kiosk.rules"):
                wrong += [f"{module} imports {a.name}" for a in node.names if a.name in deciders]
    assert wrong == []
