"""The guard for a long time offline (issue 17): once the mirror is older than
[offline] max_mirror_age_hours, a patron may borrow only items_per_session items a
visit, told so in plain words; staff mode and kiosk status show it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.appliance.status import gather, rows
from kiosk.circulation.service import Circulation, OfflineGuard
from kiosk.circulation.views import CheckoutStatus, Unavailable
from kiosk.common.clock import FixedClock
from kiosk.session.viewdata import CheckoutView, Sound, Tone
from kiosk.store.store import Store
from tests.circulation.library import ADA, CARDS, FICTION, NONFICTION, PIN

from .conftest import Kiosk

SYNCED = datetime(2026, 11, 23, 8, 0)  # the test library's last sync
A_DAY_LATER = SYNCED + timedelta(hours=25)


def test_an_old_mirror_lends_three_items_a_visit_and_says_why(
    store: Store, clock: FixedClock
) -> None:
    clock.set(A_DAY_LATER)
    kiosk = Kiosk(store, clock).sign_in(CARDS[ADA])
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    assert (view.waiting[0].title, view.waiting[0].detail) == (
        "This kiosk has been offline for a while.",
        "You can borrow up to 3 items here this time.",
    )
    for barcode in FICTION[:3]:
        kiosk.scan(barcode)
        assert kiosk.frame.sound is Sound.SUCCESS
    kiosk.scan(NONFICTION[0])
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    assert (view.lines[0].detail, view.lines[0].tone) == (
        "This kiosk has been offline for a while, so it lends only 3 items a visit. "
        "Please borrow the rest at the desk.",
        Tone.ERROR,
    )
    # An item already theirs is still said to be so, not refused.
    kiosk.scan(FICTION[0])
    assert "already on your card" in view_detail(kiosk)


def view_detail(kiosk: Kiosk) -> str:
    view = kiosk.frame.view
    assert isinstance(view, CheckoutView)
    return view.lines[0].detail


def test_a_fresh_mirror_has_no_limit(kiosk: Kiosk) -> None:
    kiosk.sign_in(CARDS[ADA])
    for barcode in (*FICTION[:2], *NONFICTION[:2]):  # a student's quota of 4
        kiosk.scan(barcode)
    assert kiosk.flow.patron.lent == 4
    assert not kiosk.says("offline")


def test_the_guard_is_in_spanish_and_french_too(store: Store, clock: FixedClock) -> None:
    clock.set(A_DAY_LATER)
    kiosk = Kiosk(store, clock).press("lang_es").sign_in(CARDS[ADA])
    assert kiosk.says("Esta máquina lleva un tiempo sin conexión.")
    kiosk.press("done", "no_receipt").press("lang_fr").sign_in(CARDS[ADA])
    assert kiosk.says("Vous pouvez emprunter jusqu'à 3 documents ici cette fois.")


def test_the_limit_and_age_are_the_configured_ones(store: Store, clock: FixedClock) -> None:
    clock.set(SYNCED + timedelta(hours=3))
    circulation = Circulation(store, clock, offline=OfflineGuard(timedelta(hours=2), 1))
    identified = circulation.identify(CARDS[ADA], PIN)
    assert not isinstance(identified, Unavailable)
    assert identified.session is not None
    assert identified.greeting.offline_limit == 1
    session = identified.session
    first = circulation.checkout(session, FICTION[0], lent_in_session=0)
    second = circulation.checkout(session, FICTION[1], lent_in_session=1)
    assert not isinstance(first, Unavailable)
    assert not isinstance(second, Unavailable)
    assert (first.status, second.status) == (CheckoutStatus.LENT, CheckoutStatus.OFFLINE_LIMIT)
    assert circulation.mirror_age() == (SYNCED, True)


@pytest.mark.usefixtures("store")
def test_kiosk_status_and_staff_mode_show_the_guard(clock: FixedClock, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # the circulation tests' library
    clock.set(SYNCED + timedelta(hours=2))
    fresh = gather(data_dir, clock)
    assert fresh.mirror["offline_guard"] is False
    assert not any("at most" in warning for warning in fresh.warnings)
    clock.set(A_DAY_LATER)
    old = gather(data_dir, clock)
    assert old.mirror["offline_guard"] is True
    assert (
        "the mirror was last refreshed 2026-11-23 08:00 (25 h ago), more than 24 h ago: "
        "patrons may borrow at most 3 items a visit until the kiosk syncs ([offline] in "
        "kiosk.toml)"
    ) in old.warnings
    assert old.can_lend
    tight = gather(data_dir, clock, offline=OfflineGuard(timedelta(hours=48), 2))
    assert tight.mirror["offline_guard"] is False
    assert rows(old)  # the staff page's rows, and its faults below them, come from here
