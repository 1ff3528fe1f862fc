"""The follow-up page in a real phone-sized Chromium: a liaison officer sees an unaccompanied girl's flag before
a boy's, logs a home visit and resolves the flag; the child's page keeps what was done. Fields are found by
their labels and controls by role, as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from tests.browser.conftest import main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

ABSENT_DAYS = 6  # in a row at the end of the records: rule consecutive_absences (5 or more), not presumed_dropout
PRESENT_DAYS = 3  # before them; 9 records in all stay under chronic_absence's 10-day minimum: one flag per child
NOTE = "Visited the girl and her guardian at Krnjača; she was ill, back on Monday"


@dataclass(frozen=True)
class Flagged:
    as_of: dt.date  # the day of the last record, when the flags were refreshed
    since: dt.date  # the first day of the absences
    girl_code: str
    boy_code: str
    girl_flag: int
    boy_flag: int


def shown(day: dt.date) -> str:
    """A date as the English pages show it."""
    return format_date(day, "medium", locale="en")


def _seed_flags(live_server) -> Flagged:
    """A boy and then an unaccompanied girl at the liaison's first school, both absent the last six school days."""
    from tracker.attendance.operations import upsert_records
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.flags import operations as flag_ops
    from tracker.models import AcademicYear, Centre, Child, Flag, School
    from tracker.schools.calendar import school_days
    from tracker.types import Level

    today = dt.date.today()
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        # The records end on the last weekday before today: the seeded year must cover the weeks before it.
        year.first_day = min(year.first_day, today - dt.timedelta(days=60))
        db.session.commit()
        school = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        centre = db.session.scalar(sa.select(Centre))
        days = school_days(school, today - dt.timedelta(days=30), today - dt.timedelta(days=1))
        days = days[-(PRESENT_DAYS + ABSENT_DAYS):]
        as_of, since = days[-1], days[PRESENT_DAYS]
        arrived = today - dt.timedelta(days=90)

        # The boy first: by raised day and id alone his flag would come first.
        boy = child_ops.register_child(given_name="Yusuf", family_name="Ahmadi", sex="male",
                                       birth_date=dt.date(today.year - 12, 2, 1), country="AFG", first_language="pus",
                                       centre=centre, centre_since=arrived)
        girl = child_ops.register_child(given_name="Zahra", family_name="Hosseini", sex="female",
                                        birth_date=dt.date(today.year - 14, 6, 9), country="AFG", first_language="prs",
                                        uasc_status="unaccompanied", guardian_name="Dragana Ilić",
                                        guardian_organisation="Centar za socijalni rad Palilula",
                                        centre=centre, centre_since=arrived)
        rows = []
        for child in (boy, girl):
            enrolment = enrol_ops.enrol(child, school, Level.primary.value, 6, days[0] - dt.timedelta(days=7))
            rows += [{"enrolment_id": enrolment.id, "date": day, "reason": "", "note": "",
                      "status": "present" if i < PRESENT_DAYS else "absent_unexcused"} for i, day in enumerate(days)]
        upsert_records(rows)
        db.session.commit()
        flag_ops.refresh(as_of)
        db.session.commit()  # as `tracker flags refresh` does

        def flag_of(child):
            flags = db.session.scalars(sa.select(Flag).where(Flag.child_id == child.id)).all()
            assert [(f.rule, f.evidence) for f in flags] == [
                ("consecutive_absences", {"days": ABSENT_DAYS, "since": since.isoformat()})]
            return flags[0].id

        flagged = Flagged(as_of, since, girl.code, boy.code, flag_of(girl), flag_of(boy))
        assert girl.is_uasc and not boy.is_uasc
        assert db.session.scalar(sa.select(Child.sex).where(Child.id == girl.id)).value == "female"
        db.session.remove()
    return flagged


@pytest.fixture
def flagged(live_server) -> Flagged:
    return _seed_flags(live_server)


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def form_with(page, button: str):
    """The form that holds the named button (the page has two forms, each with a Note field)."""
    return page.get_by_role("main").locator("form").filter(
        has=page.get_by_role("button", name=button, exact=True))


