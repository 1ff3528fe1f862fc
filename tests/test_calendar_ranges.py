"""Ranges of non-school days (a break is one entry) and copying a year's public holidays."""
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tests.summaries import rebuilt, stored_summary
from tracker.attendance.operations import save_register
from tracker.extensions import db
from tracker.models import AcademicYear, AuditEvent, CalendarDay, NonSchoolDay, NonSchoolRange
from tracker.schools.calendar import calendar_days_current, school_days, why_not_school_day
from tracker.schools.operations import orthodox_easter


def slug(year):
    return year.label.replace("/", "-")


def calendar_rows():
    return set(db.session.execute(sa.select(CalendarDay.date, CalendarDay.ordinal, CalendarDay.year_id)).all())


def rebuilt_calendar():
    from tracker.schools.operations import refresh_calendar_days

    def measure():
        refresh_calendar_days()
        return calendar_rows()
    savepoint = db.session.begin_nested()
    try:
        return measure()
    finally:
        savepoint.rollback()


def fourteen_days(world):
    """Fourteen calendar days from the first Monday of the year, all in the past (registers can be taken)."""
    first = world.year.first_day
    first += dt.timedelta(days=(7 - first.weekday()) % 7)
    last = first + dt.timedelta(days=13)
    if last >= dt.date.today():
        pytest.skip("the year has not run two weeks yet")
    return first, last


def take_registers(world, first, last):
    e = world.child_a.open_enrolment
    day = first
    while day <= last:
        if day.weekday() < 5:
            save_register(world.class_a, day, {e.id: {"status": "absent_unexcused", "reason": "unknown"}},
                          user=world.teacher_a)
        day += dt.timedelta(days=1)
    db.session.commit()


def test_a_break_of_fourteen_days_is_one_entry_and_its_registers_stop_counting(client, auth, world):
    first, last = fourteen_days(world)
    take_registers(world, first, last)
    before = stored_summary()
    assert sum(r[2] for r in before) == 10
    auth.login(world.admin)
    r = client.post(f"/calendar/{slug(world.year)}/ranges", data={
        "range-first_day": first.isoformat(), "range-last_day": last.isoformat(),
        "range-description": "Winter break"})
    assert r.status_code == 302
    db.session.expire_all()
    assert count(NonSchoolRange) == 1 and count(NonSchoolDay) == 10  # the ten weekdays, one entry
    page = client.get(f"/calendar/{slug(world.year)}").text
    assert page.count('class="day-off card"') == 1 and "10 school days off" in page
    assert why_not_school_day(world.school_a, first + dt.timedelta(days=2)) == "Winter break"
    assert school_days(world.school_a, first, last) == []
    after = stored_summary()
    assert sum(r[2] for r in after) == 0 and after == rebuilt()
    assert calendar_days_current() and calendar_rows() == rebuilt_calendar()
    assert not any(r.date <= last and r.date >= first for r in db.session.scalars(sa.select(CalendarDay)))
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "non_school_range_added"))

    # Removing the range removes all its days; the registers count again.
    rng = db.session.scalar(sa.select(NonSchoolRange))
    r = client.post(f"/calendar/{slug(world.year)}/ranges/remove", data={"range_id": str(rng.id)})
    assert r.status_code == 302
    db.session.expire_all()
    assert count(NonSchoolRange) == 0 and count(NonSchoolDay) == 0
    assert stored_summary() == before == rebuilt()
    assert len(school_days(world.school_a, first, last)) == 10
    assert calendar_days_current() and calendar_rows() == rebuilt_calendar()


def test_a_range_keeps_the_holidays_inside_it_and_one_school_ranges_touch_that_school(client, auth, world):
    first, last = fourteen_days(world)
    holiday = first + dt.timedelta(days=1)
    auth.login(world.admin)
    client.post(f"/calendar/{slug(world.year)}", data={"date": holiday.isoformat(), "description": "Holiday"})
    r = client.post(f"/calendar/{slug(world.year)}/ranges", data={
        "range-first_day": first.isoformat(), "range-last_day": last.isoformat(),
        "range-description": "Patron week", "range-school": "SA001"})
    assert r.status_code == 302
    assert "keeps its own entry" in client.get(f"/calendar/{slug(world.year)}").text
    db.session.expire_all()
    rng = db.session.scalar(sa.select(NonSchoolRange))
    assert len(rng.days) == 9 and rng.school_id == world.school_a.id
    assert school_days(world.school_a, first, last) == []
    assert len(school_days(world.school_b, first, last)) == 9
    client.post(f"/calendar/{slug(world.year)}/ranges/remove", data={"range_id": str(rng.id)})
    db.session.expire_all()
    assert [d.description for d in db.session.scalars(sa.select(NonSchoolDay))] == ["Holiday"]


