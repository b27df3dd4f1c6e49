"""Patrons' ratings of the kiosks on the console's Reports page, in Debian's chromium:
pushed by kiosks through the real sync API, per kiosk and week in a table, as a CSV file,
a kiosk's name escaped, and axe-core on the page."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import requests
from playwright.sync_api import Page, expect

from kiosk.sync.protocol import WireEntry
from tests.central.test_feedback_sync import ENTRY

from .conftest import Console, register
from .test_browser import accessible, shot, sign_in, watch

ODD_NAME = "<img src=x onerror=alert(1)>"


def feedback(entry_id: str, seq: int, at: datetime, details: dict[str, Any]) -> dict[str, Any]:
    """A kiosk's feedback entry as its agent sends it."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    entry = {**ENTRY, "id": entry_id, "seq": seq, "decided_at": hour, "details": details}
    return WireEntry(**entry).model_dump(mode="json")


def push(console: Console, kiosk: str, entries: list[dict[str, Any]]) -> list[str]:
    answer = requests.post(
        f"{console.url}/v1/journal",
        json={"entries": entries},
        headers={"Authorization": f"Bearer {console.tokens[kiosk]}"},
        timeout=10,
    )
    answer.raise_for_status()
    return [result["outcome"] for result in answer.json()["results"]]


def test_ratings_per_kiosk_and_week_on_the_reports_page(page: Page, console: Console) -> None:
    register(console, "north", ODD_NAME)
    now = datetime.now()
    monday = now.date() - timedelta(days=now.weekday())
    last_week = now - timedelta(days=7)
    north = [
        feedback("n-1", 1, now, {"rating": 1, "reason": "slow"}),
        feedback("n-2", 2, now, {"rating": 1, "reason": "slow"}),
        feedback("n-3", 3, now, {"rating": 3}),
        feedback("n-4", 4, last_week, {"rating": 2, "reason": "not_found"}),
    ]
    assert push(console, "north", north) == ["applied"] * 4
    assert push(console, "north", north[::-1]) == ["duplicate"] * 4
    assert push(console, ODD_NAME, [feedback("o-1", 1, now, {"rating": 2})]) == ["applied"]

    problems = watch(page)
    sign_in(page, console, "vera")  # a viewer sees the reports
    page.goto(f"{console.url}/staff/reports?from={monday - timedelta(days=7)}&to={now.date()}")
    expect(page.get_by_role("heading", name="Patrons' ratings of the kiosks")).to_be_visible()
    table = page.locator("#kiosk-feedback-table")
    this_week = table.locator(f'tr[data-kiosk="north"][data-week="{monday}"]')
    expect(this_week.locator("td")).to_have_text(
        [
            f"{monday:%a} {monday.day} {monday:%b} {monday.year}",
            "2",
            "0",
            "1",
            "1.7",
            "The kiosk was slow: 2",
        ]
    )
    earlier = table.locator(f'tr[data-kiosk="north"][data-week="{monday - timedelta(days=7)}"]')
    expect(earlier.locator("td").nth(2)).to_have_text("1")
    expect(earlier.locator("td").last).to_have_text("Could not find a book: 1")
    # The kiosk's name is text, never markup.
    odd = table.locator("tbody tr").filter(has_text=ODD_NAME)
    expect(odd.locator("td").last).to_have_text("None")
    expect(page.get_by_role("link", name="Feedback", exact=True).last).to_have_attribute(
        "href", "/staff/feedback"
    )
    accessible(page)
    shot(page, "reports-kiosk-feedback")
    # The portal's Feedback page points here.
    page.goto(f"{console.url}/staff/feedback")
    with page.expect_navigation():
        page.get_by_role("link", name="Reports", exact=True).last.click()
    expect(page).to_have_url(re.compile(r"/staff/reports#kiosk-feedback$"))
    expect(page.locator("#kiosk-feedback")).to_be_visible()
    accessible(page)

    page.goto(f"{console.url}/staff/reports?from={monday - timedelta(days=7)}&to={now.date()}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download patrons' ratings per kiosk and week as CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == [
        "Kiosk",
        "Week beginning",
        "1 (Not good)",
        "2 (It was OK)",
        "3 (Good)",
        "Ratings",
    ]
    assert ["north", monday.isoformat(), "2", "0", "1", "3", "0", "2", "0", "0"] in rows

    # A week with no ratings says so.
    page.goto(f"{console.url}/staff/reports?from=2026-01-05&to=2026-01-11")
    expect(page.locator("#kiosk-feedback-none")).to_have_text("No ratings in this range.")
    accessible(page)
    assert problems == []
