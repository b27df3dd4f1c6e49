"""A patron's messaging preferences: the channel, the kinds of notice, how many days
before a due date, a daily digest, the publication types and the subjects of the new
arrivals wanted.

Kept on the patron's row (``patrons.notify_by``, ``notices``, ``due_soon_days``,
``digest``, ``arrivals``, ``arrival_subjects``); written by the patron CSV import, the
staff console's patron edit and the portal (the subjects: the portal and the console),
each typed value checked here so that all say the same about a mistake.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from kiosk.common.suggest import did_you_mean

# Every kind of notice a patron may choose, in the order staff and patrons read them.
KINDS = (
    "due_soon",
    "overdue",
    "hold_ready",
    "hold_expiring",
    "membership_expiring",
    "receipt",
    "new_arrivals",
)
KIND_NAMES = {
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "hold_ready": "Hold ready",
    "hold_expiring": "Hold about to expire",
    "membership_expiring": "Membership expiring",
    "receipt": "Receipts",
    "new_arrivals": "New arrivals (weekly)",
}
# Notices answering the patron's own request (the portal's registration, issue 15):
# no preference turns them off, and they go by email alone.
REQUESTED = ("registration_received", "registration_approved")
DEFAULT_KINDS = ("due_soon", "overdue", "hold_ready", "hold_expiring", "membership_expiring")
CHANNELS = ("email", "sms", "none")
CHANNEL_NAMES = {"email": "Email", "sms": "Text message (SMS)", "none": "Neither (printed)"}
DEFAULT_DUE_SOON_DAYS = 2
SUBJECT_SEPARATOR = "; "
# The most subjects a patron may choose: as many as the portal offers of the catalogue's
# (kiosk.central.circulation.patrons.MOST_SUBJECTS), which patrons.arrival_subjects
# (text, migration 0026) holds whatever their length.
MAX_SUBJECTS = 100
MAX_DUE_SOON_DAYS = 14
_FLAGS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False, "": False}


class BadPreference(ValueError):
    """A preference typed wrong; the message says what is wanted."""


class TooManySubjects(BadPreference):
    """More subjects chosen than :data:`MAX_SUBJECTS`, each of them one to choose."""


@dataclass(frozen=True, slots=True)
class Preferences:
    notify_by: str
    kinds: frozenset[str]
    due_soon_days: int
    digest: bool
    arrivals: frozenset[str]
    subjects: frozenset[str] = frozenset()

    def wants(self, kind: str) -> bool:
        return kind in self.kinds and (
            kind != "new_arrivals" or bool(self.arrivals) or bool(self.subjects)
        )


def preferences(  # noqa: PLR0917 - the row's columns, in its order
    notify_by: str,
    notices: str,
    due_soon_days: int,
    digest: bool,
    arrivals: str,
    subjects: str = "",
) -> Preferences:
    """The preferences as a patron's row stores them."""
    return Preferences(
        notify_by,
        frozenset(codes(notices)),
        due_soon_days,
        digest,
        frozenset(codes(arrivals)),
        frozenset(headings(subjects)),
    )


class _Row(Protocol):
    notify_by: str
    notices: str
    due_soon_days: int
    digest: bool
    arrivals: str
    arrival_subjects: str


def of_patron(patron: _Row) -> Preferences:
    """The preferences of a patron's row (or any row with its columns)."""
    return preferences(
        patron.notify_by,
        patron.notices,
        patron.due_soon_days,
        patron.digest,
        patron.arrivals,
        patron.arrival_subjects,
    )


def codes(text: str) -> list[str]:
    """A stored or typed list of codes: separated by commas, spaces or semicolons."""
    return [code for code in text.replace(";", ",").replace(" ", ",").split(",") if code]


def headings(text: str) -> list[str]:
    """Subject headings as stored or typed, separated by semicolons (a heading may hold
    spaces and commas: "Cookery, Vegetarian"), each once, spaces tidied."""
    found: dict[str, str] = {}
    for part in text.split(";"):
        heading = " ".join(part.split())
        if heading:
            found.setdefault(heading.casefold(), heading)
    return list(found.values())


