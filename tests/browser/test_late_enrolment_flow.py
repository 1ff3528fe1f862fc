"""A child enrolled after the day's register was saved, in a real phone-sized Chromium (390×844): the register
shows them not recorded (no mark chosen for them), the day stays among the missing registers, the teacher
records them, and the day leaves the missing registers."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.browser.conftest import main_menu, sign_in
from tests.browser.test_register_flow import (CHILDREN, MARKS, TEACHER_EMAIL, _seed_class, assert_fits_phone,
                                              assert_marked, mark, pupil)

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NEWCOMER = ("Leyla", "Rostami")


def _save_then_enrol_late(live_server, register) -> int:
    """The register of the day saved (everyone present), then a child enrolled in the class from that day."""
    from tracker.attendance.operations import save_register
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import Centre, SchoolClass, User

    with live_server.app.app_context():
        cls = db.session.get(SchoolClass, register.class_id)
        teacher = db.session.scalar(sa.select(User).where(User.email == TEACHER_EMAIL))
        save_register(cls, register.day, {}, user=teacher)
        db.session.commit()
        child = child_ops.register_child(given_name=NEWCOMER[0], family_name=NEWCOMER[1], sex="female",
                                         birth_date=dt.date(register.day.year - 9, 5, 5), country="IRN",
                                         first_language="fas", centre=db.session.scalar(sa.select(Centre)),
                                         centre_since=register.day - dt.timedelta(days=3))
        enrolment = enrol_ops.enrol(child, cls.school, "primary", 4, register.day, school_class=cls)
        db.session.commit()
        eid = enrolment.id
        db.session.remove()
    return eid


def missing_link(page, register):
    href = f"/registers/{register.class_id}/{register.day.isoformat()}"
    return page.get_by_role("main").locator(f'a[href="{href}"]')


def test_a_late_enrolled_child_is_not_recorded_until_the_teacher_records_them(page, live_server, password_hash):
    from tracker.extensions import db
    from tracker.models import AttendanceRecord

    register = _seed_class(live_server, password_hash)
    newcomer_id = _save_then_enrol_late(live_server, register)
    newcomer = " ".join(NEWCOMER)
    main = page.get_by_role("main")
    sign_in(page, TEACHER_EMAIL)

    # The day is still missing: one child of the class has no record for it.
    main_menu(page).get_by_role("link", name="Missing registers", exact=True).click()
    expect(missing_link(page, register)).to_have_count(1)
    assert_fits_phone(page)
    missing_link(page, register).click()
    expect(page).to_have_url(re.compile(rf"/registers/{register.class_id}/{register.day.isoformat()}$"))

    # The register: the others as saved, the newcomer not recorded, with no mark chosen for them.
    expect(main).to_contain_text("1 child is not recorded yet")
    for given, family, *_rest in CHILDREN:
        assert_marked(page, f"{given} {family}", "Present")
    group = pupil(page, newcomer)
    expect(group).to_contain_text("Not recorded")
    for text in MARKS:
        expect(group.get_by_label(text, exact=True)).not_to_be_checked()
    assert_fits_phone(page)
    page.screenshot(path="/tmp/register-late-enrolment.png", full_page=True)

    # The teacher records them and saves.
    mark(page, newcomer, "Late")
    main.get_by_role("button", name="Save register", exact=True).click()
    expect(main.get_by_role("status").filter(has_text="Saved: 5 present, 0 absent, 1 late.")).to_be_visible()
    expect(main).not_to_contain_text("not recorded yet")
    expect(pupil(page, newcomer)).not_to_contain_text("Not recorded")
    assert_marked(page, newcomer, "Late")

    # The day has left the missing registers.
    main_menu(page).get_by_role("link", name="Missing registers", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(missing_link(page, register)).to_have_count(0)
    assert_fits_phone(page)

    with live_server.app.app_context():
        records = db.session.scalars(sa.select(AttendanceRecord).where(AttendanceRecord.date == register.day)).all()
        assert len(records) == len(CHILDREN) + 1
        assert {r.enrolment_id: r.status.value for r in records}[newcomer_id] == "late"
        db.session.remove()
