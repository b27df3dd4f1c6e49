"""Every refusal the lending rules can give, as a patron reads it, in each language."""

from __future__ import annotations

import re

import pytest

from kiosk.rules import Reason, Refusal
from kiosk.rules import reasons as made
from kiosk.session.i18n import load_translators
from kiosk.session.wording import refusal

TRANSLATORS = load_translators(("en", "es", "fr"))

# Each reason with the fields the rules give it, and what the English says.
EVERY_REFUSAL: list[tuple[Refusal, str]] = [
    (made.patron_barred(), "card"),
    (made.membership_expired("31 October 2026"), "31 October 2026"),
    (made.fines_owed("12.50", "10.00"), "12.50"),
    (made.item_unavailable("lost"), "lost"),
    (made.on_hold_for_other(), "reserved"),
    (made.no_privilege("Student", "DVD"), "DVD"),
    (made.privilege_quota(2, "Student", "Non Fiction"), "2"),
    (made.privilege_quota(1, "Student", "Non Fiction"), "1"),
    (made.member_type_quota(4, "Student"), "4"),
    (made.member_type_quota(1, "Child"), "1"),
    (made.publication_type_quota(3, "DVD"), "3"),
    (made.publication_type_quota(1, "DVD"), "1"),
    (made.no_issue_after("30 June 2027"), "30 June 2027"),
    (made.no_open_day_before("30 June 2027"), "30 June 2027"),
    (made.renewal_limit(2), "2"),
    (made.renewal_limit(1), "1"),
    (made.membership_renewal_barred(), "renewed"),
    (made.membership_renewal_fines_owed("12.50", "10.00"), "12.50"),
    (made.renewal_not_open("1 November 2027"), "1 November 2027"),
    (made.renewal_not_needed(), "no end date"),
    (made.renewal_not_allowed(), "staff"),
    (made.registration_pending(0), "approve"),
    (made.registration_pending(1), "1"),
    (made.registration_pending(3), "3"),
]


def test_the_table_holds_every_reason_the_rules_know() -> None:
    assert {answer.reason for answer, _ in EVERY_REFUSAL} == set(Reason)


@pytest.mark.parametrize(("answer", "english_holds"), EVERY_REFUSAL, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("code", ["en", "es", "fr"])
def test_each_refusal_is_a_whole_sentence_in_the_patrons_language(
    answer: Refusal, english_holds: str, code: str
) -> None:
    english = refusal(TRANSLATORS["en"], answer)
    said = refusal(TRANSLATORS[code], answer)
    assert english == answer.message
    assert english_holds in english
    assert not re.search(r"[{}]", said), said  # every placeholder filled
    assert said.rstrip().endswith((".", "!")), said
    numbers = re.findall(r"\d+", " ".join(answer.fields.values()))
    if code != "en":
        assert said != english  # translated, not left in English
        for number in numbers:  # amounts, quotas and dates keep their figures
            assert number in said, (number, said)
