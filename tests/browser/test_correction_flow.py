"""A liaison officer corrects a child's birth date in a real phone-sized Chromium and reads the earlier value
in the history of corrections. Fields are found by their labels and controls by role, as a screen reader
finds them."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def shown(day: dt.date) -> str:
    """A date as the English pages show it."""
    return format_date(day, "medium", locale="en")


def test_officer_corrects_a_birth_date_and_sees_the_history(page, live_server):
    seed = live_server.seed
    corrected = seed.existing_birth - dt.timedelta(days=365 + 40)
    main = page.get_by_role("main")

    sign_in(page, seed.liaison_email)
    page.goto(f"/children/{seed.existing_code}")
    expect(page.get_by_role("heading", name=f"{seed.existing_given} {seed.existing_family}", level=1)).to_be_visible()
    expect(main.get_by_text("No corrections.", exact=True)).to_be_visible()

    link = main.get_by_role("link", name="Correct details", exact=True)
    box = link.bounding_box()
    assert box["height"] >= 44, box  # a phone's tap target
    link.click()
    expect(page.get_by_role("heading", name="Correct the details", level=1)).to_be_visible()
    birth = page.get_by_label("Birth date", exact=True)
    expect(birth).to_have_value(seed.existing_birth.isoformat())
    birth.fill(corrected.isoformat())
    page.get_by_label("Birth date is estimated", exact=True).check()
    page.get_by_role("button", name="Save corrections", exact=True).click()

    expect(page.get_by_role("status").or_(page.get_by_role("alert")).filter(
        has_text="The corrections are saved.")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]
    history = page.get_by_role("region", name="History of corrections")
    expect(history).to_be_visible()
    expect(history.get_by_role("listitem")).to_have_count(2)
    entry = history.get_by_role("listitem").filter(has_text="Birth date:")
    expect(entry).to_contain_text(f"{shown(seed.existing_birth)} → {shown(corrected)}")
    expect(entry).to_contain_text("Jelena Petrović")
    expect(history.get_by_role("listitem").filter(has_text="Birth date is estimated")).to_contain_text("no → yes")
    facts = main.locator("dl.facts")
    expect(facts).to_contain_text(f"{shown(corrected)} (estimated)")

    from tracker.extensions import db
    from tracker.models import Child

    with live_server.app.app_context():
        child = db.session.scalar(sa.select(Child).where(Child.code == seed.existing_code))
        assert (child.birth_date, child.birth_date_estimated) == (corrected, True)
