"""A teacher takes a class register in a real phone-sized Chromium: two children absent (one excused with a
reason), one late; saved, reloaded and shown exactly so. A second save of the same register from another
session (the school's liaison officer) leaves one record per child and keeps the earlier value of the
child it changes. Fields are found by their labels and controls by role, as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.browser.conftest import PHONE, WAIT_MS, main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

TEACHER_EMAIL = "teacher@example.org"
TEACHER_NAME = "Milica Jovanović"
LIAISON_NAME = "Jelena Petrović"  # the liaison officer seeded by conftest for school_a
CLASS_NAME = "4-2"
MARKS = ("Present", "Late", "Absent (excused)", "Absent (unexcused)")
# (given, family, sex, UASC status): girls and UASC children, so the badges show.
CHILDREN = [
    ("Amina", "Haddad", "female", "accompanied"),
    ("Zahra", "Hosseini", "female", "unaccompanied"),
    ("Omid", "Karimi", "male", "separated"),
    ("Yusuf", "Ahmadi", "male", "accompanied"),
    ("Mariam", "Nazari", "female", "accompanied"),
]


@dataclass(frozen=True)
class Register:
    class_id: int
    day: dt.date  # the school day whose register the test takes: today, or the last weekday before it
    enrolments: dict[str, int]  # "Given Family" -> enrolment id


def last_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _seed_class(live_server, password_hash) -> Register:
    """A teacher of a class at the liaison's first school, with five children enrolled a month back."""
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, SchoolClass, User
    from tracker.types import Level, Role

    day = last_weekday(dt.date.today())
    start = day - dt.timedelta(days=30)
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        # In August (or on the first school days) the seeded year may start after the days the test needs.
        year.first_day = min(year.first_day, start - dt.timedelta(days=7))
        year.last_day = max(year.last_day, dt.date.today() + dt.timedelta(days=31))
        school = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        centre = db.session.scalar(sa.select(Centre))
        cls = SchoolClass(school=school, year=year, level=Level.primary, grade=4, name=CLASS_NAME)
        teacher = User(email=TEACHER_EMAIL, name=TEACHER_NAME, role=Role.teacher, password_hash=password_hash,
                       classes=[cls])
        db.session.add_all([cls, teacher])
        db.session.commit()
        enrolments = {}
        for i, (given, family, sex, uasc) in enumerate(CHILDREN):
            child = child_ops.register_child(
                given_name=given, family_name=family, sex=sex, birth_date=dt.date(day.year - 10, 1 + i, 10),
                country="AFG", first_language="prs", uasc_status=uasc, centre=centre, centre_since=start,
                guardian_name="" if uasc == "accompanied" else "Centar za socijalni rad Palilula")
            enrolment = enrol_ops.enrol(child, school, Level.primary.value, 4, start, school_class=cls)
            enrolments[f"{given} {family}"] = enrolment.id
        register = Register(cls.id, day, enrolments)
        db.session.commit()  # as the requests that register and enrol would
        db.session.remove()
    return register


@pytest.fixture
def register(live_server, password_hash) -> Register:
    return _seed_class(live_server, password_hash)


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def pupil(page, name: str):
    """A child's fieldset on the register, found by its legend (the name, then the badges)."""
    return page.get_by_role("main").get_by_role("group", name=re.compile(rf"^{re.escape(name)}\b"))


def mark(page, name: str, status: str) -> None:
    """One tap on the child's status: on its label, the visible button (the radio itself is hidden under it)."""
    group = pupil(page, name)
    group.locator("label.mark").get_by_text(status, exact=True).tap()
    expect(group.get_by_label(status, exact=True)).to_be_checked()


def assert_marked(page, name: str, status: str) -> None:
    group = pupil(page, name)
    for text in MARKS:
        radio = group.get_by_label(text, exact=True)
        if text == status:
            expect(radio).to_be_checked()
        else:
            expect(radio).not_to_be_checked()


