"""The subjects offered for the new arrivals (``patrons.arrival_subjects``), kept between
requests: counting them reads every record of the last SUBJECTS_FROM_DAYS, which on a
large catalogue costs far more than the portal's page around it.

The list depends on the day (the records of the last SUBJECTS_FROM_DAYS before it) and
on the catalogue. Every change to a record enters the change log as a ``record`` change
(the catalogue import, a record added at the desk; kiosks mirror them), in the order of
its sequence number, and the change counter holds the last number handed out. So a list
counted when the counter stood at N is still the list while no ``record`` change above
N has been committed: a read of the counter's one row, and when it has moved, a look at
the changes numbered since (by the primary key: only those). This holds across
processes: an import run from the terminal or the hourly timer tells the server nothing,
and none needs to. A change log that went back (a database restored under a running
server) counts again.

One ``ArrivalSubjects`` is built with the app (``app.state``) and shared by the threads
that run its routes: the state is one immutable value swapped under a lock, and one
thread counts while the others that find the list out of date wait for its answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central.circulation.patrons import SubjectsOffered, arrival_subjects
from kiosk.central.models import Change, ChangeCounter
from kiosk.sync.protocol import Entity


@dataclass(frozen=True, slots=True)
class _Counted:
    day: date
    cursor: int  # the change counter when it was counted: no record change after it
    subjects: tuple[str, ...]


def _cursor(db: Session) -> int:
    """The last change number handed out; every change up to it is committed (the
    counter's row lock is held until the commit: ``circulation.changes``)."""
    return db.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0


def _records_changed(db: Session, after: int, upto: int) -> bool:
    found = db.scalar(
        select(Change.seq)
        .where(Change.seq > after, Change.seq <= upto, Change.entity == Entity.RECORD.value)
        .limit(1)
    )
    return found is not None


class ArrivalSubjects:
    """``patrons.arrival_subjects`` counted once per day and catalogue change."""

    def __init__(self, count: SubjectsOffered = arrival_subjects) -> None:
        self._count = count
        self._counted: _Counted | None = None
        self._lock = threading.Lock()

    def __call__(self, db: Session, today: date) -> list[str]:
        cursor = _cursor(db)
        seen = self._counted
        counted = _still(db, seen, today, cursor)
        if counted is not None:
            if counted is not seen:
                self._move_on(seen, counted)
            return list(counted.subjects)
        with self._lock:
            latest = self._counted
            if latest is not seen and latest is not None and latest.day == today:
                # Another thread counted while this one waited, as late as this one would.
                counted = latest if latest.cursor >= cursor else _still(db, latest, today, cursor)
            if counted is None:
                # The counter is read before the records: a record changed meanwhile is
                # numbered above it, and counted next time.
                counted = _Counted(today, cursor, tuple(self._count(db, today)))
            self._counted = counted
        return list(counted.subjects)

    def _move_on(self, seen: _Counted | None, counted: _Counted) -> None:
        """Keep ``counted`` (the same list, known good to a later change) in place of
        ``seen``, unless another thread holds the lock (counting) or replaced it."""
        if self._lock.acquire(blocking=False):
            try:
                if self._counted is seen:
                    self._counted = counted
            finally:
                self._lock.release()


def _still(db: Session, counted: _Counted | None, today: date, cursor: int) -> _Counted | None:
    """``counted``, when it is still the list at ``cursor`` (then as at ``cursor``)."""
    if counted is None or counted.day != today or counted.cursor > cursor:
        return None
    if counted.cursor == cursor:
        return counted
    if _records_changed(db, counted.cursor, cursor):
        return None
    return _Counted(today, cursor, counted.subjects)
