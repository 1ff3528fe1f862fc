"""The year's calendar on a phone-sized Chromium: an administrator adds a two-week break in one form, sees it
as one entry with no part of the page cut off, and removes it with all its days."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def _admin(live_server, password_hash) -> tuple[str, str, dt.date]:
    from tracker.extensions import db
    from tracker.models import AcademicYear, User
    from tracker.types import Role

    with live_server.app.app_context():
        db.session.add(User(email="admin@example.org", name="Ana Admin", role=Role.admin, password_hash=password_hash))
        db.session.commit()
        year = db.session.scalar(sa.select(AcademicYear))
        label, first = year.label, year.first_day
        db.session.remove()
    return "admin@example.org", label, first


def _no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_break_is_one_entry_on_a_phone(page, live_server, password_hash):
    from tracker.extensions import db
    from tracker.models import NonSchoolDay

    email, label, first = _admin(live_server, password_hash)
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7 + 7)
    sign_in(page, email)
    page.goto(f"/calendar/{label.replace('/', '-')}")
    _no_horizontal_scroll(page)
    page.get_by_label("First day off").fill(monday.isoformat())
    page.get_by_label("Last day off").fill((monday + dt.timedelta(days=13)).isoformat())
    page.locator("#range-description").fill("Winter break")
    page.get_by_role("button", name="Add the break").click()
    expect(page.get_by_role("status")).to_contain_text("Winter break added: 10 school days off.")
    entries = page.locator("li.day-off")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("10 school days off")
    box = entries.first.get_by_role("button", name="Remove").bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 390
    _no_horizontal_scroll(page)
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NonSchoolDay)) == 10
        db.session.remove()

    entries.first.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("removed, with all its days")
    expect(page.locator("li.day-off")).to_have_count(0)
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(NonSchoolDay)) == 0
        db.session.remove()
