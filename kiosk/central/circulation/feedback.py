"""Patrons' feedback from the portal (issue 15, part 8): a rating from 1 to 5 and a
comment, anonymous unless the patron asks to be contacted about it; and what staff read
of it: the count of each rating, the average over a period, the comments newest first.

A patron may send ``PER_PATRON`` forms a day and one address ``PER_ADDRESS`` (a
household or the library's own computers share one), so a script cannot fill the table.
The counts are kept by day, as the feedback itself is: nothing in either says at what
time an anonymous form came.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kiosk.central.errors import CentralError
from kiosk.central.models import FeedbackSender, PortalFeedback, insert_or_skip

RATINGS = (1, 2, 3, 4, 5)
MAX_COMMENT = 1000
PER_PATRON = 3
PER_ADDRESS = 20


class FeedbackRefused(CentralError):
    """The form is wrong: ``problems`` names each field that is (``rating``,
    ``comment``), all at once; nothing was kept."""

    def __init__(self, problems: set[str]) -> None:
        self.problems = problems
        super().__init__(f"feedback refused: {', '.join(sorted(problems))}")


class TooMuchFeedback(CentralError):
    """The patron, or their address, has sent as many forms as a day allows."""


def _rating(text: str) -> int | None:
    return int(text) if text in {str(number) for number in RATINGS} else None


def _count(db: Session, sender: str, today: date, most: int) -> bool:
    """One more form from ``sender`` today, unless it has sent ``most`` already."""
    # The row is made if missing (two first forms at once: one skips), then locked, so
    # the count is an update of a locked row on either database.
    db.execute(
        insert_or_skip(db.get_bind().dialect.name, FeedbackSender, "sender").values(
            sender=sender, day=today, sent=0
        )
    )
    row = db.get(FeedbackSender, sender, with_for_update=True, populate_existing=True)
    assert row is not None  # made above; only forget_senders deletes, and not today's
    if row.day != today:
        row.day, row.sent = today, 0
    if row.sent >= most:
        return False
    row.sent += 1
    return True


def send_feedback(
    db: Session,
    *,
    patron_id: str,
    address: str,
    rating: str,
    comment: str,
    contact: bool,
    now: datetime,
) -> None:
    """Keep one form, linked to the patron only when ``contact``. Raises FeedbackRefused
    (a rating not from 1 to 5, a comment too long) or TooMuchFeedback; either way nothing
    is kept. Commits."""
    chosen = _rating(rating.strip())
    said = comment.strip()
    problems = {
        name
        for name, wrong in (("rating", chosen is None), ("comment", len(said) > MAX_COMMENT))
        if wrong
    }
    if problems:
        raise FeedbackRefused(problems)
    assert chosen is not None
    today = now.date()
    # The patron's row first, the address's second, always: two patrons at one address
    # lock in the same order and never wait for each other in a circle.
    counted = _count(db, f"patron {patron_id}", today, PER_PATRON) and _count(
        db, f"address {address[:64]}", today, PER_ADDRESS
    )
    if not counted:
        db.rollback()
        raise TooMuchFeedback("too many feedback forms today")
    db.add(
        PortalFeedback(
            day=today, rating=chosen, comment=said, patron_id=patron_id if contact else None
        )
    )
    db.commit()


def forget_senders(db: Session, today: date) -> int:
    """Delete the counts of days gone: who sent feedback is kept no longer than the day.
    The caller commits."""
    result = db.execute(delete(FeedbackSender).where(FeedbackSender.day < today))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Summary:
    counts: dict[int, int]  # each rating, those given none included
    total: int
    average: float | None  # None: none in the period


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    day: date
    rating: int
    comment: str
    patron_id: str | None  # None: anonymous


def summary(db: Session, first: date, last: date) -> Summary:
    """The ratings given from ``first`` to ``last``, both included."""
    rows = db.execute(
        select(PortalFeedback.rating, func.count())
        .where(PortalFeedback.day >= first, PortalFeedback.day <= last)
        .group_by(PortalFeedback.rating)
    ).all()
    found = {int(rating): int(count) for rating, count in rows}
    counts = {rating: found.get(rating, 0) for rating in RATINGS}
    total = sum(counts.values())
    average = sum(r * n for r, n in counts.items()) / total if total else None
    return Summary(counts, total, average)


def comments(
    db: Session, first: date, last: date, page: int, per_page: int
) -> tuple[list[Comment], bool]:
    """The forms with a comment from ``first`` to ``last``, newest first, page ``page``
    (from 1) of ``per_page``, and whether another page follows."""
    rows = db.scalars(
        select(PortalFeedback)
        .where(
            PortalFeedback.day >= first, PortalFeedback.day <= last, PortalFeedback.comment != ""
        )
        .order_by(PortalFeedback.day.desc(), PortalFeedback.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    shown = [
        Comment(row.id, row.day, row.rating, row.comment, row.patron_id) for row in rows[:per_page]
    ]
    return shown, len(rows) > per_page
