"""The greeting's read (issue 17) is one statement that every step of answers from an
index: on a mirror of two million items a card-to-screen p99 can only afford that."""

from __future__ import annotations

from pathlib import Path

from kiosk.store import world
from tests.circulation.library import BEN, CARDS, build


def plan(directory: Path, statement: str, parameters: tuple[object, ...]) -> list[str]:
    store = build(directory)
    try:
        with store.world() as opened:
            rows = opened._sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[3]) for row in rows]
    finally:
        store.close()


def test_the_greeting_and_the_patron_read_search_indexes_only(tmp_path: Path) -> None:
    greeting = plan(tmp_path / "a", world._GREETING, (0, BEN))
    patron = plan(tmp_path / "b", world._PATRON_BY_CARD, (0, CARDS[BEN]))
    # The one scan is of the patron's own loans, gathered by their indexes just before.
    scans = [step for step in greeting + patron if step.startswith("SCAN")]
    assert scans == ["SCAN m"], greeting + patron
    assert any("holds_by_patron" in step for step in greeting)
    assert any("loans_by_patron" in step for step in greeting)
    assert any("entries_lent_to" in step for step in greeting)