@pytest.mark.parametrize("data, message", [
    ({"range-first_day": "", "range-last_day": "", "range-description": "x"}, "This field is required"),
    ({"range-first_day": "LAST", "range-last_day": "FIRST", "range-description": "Break"}, "must not come before"),
    ({"range-first_day": "1999-01-01", "range-last_day": "FIRST", "range-description": "Break"}, "must fall within"),
    ({"range-first_day": "FIRST", "range-last_day": "LAST", "range-description": "  "}, "This field is required"),
    ({"range-first_day": "SAT", "range-last_day": "SUN", "range-description": "Weekend"}, "non-school day already"),
])
def test_bad_ranges_are_refused_and_write_nothing(client, auth, world, data, message):
    first = world.year.first_day + dt.timedelta(days=(7 - world.year.first_day.weekday()) % 7)
    values = {"FIRST": first, "LAST": first + dt.timedelta(days=4), "SAT": first + dt.timedelta(days=5),
              "SUN": first + dt.timedelta(days=6)}
    data = {k: values[v].isoformat() if v in values else v for k, v in data.items()}
    auth.login(world.admin)
    r = client.post(f"/calendar/{slug(world.year)}/ranges", data=data)
    assert r.status_code == 400 and message in r.text
    assert count(NonSchoolRange) == 0 and count(NonSchoolDay) == 0


def test_a_range_day_cannot_be_removed_alone_and_others_cannot_add_ranges(client, auth, world):
    first = world.year.first_day
    auth.login(world.liaison_a)
    r = client.post(f"/calendar/{slug(world.year)}/ranges", data={
        "range-first_day": first.isoformat(), "range-last_day": first.isoformat(), "range-description": "x"})
    assert r.status_code == 404 and count(NonSchoolRange) == 0
    auth.logout()
    auth.login(world.admin)
    client.post(f"/calendar/{slug(world.year)}/ranges", data={
        "range-first_day": first.isoformat(), "range-last_day": (first + dt.timedelta(days=6)).isoformat(),
        "range-description": "Break"})
    day = db.session.scalar(sa.select(NonSchoolDay))
    assert client.post(f"/calendar/{slug(world.year)}/days/{day.id}/delete").status_code == 404
    assert count(NonSchoolDay) == 5


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("year, sunday", [(2025, dt.date(2025, 4, 20)), (2026, dt.date(2026, 4, 12)),
                                          (2027, dt.date(2027, 5, 2)), (2024, dt.date(2024, 5, 5))])
def test_orthodox_easter(year, sunday, backend):
    assert orthodox_easter(year) == sunday


def test_copy_a_years_public_holidays(client, auth, world):
    source = world.year
    start = source.first_day.year + 1
    target = AcademicYear(label=f"{start}/{str(start + 1)[2:]}", first_day=dt.date(start, 9, 1),
                          last_day=dt.date(start + 1, 6, 20))
    db.session.add(target)
    db.session.commit()
    auth.login(world.admin)
    src = slug(source)
    fixed = [(source.first_day.year, 11, 11, "Armistice Day"), (source.first_day.year + 1, 1, 7, "Christmas"),
             (source.first_day.year + 1, 2, 16, "Statehood Day")]
    for y, m, d, name in fixed:
        day = dt.date(y, m, d)
        if source.first_day <= day <= source.last_day:
            assert client.post(f"/calendar/{src}", data={"date": day.isoformat(), "description": name}).status_code == 302
    easter = orthodox_easter(source.last_day.year)
    client.post(f"/calendar/{src}", data={"date": (easter - dt.timedelta(days=2)).isoformat(),
                                          "description": "Veliki petak"})
    other = source.first_day + dt.timedelta(days=20)
    client.post(f"/calendar/{src}", data={"date": other.isoformat(), "description": "Snow day"})
    client.post(f"/calendar/{src}/ranges", data={"range-first_day": (source.first_day + dt.timedelta(days=40)).isoformat(),
                                                 "range-last_day": (source.first_day + dt.timedelta(days=45)).isoformat(),
                                                 "range-description": "Autumn break"})
    before = count(NonSchoolDay)
    client.get(f"/calendar/{src}")  # shows (and so clears) the messages of the additions

    preview = client.get(f"/calendar/{slug(target)}/holidays?source={src}")
    assert preview.status_code == 200 and count(NonSchoolDay) == before  # a preview writes nothing
    text = preview.text
    assert "Armistice Day" in text and "Christmas" in text and "Snow day" in text and "Autumn break" not in text
    new_easter = orthodox_easter(start + 1)
    assert new_easter.isoformat() in text and "Veliki petak" not in text
    days = [dt.date(start, 11, 11), dt.date(start + 1, 1, 7), dt.date(start + 1, 2, 16)]
    days += [new_easter + dt.timedelta(days=k) for k in (-2, -1, 0, 1)]
    assert all(f'value="{d.isoformat()}" checked' in text for d in days)
    # Fixed holidays the source year lacks are offered too, under their own names.
    assert f'value="{dt.date(start + 1, 5, 1).isoformat()}" checked' in text and "Labour Day" in text
    moved = other.replace(year=other.year + 1)
    assert f'value="{moved.isoformat()}">' in text  # offered, unchecked

    r = client.post(f"/calendar/{slug(target)}/holidays", data={"source": src, "day": [d.isoformat() for d in days]})
    assert r.status_code == 302
    db.session.expire_all()
    got = {d.date for d in db.session.scalars(sa.select(NonSchoolDay).where(NonSchoolDay.year_id == target.id))}
    assert got == set(days)
    assert calendar_days_current()
    # Again: nothing left to add, nothing written.
    r = client.post(f"/calendar/{slug(target)}/holidays", data={"source": src, "day": [d.isoformat() for d in days]})
    assert r.status_code == 400 and "at least one day" in r.text
    r = client.post(f"/calendar/{slug(target)}/holidays", data={"source": src, "day": ["not-a-date"]})
    assert r.status_code == 400
    assert count(NonSchoolDay) == before + len(days)