def test_liaison_sees_the_uasc_girl_first_logs_a_home_visit_and_resolves_the_flag(page, live_server, flagged):
    from tracker.extensions import db
    from tracker.models import Flag, FollowUp, User

    main = page.get_by_role("main")
    reason = f"absent {ABSENT_DAYS} school days in a row since {shown(flagged.since)}"
    visit_day = min(dt.date.today(), flagged.as_of + dt.timedelta(days=1))
    sign_in(page, live_server.seed.liaison_email)

    # 1. The follow-up page, from the menu: the girl's flag first, before the boy's, its reason in words.
    main_menu(page).get_by_role("link", name="Follow up", exact=True).click()
    expect(page.get_by_role("heading", name="Children to follow up", level=1)).to_be_visible()
    assert_fits_phone(page)
    cards = main.get_by_role("listitem")
    expect(cards.first).to_contain_text("Zahra Hosseini")
    names = [text.split("\n")[0].strip() for text in cards.all_inner_texts()]
    girl_at = next(i for i, t in enumerate(names) if t.startswith("Zahra Hosseini"))
    boy_at = next(i for i, t in enumerate(names) if t.startswith("Yusuf Ahmadi"))
    assert girl_at == 0 and girl_at < boy_at, names
    girl_card, boy_card = cards.nth(girl_at), cards.nth(boy_at)
    expect(girl_card).to_contain_text(reason)
    expect(girl_card).to_contain_text("Girl")
    expect(girl_card).to_contain_text("UASC")
    expect(girl_card).to_contain_text(flagged.girl_code)
    expect(girl_card).to_contain_text(f"raised {shown(flagged.as_of)}")
    expect(girl_card).to_contain_text("Medium")
    expect(girl_card).to_contain_text("Open")
    expect(boy_card).to_contain_text(reason)
    expect(boy_card).not_to_contain_text("UASC")
    page.screenshot(path="/tmp/follow_up.png", full_page=True)

    # 2. Open the girl's flag.
    girl_card.get_by_role("link", name="Zahra Hosseini", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/follow-up/{flagged.girl_flag}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zahra Hosseini")
    expect(main).to_contain_text(reason)
    expect(main.get_by_text("Nothing logged yet.", exact=True)).to_be_visible()
    assert_fits_phone(page)

    # 3. Log the home visit.
    follow = form_with(page, "Log follow-up")
    what = follow.get_by_label("What was done", exact=True)
    what.select_option(label="Home visit (centre)")
    expect(follow.get_by_label("Date", exact=True)).to_have_value(dt.date.today().isoformat())
    follow.get_by_label("Date", exact=True).fill(visit_day.isoformat())
    follow.get_by_label("Note", exact=True).fill(NOTE)
    follow.get_by_role("button", name="Log follow-up", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Follow-up logged.")
    expect(page).to_have_url(re.compile(rf"/follow-up/{flagged.girl_flag}$"))
    expect(main.get_by_role("listitem")).to_have_text(
        f"{shown(visit_day)} · Home visit (centre): {NOTE} (Jelena Petrović)")
    expect(main.locator("p.card")).to_contain_text("Acknowledged")  # logging a follow-up acknowledges the flag
    assert_fits_phone(page)
    page.screenshot(path="/tmp/follow_up_flag.png", full_page=True)

    # 4. Resolve it: back in school.
    resolve = form_with(page, "Resolve")
    resolve.get_by_label("Outcome", exact=True).select_option(label="Back in school")
    resolve.get_by_label("Note", exact=True).fill("Attending again since the visit")
    resolve.get_by_role("button", name="Resolve", exact=True).click()

    # Back on the list: the girl's flag is gone, the boy's is still there.
    expect(page.get_by_role("status")).to_have_text("Flag resolved.")
    expect(page.get_by_role("heading", name="Children to follow up", level=1)).to_be_visible()
    expect(main.locator(f'a[href="/follow-up/{flagged.girl_flag}"]')).to_have_count(0)
    expect(main.get_by_role("listitem").filter(has_text="Zahra Hosseini")).to_have_count(0)
    expect(main.get_by_role("listitem").filter(has_text="Yusuf Ahmadi")).to_contain_text(reason)

    # 5. The child's page keeps the flag, its outcome and the follow-up.
    page.goto(f"/children/{flagged.girl_code}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zahra Hosseini")
    flags = page.get_by_role("region", name="Flags and follow-up")
    expect(flags).to_contain_text(reason)
    expect(flags).to_contain_text("Resolved")
    expect(flags).to_contain_text(f"{shown(visit_day)} · Home visit (centre): {NOTE}")
    expect(flags.get_by_role("link", name=reason, exact=True)).to_have_attribute(
        "href", f"/follow-up/{flagged.girl_flag}")
    assert_fits_phone(page)

    # The database holds what the pages showed.
    with live_server.app.app_context():
        flag = db.session.get(Flag, flagged.girl_flag)
        liaison = db.session.scalar(sa.select(User).where(User.email == live_server.seed.liaison_email))
        assert (flag.status, flag.outcome, flag.outcome_note) == ("resolved", "back_in_school",
                                                                  "Attending again since the visit")
        assert (flag.resolved_by_id, flag.acknowledged_by_id, flag.cleared_on) == (liaison.id, liaison.id, None)
        follow_ups = db.session.scalars(sa.select(FollowUp)).all()
        assert [(u.flag_id, u.kind, u.date, u.note, u.created_by_id) for u in follow_ups] == [
            (flagged.girl_flag, "home_visit", visit_day, NOTE, liaison.id)]
        assert db.session.get(Flag, flagged.boy_flag).status == "open"
        db.session.remove()
