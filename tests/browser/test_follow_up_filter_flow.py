"""The follow-up list at the scale of a municipality, in a real phone-sized Chromium: a liaison officer with 65 open
flags opens the list from the menu, unfolds the filters, narrows it to one school's girls (the count says how many
of all match, and only their flags show, 50 at first, the rest after "Show more"), then to the flags of medium or
high severity. Fields are found by their labels and controls by role, as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.browser.conftest import main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

GIVEN_GIRLS = ["Amina", "Zahra", "Mariam", "Fatemeh", "Leila", "Shirin", "Nargis", "Soraya", "Yasmin", "Rana"]
GIVEN_BOYS = ["Omid", "Yusuf", "Bilal", "Farid"]
FAMILIES = ["Haddad", "Hosseini", "Nazari", "Sadeghi", "Jafari", "Popal"]
QUIET_GIRLS_A = 53  # girls at school_a with no register at all: flag no_register (low severity)
ABSENT_GIRLS_A = 3  # girls at school_a absent six school days in a row: consecutive_absences (medium)
BOYS_A = 4  # boys at school_a with no register (and the seeded boy, Ahmad Rahimi, the same)
GIRLS_B = 4  # girls at school_b with no register
PAGE = 50


@dataclass(frozen=True)
class Flagged:
    all_codes: frozenset[str]  # every child with an open flag
    girls_a: frozenset[str]  # the girls at school_a
    absent_girls_a: frozenset[str]  # of them, those with a medium-severity flag


def _seed_many_flags(live_server) -> Flagged:
    """65 children with one open flag each, raised by the daily check (flags refresh), at the liaison's schools."""
    from tracker.attendance.operations import upsert_records
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.flags import operations as flag_ops
    from tracker.models import AcademicYear, Centre, Child, Flag, School
    from tracker.schools.calendar import school_days
    from tracker.types import Level

    today = dt.date.today()
    start = today - dt.timedelta(days=40)
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        year.first_day = min(year.first_day, start - dt.timedelta(days=14))
        db.session.commit()
        school_a = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        school_b = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_b))
        centre = db.session.scalar(sa.select(Centre))
        days = school_days(school_a, today - dt.timedelta(days=20), today - dt.timedelta(days=1))[-6:]
        as_of = days[-1]
        names = iter([(g, f) for f in FAMILIES for g in GIVEN_GIRLS])
        boys = iter([(g, f) for f in FAMILIES for g in GIVEN_BOYS])

        def child(sex, school, i):
            given, family = next(names if sex == "female" else boys)
            c = child_ops.register_child(given_name=given, family_name=family, sex=sex,
                                         birth_date=dt.date(today.year - 8 - i % 6, 1 + i % 12, 5), country="AFG",
                                         first_language="prs", centre=centre, centre_since=start)
            return c, enrol_ops.enrol(c, school, Level.primary.value, 2 + i % 5, start)

        girls_a, absent, rows = set(), set(), []
        for i in range(QUIET_GIRLS_A):
            girls_a.add(child("female", school_a, i)[0].code)
        for i in range(ABSENT_GIRLS_A):
            c, enrolment = child("female", school_a, i)
            girls_a.add(c.code)
            absent.add(c.code)
            rows += [{"enrolment_id": enrolment.id, "date": d, "reason": "", "note": "", "status": "absent_unexcused"}
                     for d in days]
        for i in range(BOYS_A):
            child("male", school_a, i)
        for i in range(GIRLS_B):
            child("female", school_b, i)
        upsert_records(rows)
        db.session.commit()
        flag_ops.refresh(as_of)
        db.session.commit()  # as `tracker flags refresh` does

        flags = db.session.execute(sa.select(Child.code, Flag.rule).join(Flag, Flag.child_id == Child.id)
                                   .where(Flag.cleared_on.is_(None))).all()
        by_code = {}
        for code, rule in flags:
            by_code.setdefault(code, []).append(rule)
        # One flag per child: medium for the absent girls, low (no register) for everyone else.
        assert all(len(rules) == 1 for rules in by_code.values()), by_code
        assert {c for c, rules in by_code.items() if rules == ["consecutive_absences"]} == absent
        assert len(by_code) == QUIET_GIRLS_A + ABSENT_GIRLS_A + BOYS_A + 1 + GIRLS_B, len(by_code)
        db.session.remove()
    return Flagged(frozenset(by_code), frozenset(girls_a), frozenset(absent))


