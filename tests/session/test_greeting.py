"""What waits for the patron on the checkout screen, and renewing a membership there:
through the view data, on a real data directory (issue 17)."""

from __future__ import annotations

from datetime import date

from kiosk.common.clock import FixedClock
from kiosk.session.viewdata import CheckoutView, Line, Screen, Sound, Tone
from kiosk.store import loading, outbox
from kiosk.store.store import Store
from tests.circulation.library import (
    ADA,
    BEN,
    CARDS,
    DOT,
    FAY,
    FICTION,
    GUS,
    HELD_FOR_BEN,
)

from .conftest import Kiosk


def waiting(kiosk: Kiosk) -> list[Line]:
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    return list(view.waiting)


def synced_now(store: Store, clock: FixedClock) -> None:
    """The mirror refreshed at the clock's time: days moved on, but not offline."""
    with store.mirror.begin() as connection:
        loading.put_cursor(connection, 1, clock.now())


def sound(kiosk: Kiosk) -> Sound | None:
    return kiosk.frame.sound


def test_a_hold_ready_an_overdue_loan_and_money_owed_greet_the_patron(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN])
    assert kiosk.screen() == Screen.CHECKOUT
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    assert view.waiting_heading == "Waiting for you"
    assert [(line.title, line.detail, line.tone) for line in view.waiting] == [
        ("The Hobbit", "Ready for you at the hold shelf.", Tone.SUCCESS),
        ("1 item is overdue.", "You can renew in My account.", Tone.ERROR),
        ("You owe £1.50.", "You can pay at the desk.", Tone.NOTICE),
    ]
    assert "renew_membership" not in kiosk.flow.buttons()


def test_a_loan_due_within_three_days_is_named_with_its_date(
    store: Store, clock: FixedClock
) -> None:
    clock.set(clock.now().replace(day=28))  # Ben's other loan is due on 1 December
    synced_now(store, clock)
    kiosk = Kiosk(store, clock)
    kiosk.sign_in(CARDS[BEN])
    assert ("1 item is due back soon.", "Due back by 1 December 2026.") in [
        (line.title, line.detail) for line in waiting(kiosk)
    ]


def test_a_patron_with_nothing_waiting_sees_no_list(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA])
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    assert view.waiting == ()
    assert view.waiting_heading == ""


def test_a_hold_collected_here_leaves_the_list_at_once(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[BEN]).scan(HELD_FOR_BEN).press("done", "no_receipt")
    kiosk.sign_in(CARDS[BEN])
    titles = [line.title for line in waiting(kiosk)]
    assert "The Hobbit" not in titles


def test_the_greeting_reads_the_journal_a_loan_lent_here_counts(
    store: Store, clock: FixedClock
) -> None:
    kiosk = Kiosk(store, clock)
    kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).press("done", "no_receipt")
    clock.set(clock.now().replace(month=12, day=20))  # three weeks on: overdue
    synced_now(store, clock)
    kiosk = Kiosk(store, clock)
    kiosk.sign_in(CARDS[ADA])
    assert [line.title for line in waiting(kiosk)] == ["1 item is overdue."]


def test_a_membership_ending_soon_is_renewed_with_one_tap(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[FAY])
    [line] = waiting(kiosk)
    assert (line.title, line.detail) == (
        "Your membership ends on 10 December 2026.",
        "You can renew it here.",
    )
    assert line.action is not None
    assert line.action.id == "renew_membership"
    kiosk.press("renew_membership")
    assert kiosk.frame.sound is Sound.SUCCESS
    assert kiosk.says("Your membership is renewed until 10 December 2027.")
    [line] = waiting(kiosk)
    assert (line.title, line.detail, line.action) == (
        "Your membership is renewed.",
        "It now runs until 10 December 2027.",
        None,
    )
    # The journal holds it: signed in again, the new expiry is already the patron's.
    kiosk.press("done", "no_receipt")
    kiosk.sign_in(CARDS[FAY])
    assert waiting(kiosk) == []


def test_a_renewal_the_rules_refuse_says_why_and_records_nothing(
    kiosk: Kiosk, store: Store
) -> None:
    kiosk.sign_in(CARDS[GUS])
    kiosk.press("renew_membership")
    assert kiosk.frame.sound is Sound.ERROR
    membership = waiting(kiosk)[-1]
    assert membership.tone is Tone.ERROR
    assert membership.action is None
    assert "12.00" in membership.detail
    assert "renew_membership" not in kiosk.flow.buttons()
    assert outbox.entries(store) == []


def test_a_member_type_only_staff_renew_is_sent_to_the_desk(
    store: Store, clock: FixedClock
) -> None:
    # Dot, a student, ended on 31 October; students renew at the desk only.
    kiosk = Kiosk(store, clock)
    kiosk.sign_in(CARDS[DOT])
    assert "renew_membership" not in kiosk.flow.buttons()
    assert kiosk.says("Your membership ended on")


def test_the_greeting_is_spoken_in_the_patrons_language(kiosk: Kiosk) -> None:
    kiosk.press("lang_fr").sign_in(CARDS[FAY])
    [line] = waiting(kiosk)
    assert line.title == "Votre abonnement prend fin le 10 décembre 2026."
    kiosk.press("renew_membership")
    assert kiosk.says("Votre abonnement est renouvelé jusqu'au 10 décembre 2027.")


def test_an_expired_membership_the_patron_may_renew_lends_again_at_once(
    store: Store, clock: FixedClock
) -> None:
    clock.set(clock.now().replace(month=12, day=15))  # Fay's membership ended on the 10th
    synced_now(store, clock)
    kiosk = Kiosk(store, clock)
    kiosk.sign_in(CARDS[FAY])
    [line] = waiting(kiosk)
    assert line.title == "Your membership ended on 10 December 2026."
    assert sound(kiosk.scan(FICTION[1])) is Sound.ERROR
    assert sound(kiosk.press("renew_membership").scan(FICTION[2])) is Sound.SUCCESS
    assert date(2027, 12, 15).strftime("%-d December %Y") in " ".join(kiosk.texts())
