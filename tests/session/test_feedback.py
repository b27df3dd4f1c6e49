"""Feedback at the end of a session (issue 17, item 4): one tap on a face, a reason if the
patron wishes, or nothing at all; journaled without the patron and to the hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.circulation.views import FeedbackReason
from kiosk.common.clock import FixedClock
from kiosk.session.viewdata import FinishView, Screen
from kiosk.store import outbox
from kiosk.store.store import Store
from kiosk.sync.protocol import FEEDBACK_REASONS, WireEntry
from tests.circulation.library import ADA, BEN, CARDS, FICTION

from .conftest import Kiosk

AT = datetime(2026, 11, 23, 10, 47, 31)


def finish(kiosk: Kiosk) -> FinishView:
    view = kiosk.frame.view
    assert isinstance(view, FinishView)
    return view


def feedback(store: Store) -> list[outbox.JournalEntry]:
    return [entry for entry in outbox.entries(store) if entry.kind == "feedback"]


def at_finish(kiosk: Kiosk, clock: FixedClock) -> Kiosk:
    clock.set(AT)
    return kiosk.sign_in(CARDS[ADA]).scan(FICTION[0]).press("done")


def test_the_faces_then_the_reasons(kiosk: Kiosk, clock: FixedClock) -> None:
    view = finish(at_finish(kiosk, clock))
    assert [face.id for face in view.faces] == ["feedback_1", "feedback_2", "feedback_3"]
    assert [face.label for face in view.faces] == ["Not good", "It was OK", "Good"]
    assert view.feedback_heading == "How was the kiosk today? (optional)"
    assert view.reasons == ()
    kiosk.press("feedback_1")
    view = finish(kiosk)
    assert [face.primary for face in view.faces] == [True, False, False]
    assert [button.id for button in view.reasons] == [
        "reason_not_found",
        "reason_slow",
        "reason_error",
        "reason_hard_to_use",
    ]
    assert view.reasons[0].label == "I could not find a book"
    kiosk.press("reason_slow")
    assert [button.primary for button in finish(kiosk).reasons] == [False, True, False, False]
    # Nothing is journaled until the session ends.
    assert feedback(kiosk.ports.circulation.store) == []


def test_a_rating_with_a_reason_is_journaled_without_the_patron(
    kiosk: Kiosk, clock: FixedClock, store: Store
) -> None:
    at_finish(kiosk, clock).press("feedback_1", "reason_slow", "no_receipt")
    assert kiosk.screen() is Screen.WELCOME
    assert kiosk.says("Thank you for your feedback. Goodbye!")
    [entry] = feedback(store)
    assert entry.details == {"rating": 1, "reason": "slow"}
    assert entry.patron_id is None
    assert entry.item_barcode == ""
    assert entry.decided_at == datetime(2026, 11, 23, 10, 0)
    # The server's validator takes it as it is pushed.
    WireEntry.model_validate(entry, from_attributes=True)


def test_a_rating_alone_and_a_changed_mind(kiosk: Kiosk, clock: FixedClock, store: Store) -> None:
    at_finish(kiosk, clock).press("feedback_1", "reason_error", "reason_error", "feedback_3")
    kiosk.press("print_receipt")
    [entry] = feedback(store)
    assert entry.details == {"rating": 3}
    assert kiosk.says("Your receipt is printing. Goodbye!")


def test_no_feedback_journals_nothing(kiosk: Kiosk, clock: FixedClock, store: Store) -> None:
    at_finish(kiosk, clock).press("no_receipt")
    assert kiosk.says("Thank you. Goodbye!")
    assert feedback(store) == []


def test_walking_away_keeps_the_rating_and_delays_no_one(
    kiosk: Kiosk, clock: FixedClock, store: Store
) -> None:
    at_finish(kiosk, clock).press("feedback_2")
    settings = kiosk.flow.settings
    kiosk.idle(settings.inactivity_seconds + settings.warning_seconds)
    assert kiosk.screen() is Screen.WELCOME
    assert not kiosk.says("Ada")
    [entry] = feedback(store)
    assert entry.details == {"rating": 2}


def test_the_next_card_ends_the_session_and_keeps_the_rating(
    kiosk: Kiosk, clock: FixedClock, store: Store
) -> None:
    at_finish(kiosk, clock).press("feedback_3", "reason_not_found")
    kiosk.sign_in(CARDS[BEN])
    assert kiosk.screen() is Screen.CHECKOUT
    [entry] = feedback(store)
    assert entry.details == {"rating": 3, "reason": "not_found"}
    # Ben's session starts with no rating of Ada's.
    kiosk.press("done")
    assert not any(face.primary for face in finish(kiosk).faces)
    assert finish(kiosk).reasons == ()


def test_the_hour_never_puts_the_clock_check_back(
    kiosk: Kiosk, clock: FixedClock, store: Store
) -> None:
    # The feedback's time is earlier than the loan before it; the kiosk still refuses a
    # clock put back behind that loan.
    at_finish(kiosk, clock).press("feedback_2", "no_receipt")
    with store.world() as world:
        assert world.latest_time() == AT
    clock.set(AT - timedelta(minutes=10))
    kiosk.scan(CARDS[BEN])
    assert kiosk.screen() is Screen.OUT_OF_SERVICE


def test_in_each_language(kiosk: Kiosk, clock: FixedClock) -> None:
    for language, face, reason in (
        ("es", "Bien", "El quiosco iba lento"),
        ("fr", "Bien", "La borne était lente"),
    ):
        clock.set(AT)
        kiosk.flow.end_session()
        kiosk.press(f"lang_{language}").sign_in(CARDS[ADA]).press("done", "feedback_3")
        view = finish(kiosk)
        assert view.faces[2].label == face
        assert reason in [button.label for button in view.reasons]


def test_the_reasons_are_the_protocols() -> None:
    assert tuple(reason.value for reason in FeedbackReason) == FEEDBACK_REASONS
