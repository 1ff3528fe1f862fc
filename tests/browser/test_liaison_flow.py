"""The liaison officer's main flow in a real phone-sized Chromium: sign in, register a child, enrol,
transfer, record an exit, read the history. Fields are found by their labels and controls by role,
as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

ARABIC_NAME = "أمينة حدّاد"  # with a shadda: stored and shown exactly, not normalised away
CODE_URL = re.compile(r"/children/(C-[0-9A-Z]{6})$")


def shown(day: dt.date) -> str:
    """A date as the English pages show it."""
    return format_date(day, "medium", locale="en")


def assert_fits_phone(page) -> None:
    """Nothing on the page is wider than the phone: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def child_code(page) -> str:
    match = CODE_URL.search(page.url)
    assert match, page.url
    return match.group(1)


def test_liaison_registers_enrols_transfers_and_records_an_exit(page, live_server):
    seed = live_server.seed
    today = dt.date.today()
    enrol_day, transfer_day, exit_day = today - dt.timedelta(days=20), today - dt.timedelta(days=10), today
    birth = dt.date(today.year - 9, 5, 12)
    main = page.get_by_role("main")

    # 1. Sign in.
    sign_in(page, seed.liaison_email)
    expect(page.get_by_role("heading", name="Your schools", level=1)).to_be_visible()
    session = next(c for c in page.context.cookies() if c["name"] == "session")
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Lax")
    assert_fits_phone(page)

    # 2. Register a child.
    main.get_by_role("link", name="Register a child", exact=True).click()
    expect(page.get_by_role("heading", name="Register a child", level=1)).to_be_visible()
    assert_fits_phone(page)
    page.get_by_label("Given name (Latin script)", exact=True).fill("Amina")
    page.get_by_label("Family name (Latin script)", exact=True).fill("Haddad")
    page.get_by_label("Name in original script", exact=True).fill(ARABIC_NAME)
    page.get_by_label("Sex", exact=True).select_option(label="Female")
    page.get_by_label("Birth date", exact=True).fill(birth.isoformat())
    page.get_by_label("Country of origin", exact=True).select_option(label="Syria")
    page.get_by_label("First language", exact=True).select_option(label="Arabic")
    page.get_by_label("Arrival in Serbia", exact=True).fill((today - dt.timedelta(days=40)).isoformat())
    page.get_by_label("Lives in centre", exact=True).select_option(label=seed.centre)
    page.get_by_label("In this centre since", exact=True).fill((today - dt.timedelta(days=40)).isoformat())
    expect(page.get_by_label("Unaccompanied or separated?", exact=True)).to_have_value("accompanied")
    expect(page.get_by_label("Legal basis for processing", exact=True)).to_have_value("public_task")
    page.get_by_role("button", name="Register", exact=True).click()

    expect(page).to_have_url(CODE_URL)
    code = child_code(page)
    expect(page.get_by_role("status")).to_have_text(f"Amina Haddad is registered as {code}.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amina Haddad")
    expect(main.get_by_text("Not enrolled yet.")).to_be_visible()

    # 3. Enrol at the first of the liaison's schools.
    main.get_by_role("link", name="Enrol", exact=True).click()
    expect(page.get_by_role("heading", name="Enrol", level=1)).to_be_visible()
    assert_fits_phone(page)
    school = page.get_by_label("School", exact=True)
    expect(school.get_by_role("option")).to_have_text(["Choose…", seed.school_b, seed.school_a])  # only the liaison's
    school.select_option(label=seed.school_a)
    page.get_by_label("Level", exact=True).select_option(label="Primary")
    page.get_by_label("Grade", exact=True).fill("3")
    expect(page.get_by_label("Class", exact=True)).to_have_value("")  # "Not yet assigned"
    page.get_by_label("First day at school", exact=True).fill(enrol_day.isoformat())
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Enrolled at {seed.school_a}.")

    # 4. Transfer to the liaison's other school.
    main.get_by_role("link", name="Transfer", exact=True).click()
    expect(page.get_by_role("heading", name="Transfer to another school", level=1)).to_be_visible()
    assert_fits_phone(page)
    page.get_by_label("New school", exact=True).select_option(label=f"{seed.school_b} (Beograd)")
    page.get_by_label("First day at the new school", exact=True).fill(transfer_day.isoformat())
    page.get_by_label("Note", exact=True).fill("Closer to the centre")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Transferred to {seed.school_b}.")

    # 5. Record the exit: the family moved on from Serbia.
    main.get_by_role("link", name="Record an exit", exact=True).click()
    expect(page.get_by_role("heading", name="Record an exit", level=1)).to_be_visible()
    assert_fits_phone(page)
    page.get_by_label("Last day at school", exact=True).fill(exit_day.isoformat())
    page.get_by_label("Reason", exact=True).select_option(label="Moved onward (left Serbia)")
    page.get_by_label("Note", exact=True).fill("Family continued to Austria")
    page.get_by_role("button", name="Record exit", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The exit is recorded.")

    # 6. The child's page tells the whole story.
    expect(page).to_have_url(re.compile(f"/children/{code}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amina Haddad")
    original = main.get_by_text(ARABIC_NAME, exact=True)
    expect(original).to_have_count(1)
    assert original.inner_text() == ARABIC_NAME
    assert original.get_attribute("dir") == "auto"

    history = page.get_by_role("region", name="Enrolment history")
    rows = history.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows).to_have_count(2)
    newest, first = rows.nth(0), rows.nth(1)
    for text in (seed.school_b, "Primary 3", shown(transfer_day), shown(exit_day), "Moved onward (left Serbia)",
                 "Family continued to Austria"):
        expect(newest).to_contain_text(text)
    for text in (seed.school_a, "Primary 3", shown(enrol_day), shown(transfer_day - dt.timedelta(days=1)),
                 "Transferred to another school", "Closer to the centre"):
        expect(first).to_contain_text(text)
    expect(history).not_to_contain_text("now")  # nothing left open

    centres = page.get_by_role("region", name="Centre history")
    expect(centres).to_contain_text(f"{seed.centre} (Asylum centre, Beograd)")
    # No open enrolment: the child can be enrolled again, not transferred or exited.
    expect(main.get_by_role("link", name="Enrol", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Transfer", exact=True)).to_have_count(0)
    expect(main.get_by_role("link", name="Record an exit", exact=True)).to_have_count(0)
    assert_fits_phone(page)
    page.screenshot(path="/tmp/child_page.png", full_page=True)

    # The database holds exactly what the pages showed.
    from tracker.extensions import db
    from tracker.models import Child

    with live_server.app.app_context():
        child = db.session.scalar(sa.select(Child).where(Child.code == code))
        assert child.name_original == ARABIC_NAME
        assert (child.country, child.first_language, child.birth_date) == ("SYR", "ara", birth)
        assert [(e.school.name, e.start_date, e.end_date, e.exit_reason.value) for e in child.enrolments] == [
            (seed.school_a, enrol_day, transfer_day - dt.timedelta(days=1), "transferred"),
            (seed.school_b, transfer_day, exit_day, "moved_onward"),
        ]
        db.session.remove()


def test_possible_duplicate_is_shown_and_can_be_registered_anyway(page, live_server):
    seed = live_server.seed
    main = page.get_by_role("main")
    sign_in(page, seed.liaison_email)
    main.get_by_role("link", name="Register a child", exact=True).click()

    page.get_by_label("Given name (Latin script)", exact=True).fill(seed.existing_given)
    page.get_by_label("Family name (Latin script)", exact=True).fill(seed.existing_family)
    page.get_by_label("Sex", exact=True).select_option(label="Male")
    page.get_by_label("Birth date", exact=True).fill(seed.existing_birth.isoformat())
    page.get_by_label("Country of origin", exact=True).select_option(label="Afghanistan")
    page.get_by_label("First language", exact=True).select_option(label="Dari")
    page.get_by_role("button", name="Register", exact=True).click()

    warning = page.get_by_role("alert")
    expect(warning.get_by_role("heading", name="Possible match already registered")).to_be_visible()
    match = warning.get_by_role("link", name=f"{seed.existing_given} {seed.existing_family}", exact=True)
    expect(match).to_have_attribute("href", f"/children/{seed.existing_code}")
    assert_fits_phone(page)
    # What was typed is still there.
    expect(page.get_by_label("Given name (Latin script)", exact=True)).to_have_value(seed.existing_given)
    expect(page.get_by_label("Birth date", exact=True)).to_have_value(seed.existing_birth.isoformat())

    confirm = page.get_by_label("I checked the possible matches: this is a different child", exact=True)
    expect(confirm).not_to_be_checked()
    confirm.check()
    page.get_by_role("button", name="Register", exact=True).click()

    expect(page).to_have_url(CODE_URL)
    code = child_code(page)
    assert code != seed.existing_code
    expect(page.get_by_role("status")).to_have_text(
        f"{seed.existing_given} {seed.existing_family} is registered as {code}.")

    from tracker.extensions import db
    from tracker.models import Child

    with live_server.app.app_context():
        twins = db.session.scalars(sa.select(Child.code).where(Child.given_name == seed.existing_given,
                                                               Child.family_name == seed.existing_family)).all()
        assert sorted(twins) == sorted([seed.existing_code, code])
        db.session.remove()


# Every control whose aria-invalid is not absent/"false"/"" (ARIA: an unknown value counts as "true"), and
# every aria-describedby reference to an element that does not exist.
ARIA_PROBLEMS = """els => els.flatMap(e => {
  const out = [];
  const invalid = e.getAttribute('aria-invalid');
  if (![null, '', 'false'].includes(invalid)) out.push(`#${e.id} aria-invalid="${invalid}"`);
  for (const ref of (e.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean))
    if (!document.getElementById(ref)) out.push(`#${e.id} aria-describedby="${ref}" (no such element)`);
  return out;
})"""


def test_untouched_fields_are_not_announced_as_invalid(page, live_server):
    sign_in(page, live_server.seed.liaison_email)
    page.get_by_role("main").get_by_role("link", name="Register a child", exact=True).click()
    expect(page.get_by_role("heading", name="Register a child", level=1)).to_be_visible()
    controls = page.get_by_role("main").locator("input:not([type=hidden]), select, textarea")
    assert controls.evaluate_all(ARIA_PROBLEMS) == []
