"""SIP2 conformance: every message the handlers answer, good and bad, in raw bytes over
real TCP to the real ``kiosk-central sip2 serve``, on SQLite and PostgreSQL.

The requests are written field by field as the 2.00 specification lays them out
(``layouts``: checksums computed the long way, never by our codec); the answers are read
here by the specification's fixed lengths and ``|``-ended fields, their checksums checked
the same way. Then the same scenarios through an independent SIP2 implementation from
the package index (``pysip2``, MIT): its encoder writes the requests and its strict,
typed decoder reads our answers. And two devices racing for one item: one lends it, the
other is told why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pysip2
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.central.models import (
    AppliedTransaction,
    AuditEntry,
    Hold,
    LedgerEntry,
    Loan,
    Patron,
    StaffException,
)
from kiosk.common.clock import SystemClock
from kiosk.common.pins import pin_verifier
from tests.central.sip2.conftest import AUTHENTICATOR, RunningSip2, Sip2Client
from tests.central.sip2.layouts import NO_DATE, sip_checksum, trailer

PIN = "4321"
SOURCE = "sip2:selfcheck"
UNKNOWN_CARD = "29999999999999"
# The sort bins of a [sip2] table that names none (kiosk.central.config).
HOLD_SHELF_BIN, SHELF_BIN, STAFF_BIN = "1", "2", "3"

# The fixed part of each response after its command, by the specification's lengths.
FIXED = {
    "24": 14 + 3 + 18,  # patron status, language, transaction date
    "26": 14 + 3 + 18,
    "64": 14 + 3 + 18 + 6 * 4,  # ... and the six counts
    "12": 1 + 1 + 1 + 1 + 18,  # ok, renewal ok, magnetic media, desensitize, date
    "30": 1 + 1 + 1 + 1 + 18,
    "10": 1 + 1 + 1 + 1 + 18,  # ok, resensitize, magnetic media, alert, date
    "66": 1 + 4 + 4 + 18,  # ok, renewed count, unrenewed count, date
    "18": 2 + 2 + 2 + 18,  # circulation status, security marker, fee type, date
    "16": 1 + 1 + 18,  # ok, available, date
    "36": 1 + 18,  # end session, date
    "38": 1 + 18,  # payment accepted, date
    "20": 1 + 18,  # item properties ok, date
    "96": 0,
}


def stamp(moment: datetime) -> str:
    """A SIP2 date, local time: YYYYMMDD, four blanks, HHMMSS."""
    return f"{moment:%Y%m%d}    {moment:%H%M%S}"


@dataclass
class Reply:
    """An answer read by hand: its command, its fixed part, its fields by identifier."""

    command: str
    fixed: str
    fields: dict[str, list[str]]
    sequence: int | None
    raw: bytes

    def one(self, code: str) -> str | None:
        values = self.fields.get(code)
        return values[0] if values else None

    def screen(self) -> str:
        return " ".join(self.fields.get("AF", []))


def read(raw: bytes) -> Reply:
    assert raw.endswith(b"\r"), raw
    body = raw[:-1]
    sequence = None
    if body[-6:-4] == b"AZ":
        head = body[:-4].decode("utf-8")
        assert sip_checksum(head) == body[-4:].decode("ascii"), f"bad checksum: {raw!r}"
        body = body[:-6]
        if body[-3:-1] == b"AY":
            sequence = int(body[-1:])
            body = body[:-3]
    text = body.decode("utf-8")
    command = text[:2]
    length = FIXED[command]
    fixed, rest = text[2 : 2 + length], text[2 + length :]
    assert len(fixed) == length, raw
    assert rest == "" or rest.endswith("|"), f"every field ends with |: {raw!r}"
    fields: dict[str, list[str]] = {}
    for piece in rest.split("|")[:-1]:
        fields.setdefault(piece[:2], []).append(piece[2:])
    return Reply(command, fixed, fields, sequence, raw)


# --- the library the server runs on --------------------------------------------------------------


@dataclass
class Scene:
    """The demo library behind the server, with the patrons and items the tests use
    picked out of it: patrons in good standing with nothing on loan, items free on the
    shelf."""

    server: RunningSip2
    now: datetime = field(default_factory=lambda: SystemClock().now())
    patrons: list[dict[str, Any]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)
    sequence: int = 0

    def __post_init__(self) -> None:
        library = self.server.library
        busy = {loan["patron_id"] for loan in library.loans.values()}
        busy |= {hold["patron_id"] for hold in library.holds}
        self.patrons = [
            patron
            for patron in library.patrons
            if patron["member_type"] == "ADULT"
            and not patron["barred"]
            and patron["owed"] == 0
            and patron["expires"] > self.now.date() + timedelta(days=60)
            and patron["patron_id"] not in busy
        ]
        kinds = {brn: kind for brn, _title, _author, _isbn, kind in library.records}
        self.titles = {brn_title[0]: brn_title[1] for brn_title in library.records}
        held = {hold["item_barcode"] for hold in library.holds}
        self.items = [
            item.barcode
            for item in library.items
            if item.status == "available"
            and kinds[item.brn] == "FICTION"
            and item.barcode not in library.loans
            and item.barcode not in held
        ]
        assert len(self.patrons) >= 4
        assert len(self.items) >= 12
        with self.db() as db:
            db.execute(
                update(Patron)
                .where(Patron.patron_id == self.patrons[0]["patron_id"])
                .values(pin_verifier=pin_verifier(PIN))
            )
            db.commit()

    def db(self) -> Session:
        return self.server.session()

    def title(self, barcode: str) -> str:
        item = next(item for item in self.server.library.items if item.barcode == barcode)
        return self.titles[item.brn]

    def card(self, n: int) -> str:
        return str(self.patrons[n]["card"])

    def patron_id(self, n: int) -> str:
        return str(self.patrons[n]["patron_id"])

    def name(self, n: int) -> str:
        return f"{self.patrons[n]['first_name']} {self.patrons[n]['surname']}"

    @property
    def t(self) -> str:
        return stamp(self.now)

    def framed(self, head: str) -> bytes:
        """The message with error detection: AY, the next sequence number, AZ and the
        checksum computed the long way."""
        self.sequence = (self.sequence + 1) % 10
        return trailer(head, self.sequence).encode("utf-8")

    def ask(self, client: Sip2Client, head: str) -> Reply:
        sequence = (self.sequence + 1) % 10
        reply = read(client.ask(self.framed(head)))
        if reply.command != "96":
            assert reply.sequence == sequence, "the answer carries the request's sequence"
        return reply

    def count(self, model: Any, *where: Any) -> int:
        with self.db() as db:
            return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def scene(sip2_server: RunningSip2) -> Scene:
    return Scene(sip2_server)


# --- requests, as the specification lays them out ---------------------------------------------


def patron_status(t: str, card: str, pin: str = "") -> str:
    return f"23001{t}AOMain|AA{card}|AC|AD{pin}|"


def patron_information(t: str, card: str, summary: str = " " * 10, extra: str = "") -> str:
    return f"63001{t}{summary}AOMain|AA{card}|AC|{extra}"


def checkout(t: str, card: str, item: str, *, renewal: str = "N", no_block: str = "N") -> str:
    return f"11{renewal}{no_block}{t}{NO_DATE}AOMain|AA{card}|AB{item}|AC|BON|BIN|"


def checkin(t: str, item: str, *, no_block: str = "N", returned: str = NO_DATE) -> str:
    return f"09{no_block}{t}{returned}APMain|AOMain|AB{item}|AC|"


def summary(position: int) -> str:
    return " " * position + "Y" + " " * (9 - position)


# --- the tests ---------------------------------------------------------------------------------


def test_patron_status_and_information(scene: Scene) -> None:
    t = scene.t
    with scene.server.logged_in() as client:
        good = scene.ask(client, patron_status(t, scene.card(0), PIN))
        assert good.command == "24"
        assert good.fixed[:14] == " " * 14
        assert good.fixed[14:17] in ("000", "001")
        assert (good.one("BL"), good.one("CQ")) == ("Y", "Y")
        assert good.one("AE") == scene.name(0)
        assert (good.one("AO"), good.one("AA")) == ("Main", scene.card(0))
        assert good.one("BV") == "0.00"

        wrong = scene.ask(client, patron_status(t, scene.card(0), "0000"))
        assert (wrong.one("BL"), wrong.one("CQ"), wrong.one("AE")) == ("Y", "N", "")
        assert wrong.fixed[:4] == "YYYY"  # a wrong PIN may do nothing
        assert "PIN" in wrong.screen()

        nobody = scene.ask(client, patron_status(t, UNKNOWN_CARD))
        assert (nobody.one("BL"), nobody.fixed[:4]) == ("N", "YYYY")
        assert nobody.one("CQ") is None

        with scene.db() as db:
            db.execute(
                update(Patron)
                .where(Patron.patron_id == scene.patron_id(1))
                .values(barred=True, barred_reason="test", owed=Decimal("25.00"))
            )
            db.commit()
        barred = scene.ask(client, patron_status(t, scene.card(1)))
        flags = barred.fixed[:14]
        assert (flags[0], flags[1], flags[4], flags[10], flags[11]) == ("Y",) * 5
        assert barred.one("BV") == "25.00"
        assert "can't be used to borrow" in barred.screen()

        # Patron information: two loans, one hold ready and one waiting.
        first, second, ready, waiting = scene.items[:4]
        for item in (first, second):
            assert scene.ask(client, checkout(t, scene.card(2), item)).fixed[0] == "1"
        assert scene.ask(client, checkout(t, scene.card(3), waiting)).fixed[0] == "1"
        for item in (ready, waiting):
            placed = scene.ask(client, f"15+{t}AOMain|AA{scene.card(2)}|AB{item}|AC|")
            assert placed.fixed[0] == "1", placed.raw
        info = scene.ask(client, patron_information(t, scene.card(2)))
        assert info.command == "64"
        counts = info.fixed[35:]
        assert [counts[n : n + 4] for n in range(0, 24, 4)] == [
            "0001",  # hold items: ready to collect
            "0000",  # overdue
            "0002",  # charged
            "0000",  # fine items
            "0000",  # recall
            "0001",  # unavailable holds: not yet ready
        ]
        assert info.one("BL") == "Y"
        assert info.one("CB") == "0012"  # the Adult's quota
        assert all(code not in info.fields for code in ("AS", "AT", "AU", "AV", "BU", "CD"))
        expected = {
            0: ("AS", [ready]),
            1: ("AT", []),
            2: ("AU", sorted([first, second])),
            3: ("AV", []),
            4: ("BU", []),
            5: ("CD", [waiting]),
        }
        for position, (code, items) in expected.items():
            listed = scene.ask(client, patron_information(t, scene.card(2), summary(position)))
            assert sorted(listed.fields.get(code, [])) == items, code
            others = {"AS", "AT", "AU", "AV", "BU", "CD"} - {code}
            assert not others & set(listed.fields)
        part = scene.ask(client, patron_information(t, scene.card(2), summary(2), "BP2|BQ2|"))
        assert len(part.fields["AU"]) == 1

        # Bad input: no AA, a short date, a wrong checksum: 96, and the connection stays.
        for bad in (
            scene.framed(f"23001{t}AOMain|AC|AD|"),
            scene.framed(f"63001{t[:10]}"),
            f"23001{t}AOMain|AA{scene.card(0)}|AC|AD|AY1AZ0000".encode(),
        ):
            assert read(client.ask(bad)).command == "96"
        assert scene.ask(client, patron_status(t, scene.card(0))).one("BL") == "Y"


def test_checkout_renewal_no_block_and_checkin(scene: Scene) -> None:
    t = scene.t
    item, held, other, offline, spare = scene.items[4:9]
    with scene.server.logged_in() as client:
        lent = scene.ask(client, checkout(t, scene.card(0), item))
        assert lent.command == "12"
        assert lent.fixed[:4] == "1NUY"  # ok, no renewal, magnetic media unknown, desensitize
        assert lent.one("AJ") == scene.title(item)
        assert lent.one("AH")
        assert len(lent.one("AH") or "") == 18
        transaction = lent.one("BK")
        assert transaction
        assert transaction.startswith("sip2-")
        # The device did not hear the answer and sends the same checkout again.
        again = scene.ask(client, checkout(t, scene.card(0), item))
        assert (again.fixed[:4], again.one("AH"), again.one("BK")) == (
            "1NUY", lent.one("AH"), transaction,
        )  # fmt: skip
        assert scene.count(AppliedTransaction, AppliedTransaction.item_barcode == item) == 1
        with scene.db() as db:
            recorded = db.get(AppliedTransaction, transaction)
            assert recorded is not None
            assert (recorded.actor, recorded.kind) == (SOURCE, "checkout")
            audited = db.scalars(
                select(AuditEntry.actor).where(AuditEntry.target == f"item {item}")
            ).all()
            assert audited == [SOURCE]

        # The same patron at another time, asking to renew: a renewal by checkout.
        later = stamp(scene.now + timedelta(minutes=1))
        renewed = scene.ask(client, checkout(later, scene.card(0), item, renewal="Y"))
        assert renewed.fixed[:2] == "1Y", renewed.raw
        refused = scene.ask(client, checkout(later, scene.card(1), item))
        assert refused.fixed[:4] == "0NUN"
        assert "recorded as on loan" in refused.screen()
        assert refused.one("AH") == ""  # required, sent empty

        # A checkout the rules refuse, and one of an item no one has.
        with scene.db() as db:
            db.execute(
                update(Patron).where(Patron.patron_id == scene.patron_id(3)).values(barred=True)
            )
            db.commit()
        barred = scene.ask(client, checkout(t, scene.card(3), other))
        assert barred.fixed[0] == "0"
        assert "can't be used to borrow" in barred.screen()
        unknown = scene.ask(client, checkout(t, scene.card(0), "NOSUCHITEM"))
        assert (unknown.fixed[0], unknown.screen()) == ("0", "no item has barcode NOSUCHITEM")

        # No block: the device lent it offline an hour ago to the barred patron.
        an_hour_ago = stamp(scene.now - timedelta(hours=1))
        fact = scene.ask(client, checkout(an_hour_ago, scene.card(3), offline, no_block="Y"))
        assert fact.fixed[0] == "1"
        with scene.db() as db:
            loan = db.get(Loan, offline)
            assert loan is not None
            assert loan.patron_id == scene.patron_id(3)
            assert loan.lent_at == scene.now.replace(microsecond=0) - timedelta(hours=1)
            reasons = db.scalars(
                select(StaffException.reason).where(StaffException.source == SOURCE)
            ).all()
            assert reasons == ["refused_now"]

        # Checkin: someone waits for it, so the hold shelf, an alert, and for whom.
        assert scene.ask(client, checkout(t, scene.card(0), held)).fixed[0] == "1"
        placed = scene.ask(client, f"15+{t}AOMain|AA{scene.card(2)}|AB{held}|AC|")
        assert placed.fixed[:2] == "1N"
        back = scene.ask(client, checkin(t, held))
        assert back.command == "10"
        assert back.fixed[:4] == "1YUY"  # ok, resensitize, magnetic unknown, alert
        assert (back.one("CL"), back.one("CV"), back.one("CY")) == (
            HOLD_SHELF_BIN, "01", scene.card(2),
        )  # fmt: skip
        assert back.one("DA") == f"{scene.patrons[2]['surname']}, {scene.patrons[2]['first_name']}"
        assert back.one("AQ") == "Main"
        assert scene.ask(client, checkin(t, held)).fixed[:4] == "1YUY"  # again: the same
        # On the shelf; not on loan (staff); unknown (staff).
        home = scene.ask(client, checkin(t, item))
        assert (home.fixed[:4], home.one("CL"), home.one("AJ")) == (
            "1YUN", SHELF_BIN, scene.title(item),
        )  # fmt: skip
        stray = scene.ask(client, checkin(t, spare))
        assert (stray.fixed[:4], stray.one("CL"), stray.one("CV")) == ("0YUY", STAFF_BIN, "99")
        lost = scene.ask(client, checkin(t, "NOSUCHITEM"))
        assert (lost.fixed[0], lost.one("CL"), lost.one("AQ")) == ("0", STAFF_BIN, "")
        # A no-block return dated when the book drop took it.
        dropped = scene.ask(
            client,
            checkin(t, offline, no_block="Y", returned=stamp(scene.now - timedelta(minutes=30))),
        )
        assert dropped.fixed[0] == "1"
        assert scene.count(Loan, Loan.item_barcode == offline) == 0

        # Bad input: no item identifier, a short return date.
        assert read(client.ask(scene.framed(f"09N{t}{NO_DATE}APMain|AOMain|AC|"))).command == "96"
        assert read(client.ask(scene.framed(f"09N{t}2026APMain|"))).command == "96"


def test_renew_and_renew_all(scene: Scene) -> None:
    t = scene.t
    first, second = scene.items[9:11]
    with scene.server.logged_in() as client:
        for item in (first, second):
            assert scene.ask(client, checkout(t, scene.card(0), item)).fixed[0] == "1"
        later = stamp(scene.now + timedelta(minutes=5))
        one = scene.ask(client, f"29NN{later}{NO_DATE}AOMain|AA{scene.card(0)}|AB{first}|AC|")
        assert one.command == "30"
        assert one.fixed[:4] == "1YUY", one.raw
        assert one.one("AJ") == scene.title(first)
        assert scene.ask(client, f"29NN{later}{NO_DATE}AOMain|AA{scene.card(0)}|AB{first}|AC|").one(
            "BK"
        ) == one.one("BK")  # sent again: the same renewal
        not_theirs = scene.ask(
            client, f"29NN{later}{NO_DATE}AOMain|AA{scene.card(1)}|AB{first}|AC|"
        )
        assert not_theirs.fixed[0] == "0"
        assert "not on loan to this patron" in not_theirs.screen()
        by_title = scene.ask(client, f"29NN{later}{NO_DATE}AOMain|AA{scene.card(0)}|AJx|AC|")
        assert "by title is not supported" in by_title.screen()

        everything = scene.ask(
            client, f"65{stamp(scene.now + timedelta(minutes=9))}AOMain|AA{scene.card(0)}|AC|"
        )
        assert everything.command == "66"
        renewed, unrenewed = int(everything.fixed[1:5]), int(everything.fixed[5:9])
        assert renewed + unrenewed == 2
        assert sorted(everything.fields.get("BM", []) + everything.fields.get("BN", [])) == sorted(
            [first, second]
        )
        with scene.db() as db:
            renewals = {
                loan.item_barcode: loan.renewals
                for loan in db.scalars(select(Loan).where(Loan.item_barcode.in_([first, second])))
            }
        assert renewals[second] == (1 if second in everything.fields.get("BM", []) else 0)
        nobody = scene.ask(client, f"65{t}AOMain|AA{UNKNOWN_CARD}|AC|")
        assert nobody.fixed[0] == "0"
        assert read(client.ask(scene.framed(f"29NN{t}AOMain|"))).command == "96"


def test_items_holds_payments_blocks_and_the_end_of_a_session(scene: Scene) -> None:
    t = scene.t
    item, lent = scene.items[11:13]
    library = scene.server.library
    on_hold_shelf = next(hold["item_barcode"] for hold in library.holds if hold["ready"])
    lost = next(item.barcode for item in library.items if item.status == "lost")
    with scene.server.logged_in() as client:
        assert scene.ask(client, checkout(t, scene.card(1), lent)).fixed[0] == "1"
        cases = {item: "03", lent: "04", on_hold_shelf: "08", lost: "12", "NOSUCHITEM": "01"}
        for barcode, status in cases.items():
            info = scene.ask(client, f"17{t}AOMain|AB{barcode}|AC|")
            assert info.command == "18"
            assert info.fixed[:6] == f"{status}0001", (barcode, info.raw)
            assert info.one("AB") == barcode
        assert scene.ask(client, f"17{t}AOMain|AB{lent}|AC|").one("AH")
        assert scene.ask(client, f"17{t}AOMain|AB{item}|AC|").one("AQ") == "Main"
        assert read(client.ask(scene.framed(f"17{t}AOMain|AC|"))).command == "96"

        # Holds: placed, placed again (found), cancelled; on a title (BY 2: any copy).
        hold = f"{t}AOMain|AA{scene.card(0)}|AB{lent}|AC|"
        placed = scene.ask(client, "15+" + hold)
        assert (placed.command, placed.fixed[:2], placed.one("BR")) == ("16", "1N", "1")
        assert scene.ask(client, "15+" + hold).one("BR") == "1"
        assert scene.count(Hold, Hold.item_barcode == lent) == 1
        assert scene.ask(client, "15-" + hold).fixed[0] == "1"
        assert scene.ask(client, "15-" + hold).fixed[0] == "0"
        assert scene.count(Hold, Hold.item_barcode == lent) == 0
        on_title = f"{t}AOMain|AA{scene.card(0)}|AB{lent}|BY2|AC|"
        title = scene.ask(client, "15+" + on_title)
        assert (title.command, title.fixed[:2], title.one("BR")) == ("16", "1N", "1")
        assert title.one("AJ") == scene.title(lent)
        assert scene.count(Hold, Hold.brn.is_not(None)) == 1
        assert scene.ask(client, "15-" + on_title).fixed[0] == "1"
        assert scene.count(Hold, Hold.brn.is_not(None)) == 0
        assert read(client.ask(scene.framed(f"15?{t}AOMain|AA{scene.card(0)}|"))).command == "96"

        # A payment into the ledger, once; more than is owed, refused.
        with scene.db() as db:
            db.execute(
                update(Patron)
                .where(Patron.patron_id == scene.patron_id(2))
                .values(owed=Decimal("4.00"))
            )
            db.commit()
        payment = f"37{t}0400USDBV1.50|AOMain|AA{scene.card(2)}|AC|CGlate|BKtill-9|"
        paid = scene.ask(client, payment)
        assert (paid.command, paid.fixed[0]) == ("38", "Y")
        assert scene.ask(client, payment).one("BK") == paid.one("BK")
        too_much = scene.ask(client, f"37{t}0400USDBV9.00|AOMain|AA{scene.card(2)}|AC|")
        assert too_much.fixed[0] == "N"
        assert "more than the patron owes (2.50)" in too_much.screen()
        assert (
            read(client.ask(scene.framed(f"37{t}0400USDAOMain|AA{scene.card(2)}|"))).command == "96"
        )
        with scene.db() as db:
            payments = db.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.patron_id == scene.patron_id(2), LedgerEntry.kind == "payment"
                )
            ).all()
        assert [entry.amount for entry in payments] == [Decimal("-1.50")]
        assert "SIP2 device selfcheck: cash" in payments[0].note

        # Block patron: barred, answered with a 24.
        blocked = scene.ask(client, f"01Y{t}AOMain|ALcard kept|AA{scene.card(3)}|AC|")
        assert blocked.command == "24"
        assert blocked.fixed[0] == "Y"
        assert blocked.fixed[4] == "Y"
        with scene.db() as db:
            patron = db.get(Patron, scene.patron_id(3))
            assert patron is not None
            assert patron.barred
            assert (
                patron.barred_reason
                == "blocked by SIP2 device selfcheck: card kept (card retained)"
            )

        ended = scene.ask(client, f"35{t}AOMain|AA{scene.card(0)}|AC|")
        assert (ended.command, ended.fixed[0], ended.one("AA")) == ("36", "Y", scene.card(0))
        # 19 and 25 are not supported: a refusal, not a silence.
        assert scene.ask(client, f"19{t}AOMain|AB{item}|AC|CHx|").fixed[0] == "0"
        assert scene.ask(client, f"25{t}AOMain|AA{scene.card(3)}|AC|").command == "26"


def test_a_patron_authentication_account_only_authenticates(scene: Scene) -> None:
    t = scene.t
    item = scene.items[0]
    with scene.server.logged_in(AUTHENTICATOR) as client:
        assert scene.ask(client, patron_status(t, scene.card(0), PIN)).one("CQ") == "Y"
        assert scene.ask(client, patron_information(t, scene.card(0))).one("BL") == "Y"
        assert scene.ask(client, f"35{t}AOMain|AA{scene.card(0)}|AC|").fixed[0] == "Y"
        refused = {
            checkout(t, scene.card(0), item): "can't lend items",
            checkin(t, item): "can't take items back",
            f"29NN{t}{NO_DATE}AOMain|AA{scene.card(0)}|AB{item}|AC|": "can't renew loans",
            f"15+{t}AOMain|AA{scene.card(0)}|AB{item}|AC|": "can't place or cancel holds",
            f"37{t}0400USDBV1.00|AOMain|AA{scene.card(0)}|AC|": "can't take payments",
            f"17{t}AOMain|AB{item}|AC|": "for signing in only",
            f"01N{t}AOMain|AL|AA{scene.card(0)}|AC|": "can't block cards",
        }
        for message, words in refused.items():
            reply = scene.ask(client, message)
            assert words in reply.screen(), reply.raw
    assert scene.count(AppliedTransaction) == 0
    assert scene.count(Hold, Hold.item_barcode == item) == 0
    with scene.db() as db:
        patron = db.get(Patron, scene.patron_id(0))
        assert patron is not None
        assert not patron.barred


def test_two_devices_racing_for_one_item_one_wins_the_other_is_told_why(scene: Scene) -> None:
    t = scene.t
    contested = scene.items[5:9]
    clients = [scene.server.logged_in(), scene.server.logged_in()]
    answers: dict[tuple[str, int], Reply] = {}
    start = threading.Barrier(2)

    def device(n: int) -> Callable[[], None]:
        def run() -> None:
            for item in contested:
                start.wait(timeout=60)
                answers[item, n] = read(
                    clients[n].ask(trailer(checkout(t, scene.card(n), item), n).encode())
                )

        return run

    threads = [threading.Thread(target=device(n)) for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for client in clients:
            client.close()
    for item in contested:
        first, second = answers[item, 0], answers[item, 1]
        assert sorted([first.fixed[0], second.fixed[0]]) == ["0", "1"], item
        loser = first if first.fixed[0] == "0" else second
        assert "recorded as on loan" in loser.screen()
        assert scene.count(Loan, Loan.item_barcode == item) == 1
        assert scene.count(AppliedTransaction, AppliedTransaction.item_barcode == item) == 1


# --- the same through pysip2 -----------------------------------------------------------------


class Pysip2Device:
    """A device built on pysip2: its encoder writes each request (with AY and AZ), its
    strict decoder reads each answer into pysip2's own typed model."""

    def __init__(self, client: Sip2Client) -> None:
        self.client = client
        self.sequence = 0

    def ask(self, request: pysip2.SIPRequest) -> Any:
        self.sequence = (self.sequence + 1) % 10
        frame = pysip2.encode_message(
            request, sequence_number=self.sequence, checksum=True, encoding="utf-8"
        )
        decoded = pysip2.decode_message(self.client.ask(frame), encoding="utf-8")
        assert decoded.checksum is not None
        if not isinstance(decoded.message, pysip2.RequestSCResend):
            assert decoded.sequence_number == self.sequence
        return decoded.message


