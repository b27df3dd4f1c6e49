"""The subjects of new arrivals the portal offers, kept between requests
(``circulation.subject_cache.ArrivalSubjects``), on SQLite and PostgreSQL: counted from
the records once, then not again (the statements reading ``records`` counted on the real
engine) while nothing but other changes happen; counted again after a catalogue import
(its new subject offered) or a record added at the desk, and when the day changes (the
records of more than SUBJECTS_FROM_DAYS ago dropped); threads that find it out of date at
once count it once; the portal's page and its save use the app's one; the served app
counts them as it starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from kiosk.central.api.app import create_app
from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.catalogue import add_record
from kiosk.central.circulation.patrons import SUBJECTS_FROM_DAYS, arrival_subjects, update_patron
from kiosk.central.circulation.subject_cache import ArrivalSubjects
from kiosk.central.web.console import count_subjects_ahead
from kiosk.central.web.sessions import Lifetimes
from kiosk.central.web.settings import ConsoleSettings
from kiosk.common.clock import FixedClock
from tests.central.notices.conftest import NOW
from tests.central.notices.test_arrivals import CATALOGUE, _import

STAFF = Actor("cyril", "127.0.0.1")
OFFERED = ["Cookery", "Friendship", "Science fiction", "Space"]


class _Reads:
    """The SELECTs reading the records table that the engine sends while the cache is
    asked (not those of the imports between)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.asking = False

    def __len__(self) -> int:
        return len(self.statements)

    def before(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        text = " ".join(statement.split()).upper()
        if self.asking and text.startswith("SELECT") and " FROM RECORDS" in text:
            self.statements.append(statement)


@contextmanager
def _reads_of_records(engine: Engine) -> Iterator[_Reads]:
    reads = _Reads()
    event.listen(engine, "before_cursor_execute", reads.before)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", reads.before)


def _offered(
    engine: Engine, cache: ArrivalSubjects, clock: FixedClock, reads: _Reads | None = None
) -> list[str]:
    with Session(engine) as db:  # a request's own session, as the portal's are
        if reads is not None:
            reads.asking = True
        try:
            return cache(db, clock.now().date())
        finally:
            if reads is not None:
                reads.asking = False


def test_the_subjects_are_counted_again_after_an_import_or_a_new_day_and_only_then(
    library: Engine, tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    cache = ArrivalSubjects()
    _import(library, tmp_path, CATALOGUE)  # today's records, with subjects
    with _reads_of_records(library) as reads:
        assert _offered(library, cache, clock, reads) == OFFERED
        assert len(reads) == 1
        for _ in range(3):
            assert _offered(library, cache, clock, reads) == OFFERED
        # Other changes move the change log on (a patron's details, here): no record among
        # them, nothing counted again.
        with Session(library) as db:
            update_patron(db, "p-all", {"email": "ada@example.net"}, NOW, STAFF)
        assert _offered(library, cache, clock, reads) == OFFERED
        assert _offered(library, cache, clock, reads) == OFFERED
        assert len(reads) == 1
        # The next import brings a new subject: counted again, once.
        _import(
            library,
            tmp_path,
            "brn,title,author,isbn,publication_type,subjects\n"
            "8,Cast On,A. Knitter,,FICTION,Knitting -- Patterns\n",
            "more.csv",
        )
        assert _offered(library, cache, clock, reads) == [*OFFERED[:2], "Knitting", *OFFERED[2:]]
        assert _offered(library, cache, clock, reads) == [*OFFERED[:2], "Knitting", *OFFERED[2:]]
        assert len(reads) == 2
        # So does a record added at the desk (no subjects: the same list).
        with Session(library) as db:
            fields = {"brn": "", "title": "Desk Copy", "author": "B", "isbn": ""}
            add_record(db, {**fields, "publication_type": "FICTION"}, NOW, STAFF)
        assert _offered(library, cache, clock, reads) == [*OFFERED[:2], "Knitting", *OFFERED[2:]]
        assert len(reads) == 3
        # The next day: counted again, once; the same records still offered.
        clock.advance(days=1)
        assert _offered(library, cache, clock, reads) == [*OFFERED[:2], "Knitting", *OFFERED[2:]]
        assert _offered(library, cache, clock, reads) == [*OFFERED[:2], "Knitting", *OFFERED[2:]]
        assert len(reads) == 4
        # Records more than SUBJECTS_FROM_DAYS old drop out: the week's before the first
        # import (Space, Friendship, Science fiction), then the imports' own.
        clock.set(NOW)
        clock.advance(days=SUBJECTS_FROM_DAYS)
        assert _offered(library, cache, clock, reads) == ["Cookery", "Knitting"]
        clock.advance(days=1)
        assert _offered(library, cache, clock, reads) == []
        assert _offered(library, cache, clock, reads) == []
        assert len(reads) == 6
    # And what it gave is what counting afresh gives.
    with Session(library) as db:
        assert arrival_subjects(db, clock.now().date()) == []
        assert cache(db, NOW.date()) == arrival_subjects(db, NOW.date())


def test_threads_finding_the_subjects_out_of_date_together_count_them_once(
    library: Engine, tmp_path: Path
) -> None:
    _import(library, tmp_path, CATALOGUE)
    counted = []

    def slowly(db: Session, today: date) -> list[str]:
        counted.append(today)
        time.sleep(0.3)  # the others arrive meanwhile
        return arrival_subjects(db, today)

    cache = ArrivalSubjects(slowly)
    clock = FixedClock(NOW)
    answers: list[list[str]] = []
    start = threading.Barrier(6)

    def request() -> None:
        start.wait()
        answers.append(_offered(library, cache, clock))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [OFFERED] * 6
    assert counted == [NOW.date()]


def test_the_served_app_counts_the_subjects_as_it_starts_not_as_a_patron_asks(
    library: Engine, tmp_path: Path
) -> None:
    """``kiosk-central serve`` counts ahead (``web.console.count_subjects_ahead``): on a
    large catalogue the count takes seconds that the first patron to open Your details
    would otherwise wait."""
    _import(library, tmp_path, CATALOGUE)
    counted: list[date] = []
    done = threading.Event()

    def counting(db: Session, today: date) -> list[str]:
        counted.append(today)
        done.set()
        return arrival_subjects(db, today)

    settings = ConsoleSettings(
        secret_key="a test key that signs the CSRF tokens of this server",
        secure_cookies=False,
        lifetimes=Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12)),
        library_name="Riverside Library",
    )
    clock = FixedClock(NOW)
    app = create_app(library, clock.now, settings)
    app.state.arrival_subjects = ArrivalSubjects(counting)
    app.state.on_start.append(count_subjects_ahead)
    assert not done.wait(0.2)  # built, not started: nothing counted
    with TestClient(app):
        assert done.wait(30)
        assert counted == [NOW.date()]
        # The first patron's page finds them counted.
        assert _offered(library, app.state.arrival_subjects, clock) == OFFERED
        assert counted == [NOW.date()]
