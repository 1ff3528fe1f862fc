"""The daily register: who is on it, saving, double saves, corrections, non-school days, missing registers."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tracker.extensions import db
from tracker.models import AttendanceChange, AttendanceRecord, Child, Enrolment, NonSchoolDay


def school_day_before(day: dt.date, n: int = 0) -> dt.date:
    """The n-th weekday before or on ``day``."""
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    for _ in range(n):
        day -= dt.timedelta(days=1)
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
    return day


@pytest.fixture
def day(world):
    d = school_day_before(dt.date.today())
    assert d >= world.year.first_day
    return d


def url(world, day):
    return f"/registers/{world.class_a.id}/{day.isoformat()}"


def add_pupil(world, given, start, end=None, reason=None):
    c = Child(code=f"C-{given[:6].upper():X<6}", given_name=given, family_name="Test", name_key=given.lower(),
              sex="female", birth_date=dt.date(2014, 1, 1), country="SYR", first_language="ara",
              legal_basis="public_task")
    db.session.add(c)
    e = Enrolment(child=c, school=world.school_a, year=world.year, level="primary", grade=5,
                  school_class=world.class_a, start_date=start, end_date=end, exit_reason=reason)
    db.session.add(e)
    db.session.commit()
    return e


def test_teacher_sees_today_and_takes_a_register(client, auth, world, day):
    auth.login(world.teacher_a)
    assert "5-1" in client.get("/registers/").text
    page = client.get(url(world, day)).text
    assert "Ahmad Rahimi" in page and "Not taken yet" in page
    e = world.child_a.open_enrolment
    r = client.post(url(world, day), data={f"status-{e.id}": "absent_excused", f"reason-{e.id}": "illness",
                                           f"note-{e.id}": "fever"})
    assert r.status_code == 302
    rec = db.session.scalar(sa.select(AttendanceRecord))
    assert (rec.status.value, rec.reason, rec.note, rec.recorded_by_id) == ("absent_excused", "illness", "fever",
                                                                            world.teacher_a.id)
    page = client.get(url(world, day)).text
    assert "Last saved by teacher.a" in page
    assert 'value="absent_excused" checked' in page


def test_double_save_leaves_one_record_and_keeps_the_correction(client, auth, world, day):
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    client.post(url(world, day), data={f"status-{e.id}": "late"})
    client.post(url(world, day), data={f"status-{e.id}": "late"})
    assert count(AttendanceRecord) == 1 and count(AttendanceChange) == 0
    auth.logout()
    auth.login(world.liaison_a)
    client.post(url(world, day), data={f"status-{e.id}": "absent_unexcused"})
    assert count(AttendanceRecord) == 1
    change = db.session.scalar(sa.select(AttendanceChange))
    assert (change.old_status.value, change.new_status.value, change.old_recorded_by_id, change.changed_by_id) == (
        "late", "absent_unexcused", world.teacher_a.id, world.liaison_a.id)
    page = client.get(url(world, day)).text
    assert "Corrected once" in page and "Late → Absent (unexcused)" in page


def test_children_appear_only_on_their_days(client, auth, world, day):
    earlier = school_day_before(day, 3)
    newcomer = add_pupil(world, "Newcomer", start=day)
    leaver = add_pupil(world, "Leaver", start=world.year.first_day, end=earlier, reason="moved_onward")
    auth.login(world.teacher_a)
    today_page = client.get(url(world, day)).text
    assert "Newcomer" in today_page and "Leaver" not in today_page
    before = client.get(url(world, earlier)).text
    assert "Leaver" in before and "Newcomer" not in before
    r = client.post(url(world, day), data={f"status-{leaver.id}": "present"})
    assert r.status_code == 400 and count(AttendanceRecord) == 0
    assert newcomer.id


def test_weekends_and_holidays_are_refused(client, auth, world, day):
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7)
    if saturday > dt.date.today():
        saturday -= dt.timedelta(days=7)
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    r = client.post(url(world, saturday), data={f"status-{e.id}": "present"})
    assert r.status_code == 400 and "not a school day (weekend)" in r.text
    db.session.add(NonSchoolDay(year=world.year, date=day, description="Armistice Day"))
    db.session.commit()
    page = client.get(url(world, day)).text
    assert "not a school day (Armistice Day)" in page
    r = client.post(url(world, day), data={f"status-{e.id}": "present"})
    assert r.status_code == 400 and count(AttendanceRecord) == 0


def test_school_specific_day_off(client, auth, world, day):
    db.session.add(NonSchoolDay(year=world.year, date=day, description="School patron day", school=world.school_b))
    db.session.commit()
    auth.login(world.teacher_a)
    assert "Ahmad Rahimi" in client.get(url(world, day)).text  # school A still has school


def test_bad_status_is_refused(client, auth, world, day):
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    r = client.post(url(world, day), data={f"status-{e.id}": "asleep"})
    assert r.status_code == 400 and count(AttendanceRecord) == 0


def test_out_of_scope_register_is_404(client, auth, world, day):
    auth.login(world.teacher_a)
    assert client.get(f"/registers/{world.class_b.id}/{day.isoformat()}").status_code == 404
    e = world.child_b.open_enrolment
    assert client.post(f"/registers/{world.class_b.id}/{day.isoformat()}",
                       data={f"status-{e.id}": "late"}).status_code == 404
    assert count(AttendanceRecord) == 0


def test_missing_registers_newest_first_with_links(client, auth, world, day):
    auth.login(world.liaison_a)
    page = client.get("/registers/missing").text
    assert page.index(day.isoformat()) < page.index(school_day_before(day, 1).isoformat())
    assert f'href="{url(world, day)}"' in page
    assert "Gimnazija Subotica" not in page
    client.post(url(world, day), data={})
    page = client.get("/registers/missing").text
    assert f'href="{url(world, day)}"' not in page
    auth.logout()
    auth.login(world.teacher_a)
    assert f'href="{url(world, school_day_before(day, 1))}"' in client.get("/").text


def test_month_grid_and_child_rate(client, auth, world, day):
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    client.post(url(world, day), data={f"status-{e.id}": "absent_unexcused"})
    prev = school_day_before(day, 1)
    if prev >= world.year.first_day:
        client.post(url(world, prev), data={})
    grid = client.get(f"/registers/{world.class_a.id}/month/{day.strftime('%Y-%m')}").text
    assert "Ahmad Rahimi" in grid and 'class="absent_unexcused">U<' in grid
    history = client.get(f"/registers/child/{world.child_a.code}").text
    assert "attended: 1 of 2 recorded school days" in history or "attended: 0 of 1" in history
