"""docs/security.md names the test behind each defence: each of those tests must exist,
so that the threat model cannot quietly point at a test that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    named = REFERENCE.findall(text)
    assert len(named) >= 30, "the threat model should name the tests behind its defences"
    missing = [
        f"{file}::{function}"
        for file, function in named
        if not (ROOT / file).is_file() or function not in _test_functions(ROOT / file)
    ]
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
