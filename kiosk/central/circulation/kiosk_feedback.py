"""Patrons' ratings of the kiosks (issue 17, item 4), per kiosk and week, for the staff
console's Reports. A rating is 1 to 3, worst to best, perhaps with a reason; each came
from a kiosk's journal anonymous, with its hour (kiosk_feedback)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.central.circulation.reports import Period
from kiosk.central.models import Kiosk, KioskFeedback
from kiosk.sync.protocol import FEEDBACK_RATINGS, FEEDBACK_REASONS

# The staff's words for each rating and reason, as the kiosk's faces and buttons say them.
RATING_WORDS = {1: "Not good", 2: "It was OK", 3: "Good"}
REASON_WORDS = {
    "not_found": "Could not find a book",
    "slow": "The kiosk was slow",
    "error": "There was an error",
    "hard_to_use": "Hard to use",
}


@dataclass(frozen=True, slots=True)
class KioskWeek:
    """One kiosk's ratings in one week (its Monday), within the period asked for."""

    kiosk: str
    week: date
    ratings: tuple[int, ...]  # how many of each rating, worst first
    reasons: tuple[int, ...]  # how many gave each reason, in FEEDBACK_REASONS' order

    @property
    def total(self) -> int:
        return sum(self.ratings)

    @property
    def given(self) -> tuple[tuple[str, int], ...]:
        """Each reason given at least once, with how many gave it."""
        return tuple(
            (code, count)
            for code, count in zip(FEEDBACK_REASONS, self.reasons, strict=True)
            if count
        )

    @property
    def average(self) -> float:
        return sum(n * count for n, count in zip(FEEDBACK_RATINGS, self.ratings, strict=True)) / (
            self.total or 1
        )


def per_kiosk_and_week(db: Session, period: Period) -> tuple[KioskWeek, ...]:
    """Each kiosk's ratings given in the period, a row a week, newest week first, then by
    kiosk name; a week the period only partly covers counts only the period's days."""
    count = func.count().label("count")
    rows = db.execute(
        select(Kiosk.name, KioskFeedback.week, KioskFeedback.rating, KioskFeedback.reason, count)
        .join(Kiosk, Kiosk.id == KioskFeedback.kiosk_id)
        .where(KioskFeedback.hour >= period.start, KioskFeedback.hour < period.end)
        .group_by(Kiosk.name, KioskFeedback.week, KioskFeedback.rating, KioskFeedback.reason)
    ).all()
    ratings: dict[tuple[str, date], Counter[int]] = {}
    reasons: dict[tuple[str, date], Counter[str]] = {}
    for name, week, rating, reason, n in rows:
        key = (name, week)
        ratings.setdefault(key, Counter())[rating] += n
        if reason is not None:
            reasons.setdefault(key, Counter())[reason] += n
    ordered = sorted(ratings, key=lambda key: (-key[1].toordinal(), key[0]))
    return tuple(
        KioskWeek(
            name,
            week,
            tuple(ratings[name, week][n] for n in FEEDBACK_RATINGS),
            tuple(reasons.get((name, week), Counter())[code] for code in FEEDBACK_REASONS),
        )
        for name, week in ordered
    )