def test_the_same_scenarios_through_pysip2(sip2_server: RunningSip2) -> None:
    scene = Scene(sip2_server)
    t, ad = scene.t, {"terminal_password": ""}
    card, other = scene.card(0), scene.card(1)
    item, held = scene.items[0], scene.items[1]
    with sip2_server.connect() as client:
        device = Pysip2Device(client)
        login = device.ask(
            pysip2.LoginRequest(
                uid_algorithm="0",
                pwd_algorithm="0",
                login_user_id=sip2_server.account,
                login_password=sip2_server.password,
                location_code="Main",
            )
        )
        assert isinstance(login, pysip2.LoginResponse)
        assert login.ok == "1"
        status = device.ask(
            pysip2.SCStatusRequest(status_code="0", max_print_width="040", protocol_version="2.00")
        )
        assert isinstance(status, pysip2.ACSStatusResponse)
        for command in ("23", "63", "11", "09", "29", "65", "17", "15", "37", "01", "35"):
            position = "23 11 09 01 99 97 93 63 35 37 17 19 25 15 29 65".split().index(command)
            assert status.supported_messages[position] == "Y", command

        patron = device.ask(
            pysip2.PatronStatusRequest(
                language="001",
                transaction_date=t,
                institution_id="Main",
                patron_identifier=card,
                patron_password=PIN,
                **ad,
            )
        )
        assert isinstance(patron, pysip2.PatronStatusResponse)
        assert (patron.valid_patron, patron.valid_patron_password) == ("Y", "Y")
        assert patron.patron_status == " " * 14
        assert patron.personal_name == scene.name(0)

        def lend(who: str, barcode: str, renewal: str = "N", when: str = t) -> Any:
            return device.ask(
                pysip2.CheckoutRequest(
                    sc_renewal_policy=renewal,
                    no_block="N",
                    transaction_date=when,
                    nb_due_date=when,  # pysip2 has no blank date; no block N: unread
                    institution_id="Main",
                    patron_identifier=who,
                    item_identifier=barcode,
                    **ad,
                )
            )

        lent = lend(card, item)
        assert isinstance(lent, pysip2.CheckoutResponse)
        assert (lent.ok, lent.desensitize, lent.title_identifier) == ("1", "Y", scene.title(item))
        again = lend(card, item)
        assert (again.ok, again.transaction_id, again.due_date) == (
            "1", lent.transaction_id, lent.due_date,
        )  # fmt: skip
        renewed = lend(card, item, "Y", stamp(scene.now + timedelta(minutes=1)))
        assert (renewed.ok, renewed.renewal_ok) == ("1", "Y")
        taken = lend(other, item)
        assert taken.ok == "0"
        assert "recorded as on loan" in " ".join(taken.screen_message)

        info = device.ask(
            pysip2.PatronInformationRequest(
                language="001",
                transaction_date=t,
                summary="  Y       ",
                institution_id="Main",
                patron_identifier=card,
                start_item="1",
                end_item="5",
                **ad,
            )
        )
        assert isinstance(info, pysip2.PatronInformationResponse)
        assert (info.charged_items_count, info.charged_items) == ("0001", (item,))
        assert info.valid_patron == "Y"

        assert lend(card, held).ok == "1"
        placed = device.ask(
            pysip2.HoldRequest(
                hold_mode="+",
                transaction_date=t,
                institution_id="Main",
                patron_identifier=other,
                item_identifier=held,
                **ad,
            )
        )
        assert isinstance(placed, pysip2.HoldResponse)
        assert (placed.ok, placed.queue_position) == ("1", "1")
        back = device.ask(
            pysip2.CheckinRequest(
                no_block="N",
                transaction_date=t,
                return_date=t,  # the transaction's own: not dated earlier
                current_location="Main",
                institution_id="Main",
                item_identifier=held,
                **ad,
            )
        )
        assert isinstance(back, pysip2.CheckinResponse)
        assert (back.ok, back.alert, back.sort_bin) == ("1", "Y", HOLD_SHELF_BIN)

        renewal = device.ask(
            pysip2.RenewRequest(
                third_party_allowed="N",
                no_block="N",
                transaction_date=stamp(scene.now + timedelta(minutes=2)),
                nb_due_date=t,
                institution_id="Main",
                patron_identifier=card,
                item_identifier=item,
                **ad,
            )
        )
        assert isinstance(renewal, pysip2.RenewResponse)
        assert renewal.item_identifier == item
        every = device.ask(
            pysip2.RenewAllRequest(
                transaction_date=stamp(scene.now + timedelta(minutes=3)),
                institution_id="Main",
                patron_identifier=card,
                **ad,
            )
        )
        assert isinstance(every, pysip2.RenewAllResponse)
        assert int(every.renewed_count) + int(every.unrenewed_count) == 1

        about = device.ask(
            pysip2.ItemInformationRequest(
                transaction_date=t, institution_id="Main", item_identifier=item, **ad
            )
        )
        assert isinstance(about, pysip2.ItemInformationResponse)
        assert (about.circulation_status, about.title_identifier) == ("04", scene.title(item))

        with scene.db() as db:
            db.execute(
                update(Patron)
                .where(Patron.patron_id == scene.patron_id(1))
                .values(owed=Decimal("3.00"))
            )
            db.commit()
        paid = device.ask(
            pysip2.FeePaidRequest(
                transaction_date=t,
                fee_type="01",
                payment_type="00",
                currency_type="USD",
                fee_amount="3.00",
                institution_id="Main",
                patron_identifier=other,
                **ad,
            )
        )
        assert isinstance(paid, pysip2.FeePaidResponse)
        assert paid.payment_accepted == "Y"

        blocked = device.ask(
            pysip2.BlockPatronRequest(
                card_retained="N",
                transaction_date=t,
                institution_id="Main",
                blocked_card_message="test",
                patron_identifier=other,
                **ad,
            )
        )
        assert isinstance(blocked, pysip2.PatronStatusResponse)
        assert blocked.patron_status[0] == "Y"

        ended = device.ask(
            pysip2.EndPatronSessionRequest(
                transaction_date=t, institution_id="Main", patron_identifier=card, **ad
            )
        )
        assert isinstance(ended, pysip2.EndSessionResponse)
        assert ended.end_session == "Y"
    with scene.db() as db:
        patron_row = db.get(Patron, scene.patron_id(1))
        assert patron_row is not None
        assert (patron_row.owed, patron_row.barred) == (Decimal("0.00"), True)
        assert (
            db.scalar(
                select(func.count())
                .select_from(AppliedTransaction)
                .where(AppliedTransaction.actor != SOURCE)
            )
            == 0
        )