def broad(heading: str) -> str:
    """A heading's broad subject, as patrons choose it: "History -- Europe" is
    "History"."""
    return " ".join(heading.split("--", 1)[0].split())


def subjects(chosen: Iterable[str], offered: Collection[str]) -> str:
    """Subjects chosen among ``offered`` (the catalogue's broad subjects), as stored:
    each as the catalogue spells it, by semicolons, in the catalogue's order."""
    by_fold = {subject.casefold(): subject for subject in offered}
    picked = headings(";".join(chosen))
    unknown = [subject for subject in picked if subject.casefold() not in by_fold]
    if unknown:
        raise BadPreference(
            f"unknown subject {unknown[0]!r}" + did_you_mean(unknown[0], offered, bracketed=True)
        )
    if len(picked) > MAX_SUBJECTS:
        raise TooManySubjects(f"too many subjects: at most {MAX_SUBJECTS}, not {len(picked)}")
    wanted = {subject.casefold() for subject in picked}
    # Each once: a subject offered today may be one chosen before too.
    spelled: dict[str, str] = {}
    for subject in offered:
        spelled.setdefault(subject.casefold(), subject)
    return SUBJECT_SEPARATOR.join(
        subject for folded, subject in spelled.items() if folded in wanted
    )


def joined(chosen: Iterable[str], order: Iterable[str]) -> str:
    """Codes as stored: in ``order``, each once."""
    wanted = set(chosen)
    return ",".join(code for code in order if code in wanted)


def channel(text: str) -> str:
    value = text.strip().lower()
    if value not in CHANNELS:
        raise BadPreference(
            f"must be email, sms or none, not {text!r}"
            + did_you_mean(value, CHANNELS, bracketed=True)
        )
    return value


def kinds(text: str) -> str:
    typed = [code.lower() for code in codes(text.strip())]
    unknown = [code for code in typed if code not in KINDS]
    if unknown:
        raise BadPreference(
            f"unknown kind of notice {unknown[0]!r}"
            + did_you_mean(unknown[0], KINDS, bracketed=True)
            + f"; the kinds are {', '.join(KINDS)}"
        )
    return joined(typed, KINDS)


def due_soon_days(text: str) -> int:
    value = text.strip()
    if not value:
        return DEFAULT_DUE_SOON_DAYS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_DUE_SOON_DAYS:
        raise BadPreference(f"must be a number of days from 1 to {MAX_DUE_SOON_DAYS}")
    return int(value)


def flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in _FLAGS:
        raise BadPreference(f"must be yes or no, not {text!r}")
    return _FLAGS[value]


def arrivals(text: str, publication_types: Collection[str]) -> str:
    typed = codes(text.strip())
    unknown = [code for code in typed if code not in publication_types]
    if unknown:
        raise BadPreference(
            f"unknown publication type {unknown[0]!r}"
            f"{did_you_mean(unknown[0], publication_types, bracketed=True)}"
        )
    return joined(typed, sorted(publication_types))


def described(chosen: Preferences) -> str:
    """The preferences in a line for staff: "Email: Due soon, New arrivals (weekly); one
    daily digest; new arrivals of FICTION, on Cookery"."""
    kinds = [KIND_NAMES[kind] for kind in KINDS if kind in chosen.kinds]
    if chosen.notify_by == "none":
        words = "None chosen: printed"
    else:
        words = CHANNEL_NAMES[chosen.notify_by] + ": " + (", ".join(kinds) or "none chosen")
    if "due_soon" in chosen.kinds:
        words += f"; due soon {chosen.due_soon_days} days before"
    if chosen.digest:
        words += "; one daily digest"
    if "new_arrivals" in chosen.kinds:
        chosen_arrivals = [
            *(f"of {code}" for code in sorted(chosen.arrivals)),
            *(f"on {subject}" for subject in sorted(chosen.subjects, key=str.casefold)),
        ]
        words += "; new arrivals " + (", ".join(chosen_arrivals) or "of nothing chosen")
    return words
