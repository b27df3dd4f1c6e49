"""Why a loan, a renewal or a membership renewal is refused: a stable code for machines,
a sentence for patrons.

The sentence is an English template with named fields so that the screens can
translate the template (it is the gettext message id) and fill in the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    PATRON_BARRED = "patron_barred"
    MEMBERSHIP_EXPIRED = "membership_expired"
    FINES_OWED = "fines_owed"
    ITEM_UNAVAILABLE = "item_unavailable"
    ON_HOLD_FOR_OTHER = "on_hold_for_other"
    NO_PRIVILEGE = "no_privilege"
    PRIVILEGE_QUOTA = "privilege_quota"
    MEMBER_TYPE_QUOTA = "member_type_quota"
    PUBLICATION_TYPE_QUOTA = "publication_type_quota"
    NO_ISSUE_AFTER = "no_issue_after"
    RENEWAL_LIMIT = "renewal_limit"
    RENEWAL_NOT_OPEN = "renewal_not_open"
    RENEWAL_NOT_ALLOWED = "renewal_not_allowed"
    REGISTRATION_PENDING = "registration_pending"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    template: str
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template.format_map(self.fields)


def reason_codes(refusals: Iterable[Refusal]) -> list[str]:
    return [refusal.reason.value for refusal in refusals]


def patron_barred() -> Refusal:
    return Refusal(
        Reason.PATRON_BARRED,
        "Your card can't be used to borrow at the moment. Please see a member of staff.",
    )


def membership_expired(expired_on: str) -> Refusal:
    return Refusal(
        Reason.MEMBERSHIP_EXPIRED,
        "Your membership ended on {expired_on}. Please renew it at the desk.",
        {"expired_on": expired_on},
    )


def fines_owed(owed: str, limit: str) -> Refusal:
    return Refusal(
        Reason.FINES_OWED,
        "You owe {owed}, which is more than the {limit} you may owe and still borrow. "
        "Please pay at the desk.",
        {"owed": owed, "limit": limit},
    )


def item_unavailable(status: str) -> Refusal:
    return Refusal(
        Reason.ITEM_UNAVAILABLE,
        "This item can't be borrowed right now (it is recorded as {status}). "
        "Please hand it to a member of staff.",
        {"status": status.replace("_", " ")},
    )


def on_hold_for_other() -> Refusal:
    return Refusal(
        Reason.ON_HOLD_FOR_OTHER,
        "This item is reserved for another member. Please leave it at the desk.",
    )


def no_privilege(member_type: str, publication_type: str) -> Refusal:
    return Refusal(
        Reason.NO_PRIVILEGE,
        "{member_type} members can't borrow {publication_type} items.",
        {"member_type": member_type, "publication_type": publication_type},
    )


def privilege_quota(quota: int, member_type: str, publication_type: str) -> Refusal:
    if quota == 0:
        return Refusal(
            Reason.PRIVILEGE_QUOTA,
            "{member_type} members can't borrow {publication_type} items.",
            {"member_type": member_type, "publication_type": publication_type},
        )
    fields = {"quota": str(quota), "member_type": member_type, "publication_type": publication_type}
    if quota == 1:
        return Refusal(
            Reason.PRIVILEGE_QUOTA,
            "You already have {quota} {publication_type} item, "
            "the most a {member_type} may borrow.",
            fields,
        )
    return Refusal(
        Reason.PRIVILEGE_QUOTA,
        "You already have {quota} {publication_type} items, the most a {member_type} may borrow.",
        fields,
    )


def member_type_quota(quota: int, member_type: str) -> Refusal:
    if quota == 0:
        return Refusal(
            Reason.MEMBER_TYPE_QUOTA,
            "{member_type} members can't borrow items from this kiosk.",
            {"member_type": member_type},
        )
    fields = {"quota": str(quota), "member_type": member_type}
    if quota == 1:
        return Refusal(
            Reason.MEMBER_TYPE_QUOTA,
            "You already have {quota} item, the most a {member_type} may borrow.",
            fields,
        )
    return Refusal(
        Reason.MEMBER_TYPE_QUOTA,
        "You already have {quota} items, the most a {member_type} may borrow.",
        fields,
    )


def publication_type_quota(quota: int, publication_type: str) -> Refusal:
    if quota == 0:
        return Refusal(
            Reason.PUBLICATION_TYPE_QUOTA,
            "{publication_type} items can't be borrowed.",
            {"publication_type": publication_type},
        )
    fields = {"quota": str(quota), "publication_type": publication_type}
    if quota == 1:
        return Refusal(
            Reason.PUBLICATION_TYPE_QUOTA,
            "You already have {quota} {publication_type} item, the most anyone may borrow.",
            fields,
        )
    return Refusal(
        Reason.PUBLICATION_TYPE_QUOTA,
        "You already have {quota} {publication_type} items, the most anyone may borrow.",
        fields,
    )


def registration_pending(quota: int) -> Refusal:
    """A registration not approved yet may borrow ``quota`` items at most (0: none)."""
    if quota == 0:
        return Refusal(
            Reason.REGISTRATION_PENDING,
            "Your registration is waiting for the library to approve it. "
            "You can borrow once it is approved.",
        )
    fields = {"quota": str(quota)}
    if quota == 1:
        return Refusal(
            Reason.REGISTRATION_PENDING,
            "You already have {quota} item, the most you may borrow until the library "
            "approves your registration.",
            fields,
        )
    return Refusal(
        Reason.REGISTRATION_PENDING,
        "You already have {quota} items, the most you may borrow until the library "
        "approves your registration.",
        fields,
    )


def no_issue_after(cap: str) -> Refusal:
    return Refusal(
        Reason.NO_ISSUE_AFTER,
        "Lending of this item has closed for now: loans had to be back by {cap}.",
        {"cap": cap},
    )


def no_open_day_before(cap: str) -> Refusal:
    return Refusal(
        Reason.NO_ISSUE_AFTER,
        "The library is closed on every day this item could be due back by {cap}.",
        {"cap": cap},
    )


def renewal_limit(renewals: int) -> Refusal:
    return Refusal(
        Reason.RENEWAL_LIMIT,
        "This item can't be renewed again: it has been renewed the most times allowed "
        "({renewals}).",
        {"renewals": str(renewals)},
    )


# --- membership renewal ---------------------------------------------------------------
# Barred and fines owed keep their codes but say "renew", not "borrow".


def membership_renewal_barred() -> Refusal:
    return Refusal(
        Reason.PATRON_BARRED,
        "Your membership can't be renewed here at the moment. Please see a member of staff.",
    )


def membership_renewal_fines_owed(owed: str, limit: str) -> Refusal:
    return Refusal(
        Reason.FINES_OWED,
        "You owe {owed}, which is more than the {limit} you may owe and still renew "
        "your membership. Please pay at the desk.",
        {"owed": owed, "limit": limit},
    )


def renewal_not_open(opens_on: str) -> Refusal:
    return Refusal(
        Reason.RENEWAL_NOT_OPEN,
        "Your membership can be renewed from {opens_on}.",
        {"opens_on": opens_on},
    )


def renewal_not_needed() -> Refusal:
    return Refusal(
        Reason.RENEWAL_NOT_OPEN,
        "Your membership has no end date, so it does not need renewing.",
    )


def renewal_not_allowed() -> Refusal:
    return Refusal(
        Reason.RENEWAL_NOT_ALLOWED,
        "Your membership can only be renewed by library staff. Please ask at the desk.",
    )
