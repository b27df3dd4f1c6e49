"""``kiosk demo-data`` and ``kiosk circ`` as staff run them: real processes, real files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.common.check_digits import gs1_valid, valid_library_barcode


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data = tmp_path_factory.mktemp("demo") / "data"
    run = kiosk(
        "demo-data",
        "--out",
        str(data),
        "--items",
        "3000",
        "--patrons",
        "400",
        "--loans",
        "500",
        "--seed",
        "7",
    )
    assert run.returncode == 0, run.stderr
    assert "3000 items, 400 patrons, 500 loans" in run.stdout
    return data, json.loads((data / "demo-cards.json").read_text())


def test_demo_data_is_deterministic_and_valid(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    data, cards = demo
    again = tmp_path / "again"
    assert (
        kiosk(
            "demo-data",
            "--out",
            str(again),
            "--items",
            "3000",
            "--patrons",
            "400",
            "--loans",
            "500",
            "--seed",
            "7",
        ).returncode
        == 0
    )
    assert json.loads((again / "demo-cards.json").read_text()) == cards
    with sqlite3.connect(data / "mirror.db") as mirror:
        barcodes = [row[0] for row in mirror.execute("SELECT barcode FROM items")]
        assert len(barcodes) == 3000
        assert all(code.startswith("3") and valid_library_barcode(code) for code in barcodes)
        patrons = [row[0] for row in mirror.execute("SELECT card FROM patrons")]
        assert all(card.startswith("2") and valid_library_barcode(card) for card in patrons)
        isbns = [
            row[0] for row in mirror.execute("SELECT isbn FROM records WHERE isbn IS NOT NULL")
        ]
        assert isbns
        assert all(gs1_valid(isbn) for isbn in isbns)
        overdue = mirror.execute(
            "SELECT count(*) FROM loans WHERE substr(due, 1, 10) < date('now')"
        ).fetchone()[0]
        assert overdue > 0
        assert mirror.execute("SELECT count(*) FROM holds WHERE ready").fetchone()[0] > 0
        assert mirror.execute("SELECT count(*) FROM patrons WHERE barred").fetchone()[0] > 0
        verifiers = [row[0] for row in mirror.execute("SELECT DISTINCT pin_verifier FROM patrons")]
        assert all(verifier.startswith("$argon2id$") for verifier in verifiers)
    situations = {card["situation"] for card in cards["cards"]}
    assert {"barred", "expired", "has overdue loans", "has loans"} <= situations
    assert set(cards["items"]) == {"FICTION", "NONFICTION", "TEXTBOOK", "DVD", "REFERENCE"}
    assert cards["items"]["FICTION"]["available"]


def card_in(
    cards: dict[str, Any], situation: str, member_type: str | None = None
) -> dict[str, Any]:
    return next(
        card
        for card in cards["cards"]
        if card["situation"] == situation and member_type in (None, card["member_type"])
    )


def test_circ_checkout_account_renew_and_return_from_the_terminal(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    data, cards = demo
    adult = card_in(cards, "adult, nothing on loan")
    item = cards["items"]["FICTION"]["available"][0]
    patron = ["--card", adult["card"], "--pin", adult["pin"]]

    lent = kiosk("circ", "--data", str(data), "--json", "checkout", *patron, "--item", item)
    assert lent.returncode == 0, lent.stderr
    answer = json.loads(lent.stdout)
    assert answer["status"] == "lent"
    assert answer["due"]
    with sqlite3.connect(data / "journal.db") as journal:
        assert journal.execute(
            "SELECT kind FROM entries WHERE id = ?", (answer["entry_id"],)
        ).fetchone() == ("checkout",)

    account = kiosk("circ", "--data", str(data), "account", *patron)
    assert account.returncode == 0
    assert account.stdout.startswith(f"{adult['first_name']}: 1 on loan")
    assert item in account.stdout

    renewed = kiosk("circ", "--data", str(data), "--json", "renew", *patron)
    assert [json.loads(line)["status"] for line in renewed.stdout.splitlines()] == ["renewed"]

    back = kiosk("circ", "--data", str(data), "return", "--item", item)
    assert back.returncode == 0
    assert back.stdout.startswith(f"returned: {item} ")
    assert "bin 2 (Shelf, green)" in back.stdout
    for output in (lent.stdout, account.stdout, renewed.stdout, back.stdout, lent.stderr):
        assert adult["card"] not in output
        assert adult["pin"] not in output


def test_circ_refusals_exit_1_with_the_reason(demo: tuple[Path, dict[str, Any]]) -> None:
    data, cards = demo
    barred = card_in(cards, "barred")
    item = cards["items"]["NONFICTION"]["available"][1]
    run = kiosk(
        "circ",
        "--data",
        str(data),
        "checkout",
        "--card",
        barred["card"],
        "--pin",
        barred["pin"],
        "--item",
        item,
    )
    assert run.returncode == 1
    assert run.stdout.startswith("refused: ")
    assert "can't be used to borrow" in run.stdout
    wrong = kiosk(
        "circ", "--data", str(data), "account", "--card", barred["card"], "--pin", "99999"
    )
    assert (wrong.returncode, wrong.stdout.split(":")[0]) == (1, "wrong_pin")
    unknown = kiosk("circ", "--data", str(data), "return", "--item", "39999999999999")
    assert unknown.returncode == 1
    assert unknown.stdout == (
        "unknown_item: 39999999999999: Thank you. Please put this item in the staff bin. "
        "[bin 3 (Staff, red), fine 0.00]\n"
    )


def test_circ_on_an_empty_data_directory_is_out_of_service(tmp_path: Path) -> None:
    run = kiosk("circ", "--data", str(tmp_path / "new"), "return", "--item", "30000000000038")
    assert run.returncode == 3
    assert (
        run.stdout
        == "out of service (mirror_empty): This kiosk is out of service. Please see a member of staff.\n"
    )


@pytest.mark.parametrize(("flag", "value"), [("--items", "-1"), ("--patrons", "-5")])
def test_demo_data_rejects_negative_sizes(tmp_path: Path, flag: str, value: str) -> None:
    run = kiosk("demo-data", "--out", str(tmp_path), flag, value)
    assert run.returncode == 2
    assert f"{flag} must be 0 or more" in run.stderr


def test_circ_words_its_answers_with_the_screens_catalogs_in_the_language_asked(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    data, _ = demo
    unknown = ["return", "--item", "39999999999999"]
    spanish = kiosk("circ", "--lang", "es", "--data", str(data), *unknown)
    assert spanish.returncode == 1
    assert spanish.stdout == (
        "unknown_item: 39999999999999: Gracias. Ponga este documento en el contenedor del "
        "personal. [bin 3 (Staff, red), fine 0.00]\n"
    )
    french = kiosk("circ", "--data", str(data), *unknown, "--json", "--lang", "fr")
    answer = json.loads(french.stdout)
    assert list(answer) == [
        "status",
        "barcode",
        "title",
        "message",
        "bin",
        "fine",
        "overdue_days",
        "entry_id",
        "destination",  # the branch a copy in the transfer bin goes to (issue 21)
    ]
    assert answer["destination"] is None
    assert answer["message"] == "Merci. Mettez ce document dans le bac du personnel."
    closed = kiosk("circ", "--data", str(tmp_path / "new"), "--lang", "es", *unknown)
    assert (closed.returncode, closed.stdout) == (
        3,
        "out of service (mirror_empty): Esta máquina está fuera de servicio. "
        "Diríjase al personal de la biblioteca.\n",
    )
    assert kiosk("circ", "--data", str(data), "--lang", "de", *unknown).returncode == 2


def test_circ_json_keeps_its_fields_with_each_message_worded(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    data, cards = demo
    barred = card_in(cards, "barred")
    item = cards["items"]["NONFICTION"]["available"][1]
    patron = ["--card", barred["card"], "--pin", barred["pin"]]
    refused = kiosk("circ", "--data", str(data), "--json", "checkout", *patron, "--item", item)
    answer = json.loads(refused.stdout)
    assert list(answer) == [
        "status",
        "barcode",
        "title",
        "message",
        "due",
        "refusals",
        "hold_fulfilled",
        "entry_id",
        "offline_limit",
        "hold_offered",
    ]
    # A barred card may place no hold: a refusal never offers one then.
    assert answer["hold_offered"] is False
    assert answer["refusals"][0] == {
        "reason": "patron_barred",
        "message": "Your card can't be used to borrow at the moment. Please see a member of staff.",
    }
    assert answer["message"] == " ".join(refusal["message"] for refusal in answer["refusals"])
    wrong = kiosk(
        "circ", "--data", str(data), "--json", "account", "--card", barred["card"], "--pin", "1"
    )
    answer = json.loads(wrong.stdout)
    assert list(answer) == [
        "status",
        "message",
        "session",
        "attempts_left",
        "locked_until",
        "greeting",
    ]
    assert answer["message"].startswith("That PIN is not right. Please try again (")


def test_circ_json_says_a_hold_is_offered_for_a_copy_lent_to_another(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    data, cards = demo
    lender, asker = [
        card for card in cards["cards"] if card["situation"] == "adult, nothing on loan"
    ][:2]
    item = cards["items"]["FICTION"]["available"][2]

    def checkout(card: dict[str, Any]) -> dict[str, Any]:
        patron = ["--card", card["card"], "--pin", card["pin"]]
        run = kiosk("circ", "--data", str(data), "--json", "checkout", *patron, "--item", item)
        answer: dict[str, Any] = json.loads(run.stdout)
        return answer

    try:
        assert checkout(lender)["status"] == "lent"
        refused = checkout(asker)
        assert refused["status"] == "refused"
        assert [refusal["reason"] for refusal in refused["refusals"]] == ["item_unavailable"]
        assert refused["hold_offered"] is True
    finally:
        assert kiosk("circ", "--data", str(data), "return", "--item", item).returncode == 0


def test_circ_hold_places_a_hold_on_the_title_of_a_copy_lent_to_another(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    """The terminal's "Place a hold on this title": journaled for the server (an entry
    of its own naming no item), and refused a second time with the kiosk's words."""
    data, cards = demo
    adults = [card for card in cards["cards"] if card["situation"] == "adult, nothing on loan"]
    lender, asker = adults[0], adults[2]
    item = cards["items"]["FICTION"]["available"][3]
    lend = ["--card", lender["card"], "--pin", lender["pin"], "--item", item]
    ask = ["--card", asker["card"], "--pin", asker["pin"], "--item", item]
    try:
        assert kiosk("circ", "--data", str(data), "checkout", *lend).returncode == 0
        placed = kiosk("circ", "--data", str(data), "--json", "hold", *ask)
        assert placed.returncode == 0, placed.stdout + placed.stderr
        answer = json.loads(placed.stdout)
        assert answer["status"] == "placed"
        assert answer["message"] == (
            "Your hold is placed. We will tell you when a copy is ready for you."
        )
        with sqlite3.connect(data / "journal.db") as journal:
            kinds = [row[0] for row in journal.execute("SELECT kind FROM entries")]
        assert kinds.count("hold") == 1
        again = kiosk("circ", "--data", str(data), "hold", *ask)
        assert again.returncode == 1
        assert again.stdout.startswith(f"waiting: {item} ")
        assert kiosk("circ", "--data", str(data), "hold", "--card", asker["card"]).returncode == 2
    finally:
        assert kiosk("circ", "--data", str(data), "return", "--item", item).returncode == 0
