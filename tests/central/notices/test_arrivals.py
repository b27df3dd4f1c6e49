"""The weekly new arrivals by subject as well as by publication type (issue 16), on
SQLite and PostgreSQL through a real SMTP server on loopback: the catalogue import's
subject headings, the subjects a patron may choose (the broad subjects of the year's new
records) and the check of a choice, and the notice: each new record of a chosen subject
or type once, to whoever chose new arrivals and nothing to anyone else, once a week."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from kiosk.central.circulation.actor import Actor
from kiosk.central.circulation.importers import import_file
from kiosk.central.circulation.patrons import PatronRefused, arrival_subjects, update_patron
from kiosk.central.errors import ImportRejected
from kiosk.central.models import Notice, Patron, Record
from kiosk.central.notices.finding import MAX_ARRIVALS, new_arrivals
from kiosk.central.notices.runner import Runner
from kiosk.common.clock import FixedClock
from kiosk.demo.library import Scale
from tests.central.notices.conftest import (
    NOW,
    TODAY,
    SmtpServer,
    body,
    demo_library,
    notices_config,
)

STAFF = Actor("cyril", "127.0.0.1")
CATALOGUE = (
    "brn,title,author,isbn,publication_type,subjects\n"
    '5,Brand New Novel,A. Writer,,FICTION,"Space -- Fiction; Friendship"\n'
    "6,Brand New Film,A. Writer,,DVD,Science fiction;  space -- exploration ;\n"
    "7,Fresh Cookbook,A. Cook,,FICTION,Cookery\n"
    "1,Middlemarch,George Eliot,,FICTION,Space\n"
)


def _import(engine: Engine, tmp_path: Path, text: str, name: str = "catalogue.csv") -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with Session(engine) as db:
        import_file(db, "catalogue", path, actor="cyril", origin="test", now=NOW)
        db.commit()


def _subjects(engine: Engine) -> dict[int, str]:
    with Session(engine) as db:
        return {row.brn: row.subjects for row in db.execute(select(Record.brn, Record.subjects))}


def _choose(engine: Engine, patron_id: str, **values: str) -> None:
    with Session(engine) as db:
        db.execute(update(Patron).where(Patron.patron_id == patron_id).values(**values))
        db.commit()


def test_the_catalogue_import_keeps_subject_headings(library: Engine, tmp_path: Path) -> None:
    _import(library, tmp_path, CATALOGUE)
    found = _subjects(library)
    assert found[5] == "Space -- Fiction; Friendship"
    assert found[6] == "Science fiction; space -- exploration"
    assert found[7] == "Cookery"
    # A file without the column leaves the headings as they are.
    _import(
        library,
        tmp_path,
        "brn,title,author,isbn,publication_type\n5,Brand New Novel,A. Writer,,FICTION\n",
        "again.csv",
    )
    assert _subjects(library)[5] == "Space -- Fiction; Friendship"
    too_long = "; ".join(f"Heading number {n}" for n in range(40))
    with pytest.raises(ImportRejected) as rejected:
        _import(
            library,
            tmp_path,
            f'brn,title,author,isbn,publication_type,subjects\n5,N,A,,FICTION,"{too_long}"\n',
            "long.csv",
        )
    assert "long.csv:2: subjects: is longer than 400 characters" in str(rejected.value.problems)
    assert _subjects(library)[5] == "Space -- Fiction; Friendship"


def test_patrons_choose_among_the_years_broad_subjects(library: Engine, tmp_path: Path) -> None:
    _import(library, tmp_path, CATALOGUE)
    with Session(library) as db:
        # Middlemarch entered the catalogue before there were new arrivals: not offered.
        db.execute(update(Record).where(Record.brn == 1).values(added_on=None))
        db.commit()
        assert arrival_subjects(db, TODAY) == ["Cookery", "Friendship", "Science fiction", "Space"]
        assert arrival_subjects(db, TODAY + timedelta(days=400)) == []
    with Session(library) as db:
        changed = update_patron(
            db, "p-all", {"arrival_subjects": "space;COOKERY; space"}, NOW, STAFF
        )
    assert changed == ("arrival_subjects",)
    with Session(library) as db:
        with pytest.raises(PatronRefused) as refused:
            update_patron(db, "p-all", {"arrival_subjects": "Space; Cookry"}, NOW, STAFF)
        assert "did you mean 'Cookery'" in refused.value.problems["arrival_subjects"]
        assert db.get(Patron, "p-all").arrival_subjects == "Cookery; Space"  # type: ignore[union-attr]
    # A subject chosen before stays choosable when the year has no new record of it.
    later = NOW + timedelta(days=400)
    with Session(library) as db:
        assert update_patron(db, "p-all", {"arrival_subjects": "Space"}, later, STAFF) == (
            "arrival_subjects",
        )
    with Session(library) as db, pytest.raises(PatronRefused):
        update_patron(db, "p-all", {"arrival_subjects": "Space; Cookery"}, later, STAFF)


def test_new_arrivals_by_subject_and_type_go_once_a_week_to_whoever_chose_them(
    library: Engine, smtp: SmtpServer, tmp_path: Path
) -> None:
    _import(library, tmp_path, CATALOGUE)
    with Session(library) as db:  # the import's records came today: this week's came before
        db.execute(update(Record).where(Record.brn == 7).values(added_on=TODAY - timedelta(days=1)))
        db.execute(update(Record).where(Record.brn == 1).values(added_on=None))
        db.commit()
    _choose(library, "p-all", arrivals="", arrival_subjects="Space")
    _choose(library, "p-fr", arrivals="FICTION", arrival_subjects="Space; Cookery")
    _choose(library, "p-es", arrivals="", arrival_subjects="")  # chose the kind, nothing of it
    _choose(library, "p-nothing", arrival_subjects="Space")  # chose no notices at all
    clock = FixedClock(NOW)
    runner = Runner(library, notices_config(smtp.port), clock.now)
    runner.run_once()

    def arrivals(address: str) -> list[str]:
        return [
            body(message)
            for message in smtp.mail.to(address)
            if message["X-Library-Notice"] == "new_arrivals"
        ]

    (ada,) = arrivals("ada@example.org")
    assert "Brand New Novel" in ada  # Space -- Fiction
    assert "Brand New Film" in ada  # space -- exploration, a DVD: by subject, whatever type
    assert "Fresh Cookbook" not in ada
    assert "Middlemarch" not in ada  # of the subject, but no new arrival
    (fleur,) = arrivals("fleur@example.org")
    assert fleur.count("Brand New Novel") == 1  # fiction and space: listed once
    assert "Fresh Cookbook" in fleur
    assert "Brand New Film" in fleur
    assert arrivals("eva@example.org") == []
    assert arrivals("bo@example.org") == []
    # Again the same day, and on the days after until next week: nothing more.
    runner.run_once()
    for _ in range(6):
        clock.advance(days=1)
        runner.run_once()
    assert len(arrivals("ada@example.org")) == 1
    clock.advance(days=1)  # next Monday: the week before had no new record
    runner.run_once()
    assert len(arrivals("ada@example.org")) == 1


def test_the_demo_library_sends_new_arrivals_by_subject(
    database_url: str, smtp: SmtpServer
) -> None:
    engine, library = demo_library(database_url, Scale(items=600, patrons=40, loans=20, seed=4))
    week = [(record.title, record.publication_type, record.subjects) for record in _week(engine)]
    assert "Mystery -- Fiction" in {subjects for _, _, subjects in week}
    Runner(engine, notices_config(smtp.port), FixedClock(NOW).now).run_once()
    by_subject = library.patrons[6]  # a digest, by history and mysteries alone
    both = library.patrons[3]  # by fiction and astronomy
    with Session(engine) as db:
        chosen = db.get(Patron, by_subject["patron_id"])
        assert chosen is not None
        assert (chosen.arrivals, chosen.arrival_subjects) == ("", "History; Mystery")
        (notice,) = db.scalars(
            select(Notice).where(
                Notice.patron_id == by_subject["patron_id"], Notice.kind == "new_arrivals"
            )
        ).all()
    listed = {item["title"] for item in notice.facts["items"]}
    assert listed == {
        title for title, _, subjects in week if subjects in ("History", "Mystery -- Fiction")
    }
    (mailed,) = [
        message
        for message in smtp.mail.messages
        if message["X-Library-Notice"] == "new_arrivals"
        and str(message["To"]).endswith(f".{both['patron_id'].lower()}@example.org")
    ]
    text = body(mailed)
    for title, kind, subjects in week:
        if kind == "FICTION" or subjects == "Astronomy":
            assert title in text
    engine.dispose()


def _week(engine: Engine) -> list[Record]:
    with Session(engine) as db:
        return list(
            db.scalars(
                select(Record).where(
                    Record.added_on >= TODAY - timedelta(days=7), Record.added_on < TODAY
                )
            ).all()
        )


def test_a_patrons_new_arrivals_are_the_newest_twenty_each_once(library: Engine) -> None:
    """Forty of the week's records, each of a type or a subject the patron chose, some
    of both: the notice lists the newest MAX_ARRIVALS, newest first (a day's by record
    number, highest first), each once; another patron's choice of one subject only
    lists that subject's."""
    with Session(library) as db:
        for n in range(40):
            db.add(
                Record(
                    brn=900 + n,
                    title=f"Arrival {n:02d}",
                    author="A. Writer",
                    publication_type="DVD" if n % 3 else "FICTION",
                    subjects="Space -- Fiction" if n % 2 else "Cookery",
                    added_on=TODAY - timedelta(days=1 + n // 10),
                )
            )
        db.commit()
    _choose(library, "p-fr", notices="new_arrivals", arrivals="FICTION", arrival_subjects="Space")
    _choose(library, "p-all", notices="new_arrivals", arrivals="", arrival_subjects="Cookery")
    with Session(library) as db:
        found = {notice.patron_id: notice for notice in new_arrivals(db, TODAY)}
    wanted = [n for n in range(40) if n % 3 == 0 or n % 2 == 1]  # FICTION or Space
    newest_first = sorted(wanted, key=lambda n: (n // 10, -n))
    titles = [item["title"] for item in found["p-fr"].facts["items"]]
    assert titles == [f"Arrival {n:02d}" for n in newest_first[:MAX_ARRIVALS]]
    cookery = sorted((n for n in range(40) if n % 2 == 0), key=lambda n: (n // 10, -n))
    assert [item["title"] for item in found["p-all"].facts["items"]] == [
        f"Arrival {n:02d}" for n in cookery
    ]