def open_register(page, register: Register) -> None:
    """From the menu to the register of the test's day: today's, or the previous school day's on a weekend."""
    main = page.get_by_role("main")
    main_menu(page).get_by_role("link", name="Registers", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Registers for today")
    main.get_by_role("link", name=re.compile(rf"^{re.escape(CLASS_NAME)} · ")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CLASS_NAME)
    if register.day != dt.date.today():  # a weekend: today has no register
        expect(page.get_by_role("alert")).to_contain_text("is not a school day (weekend)")
        page.get_by_role("navigation", name="Other days").get_by_role("link", name="Previous school day").click()
    expect(page).to_have_url(re.compile(rf"/registers/{register.class_id}/{register.day.isoformat()}$"))


def test_teacher_takes_the_register_and_a_second_save_keeps_one_record_per_child(page, browser, live_server,
                                                                                  register):
    from tracker.extensions import db
    from tracker.models import AttendanceChange, AttendanceRecord, User

    main = page.get_by_role("main")
    sign_in(page, TEACHER_EMAIL)
    open_register(page, register)
    assert_fits_phone(page)

    # Not taken yet: everyone present, the badges next to the names.
    expect(main).to_contain_text("Not taken yet")
    expect(main.get_by_role("group")).to_have_count(len(CHILDREN))
    for given, family, *_rest in CHILDREN:
        assert_marked(page, f"{given} {family}", "Present")
    expect(pupil(page, "Zahra Hosseini")).to_contain_text("Girl")
    expect(pupil(page, "Zahra Hosseini")).to_contain_text("UASC")
    expect(pupil(page, "Omid Karimi")).to_contain_text("UASC")
    expect(pupil(page, "Omid Karimi")).not_to_contain_text("Girl")
    expect(pupil(page, "Yusuf Ahmadi").locator(".badge")).to_have_count(0)
    page.screenshot(path="/tmp/register.png", full_page=True)

    # Two absent (one excused, with a reason and a note), one late; then save.
    mark(page, "Zahra Hosseini", "Absent (excused)")
    pupil(page, "Zahra Hosseini").get_by_label("Reason for absence", exact=True).select_option(label="Illness")
    pupil(page, "Zahra Hosseini").get_by_label("Note", exact=True).fill("Fever, the guardian called")
    mark(page, "Omid Karimi", "Absent (unexcused)")
    mark(page, "Yusuf Ahmadi", "Late")
    main.get_by_role("button", name="Save register", exact=True).click()

    expect(main.get_by_role("status").filter(has_text="Saved: 2 present, 2 absent, 1 late.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/registers/{register.class_id}/{register.day.isoformat()}$"))

    # Reloaded, the page shows exactly what was saved.
    page.reload()
    expected = {"Amina Haddad": "Present", "Zahra Hosseini": "Absent (excused)", "Omid Karimi": "Absent (unexcused)",
                "Yusuf Ahmadi": "Late", "Mariam Nazari": "Present"}
    for name, status in expected.items():
        assert_marked(page, name, status)
    zahra = pupil(page, "Zahra Hosseini")
    expect(zahra.get_by_label("Reason for absence", exact=True)).to_have_value("illness")
    expect(zahra.get_by_label("Reason for absence", exact=True).locator("option:checked")).to_have_text("Illness")
    expect(zahra.get_by_label("Note", exact=True)).to_have_value("Fever, the guardian called")
    expect(pupil(page, "Omid Karimi").get_by_label("Reason for absence", exact=True)).to_have_value("")
    expect(main.get_by_text(f"Last saved by {TEACHER_NAME} at")).to_be_visible()
    expect(main.get_by_text("Corrected once")).to_have_count(0)
    assert_fits_phone(page)
    page.screenshot(path="/tmp/register-saved.png", full_page=True)

    # Another session: the school's liaison officer saves the same register, Yusuf now present after all.
    other = browser.new_context(base_url=live_server.url, locale="en-US", **PHONE)
    other.set_default_timeout(WAIT_MS)
    try:
        second = other.new_page()
        sign_in(second, live_server.seed.liaison_email)
        second.goto(f"/registers/{register.class_id}/{register.day.isoformat()}")
        for name, status in expected.items():
            assert_marked(second, name, status)  # the other session sees the teacher's register
        mark(second, "Yusuf Ahmadi", "Present")
        second.get_by_role("main").get_by_role("button", name="Save register", exact=True).click()
        expect(second.get_by_role("main").get_by_role("status").filter(
            has_text="Saved: 3 present, 2 absent, 0 late.")).to_be_visible()

        expected["Yusuf Ahmadi"] = "Present"
        for name, status in expected.items():
            assert_marked(second, name, status)
        expect(pupil(second, "Zahra Hosseini").get_by_label("Reason for absence", exact=True)).to_have_value("illness")
        expect(second.get_by_role("main").get_by_text(f"Last saved by {LIAISON_NAME} at")).to_be_visible()
        yusuf = pupil(second, "Yusuf Ahmadi")
        # The latest correction, in one line (a single correction is the whole history: no "Show all").
        expect(yusuf.locator(".corrections")).to_have_text(
            re.compile(rf"^\s*Corrected once · latest: Late → Present, changed by {LIAISON_NAME} at"))
        expect(yusuf.get_by_role("link", name=re.compile("^Show all"))).to_have_count(0)
        for name in expected:
            if name != "Yusuf Ahmadi":
                expect(pupil(second, name).get_by_text("Corrected once")).to_have_count(0)
        assert_fits_phone(second)
    finally:
        other.close()

    # The teacher's session, reloaded, sees the correction too.
    page.reload()
    assert_marked(page, "Yusuf Ahmadi", "Present")
    expect(pupil(page, "Yusuf Ahmadi").locator(".corrections")).to_contain_text("Corrected once")

    # The database: exactly one record per child for the day, and the earlier value kept.
    with live_server.app.app_context():
        records = db.session.scalars(sa.select(AttendanceRecord).where(AttendanceRecord.date == register.day)).all()
        by_enrolment = {r.enrolment_id: r for r in records}
        assert len(records) == len(by_enrolment) == len(CHILDREN)
        assert set(by_enrolment) == set(register.enrolments.values())
        status = {name: by_enrolment[eid].status.value for name, eid in register.enrolments.items()}
        assert status == {"Amina Haddad": "present", "Zahra Hosseini": "absent_excused",
                          "Omid Karimi": "absent_unexcused", "Yusuf Ahmadi": "present", "Mariam Nazari": "present"}
        zahra_record = by_enrolment[register.enrolments["Zahra Hosseini"]]
        assert (zahra_record.reason, zahra_record.note) == ("illness", "Fever, the guardian called")

        teacher = db.session.scalar(sa.select(User).where(User.email == TEACHER_EMAIL))
        liaison = db.session.scalar(sa.select(User).where(User.email == live_server.seed.liaison_email))
        recorded_by = {name: by_enrolment[eid].recorded_by_id for name, eid in register.enrolments.items()}
        assert recorded_by == {name: liaison.id if name == "Yusuf Ahmadi" else teacher.id for name in recorded_by}

        changes = db.session.scalars(sa.select(AttendanceChange)).all()
        assert len(changes) == 1
        change = changes[0]
        assert change.record_id == by_enrolment[register.enrolments["Yusuf Ahmadi"]].id
        assert (change.old_status.value, change.new_status.value) == ("late", "present")
        assert (change.old_recorded_by_id, change.changed_by_id) == (teacher.id, liaison.id)
        db.session.remove()