@pytest.fixture
def flagged(live_server) -> Flagged:
    return _seed_many_flags(live_server)


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def shown_codes(page) -> list[str]:
    """The child codes of the flags listed, in order."""
    return [card.locator("span.muted").first.inner_text().strip()
            for card in page.get_by_role("main").locator("ul.flags > li").all()]


def test_liaison_filters_the_follow_up_list_by_school_girls_and_severity(page, live_server, flagged):
    main = page.get_by_role("main")
    everything = len(flagged.all_codes)
    girls_a = len(flagged.girls_a)
    assert girls_a > PAGE
    sign_in(page, live_server.seed.liaison_email)

    # 1. The list, from the menu: a count of all open flags, the first 50 of them, the filters folded.
    main_menu(page).get_by_role("link", name="Follow up", exact=True).click()
    expect(page.get_by_role("heading", name="Children to follow up", level=1)).to_be_visible()
    expect(main.locator("p.count")).to_have_text(f"{everything} open flags; {PAGE} shown.")
    expect(main.locator("ul.flags > li")).to_have_count(PAGE)
    school = main.get_by_label("School", exact=True)
    expect(school).to_be_hidden()
    assert_fits_phone(page)

    # 2. Unfold the filters; one school, girls only.
    main.get_by_text("Filter", exact=True).click()
    expect(school).to_be_visible()
    school.select_option(label=live_server.seed.school_a)
    main.get_by_label("Girls only", exact=True).check()
    main.get_by_role("button", name="Show", exact=True).click()

    expect(main.locator("p.count")).to_have_text(
        f"{girls_a} of {everything} open flags match the filters; {PAGE} shown.")
    expect(main.locator("ul.flags > li")).to_have_count(PAGE)
    codes = shown_codes(page)
    assert len(set(codes)) == PAGE and set(codes) <= flagged.girls_a, set(codes) - flagged.girls_a
    # The filters stay open and chosen, and can be cleared.
    expect(main.get_by_label("School", exact=True).locator("option:checked")).to_have_text(live_server.seed.school_a)
    expect(main.get_by_label("Girls only", exact=True)).to_be_checked()
    expect(main.get_by_role("link", name="Clear the filters", exact=True)).to_be_visible()
    assert_fits_phone(page)

    # 3. Show more: the rest of the school's girls, and no more "Show more".
    more = main.get_by_role("link", name="Show more", exact=True)
    box = more.bounding_box()
    assert box and box["height"] >= 44, box
    more.click()
    expect(main.locator("p.count")).to_have_text(
        f"{girls_a} of {everything} open flags match the filters; {girls_a} shown.")
    expect(main.locator("ul.flags > li")).to_have_count(girls_a)
    assert set(shown_codes(page)) == flagged.girls_a
    expect(main.get_by_role("link", name="Show more", exact=True)).to_have_count(0)
    expect(main.get_by_label("Girls only", exact=True)).to_be_checked()  # "Show more" keeps the filters

    # 4. Medium or high severity too: the three absent girls, first their flags' reason.
    main.get_by_label("Severity", exact=True).select_option(label="Medium or high")
    main.get_by_role("button", name="Show", exact=True).click()
    n = len(flagged.absent_girls_a)
    expect(main.locator("p.count")).to_have_text(f"{n} of {everything} open flags match the filters; {n} shown.")
    expect(main.locator("ul.flags > li")).to_have_count(n)
    assert set(shown_codes(page)) == flagged.absent_girls_a
    for card in main.locator("ul.flags > li").all():
        expect(card).to_contain_text(re.compile(r"absent 6 school days in a row since"))
        expect(card).to_contain_text("Medium")
    expect(main.get_by_role("link", name="Show more", exact=True)).to_have_count(0)
    assert_fits_phone(page)
    page.screenshot(path="/tmp/follow_up_filtered.png", full_page=True)

    # 5. Clear the filters: every open flag again.
    main.get_by_role("link", name="Clear the filters", exact=True).click()
    expect(main.locator("p.count")).to_have_text(f"{everything} open flags; {PAGE} shown.")
