"""Writes about the school calendar: academic years and their non-school days."""
from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.schools.models import AcademicYear, NonSchoolDay, School

LABEL = re.compile(r"^(\d{4})/(\d{2})$")


def add_year(label: str, first_day: dt.date, last_day: dt.date, *, user=None) -> AcademicYear:
    m = LABEL.match(label.strip())
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise OperationError("label", _("Write the year as 2025/26."))
    if first_day >= last_day:
        raise OperationError("last_day", _("The last day must come after the first day."))
    if first_day.year != int(m.group(1)) or (last_day - first_day).days > 366:
        raise OperationError("first_day", _("The first day must fall in %(y)s and the year last at most a year.",
                                            y=m.group(1)))
    if db.session.scalar(sa.select(AcademicYear.id).where(AcademicYear.label == label.strip())):
        raise OperationError("label", _("This academic year exists already."))
    overlap = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.first_day <= last_day,
                                                              AcademicYear.last_day >= first_day))
    if overlap:
        raise OperationError("first_day", _("The dates overlap %(y)s.", y=overlap.label))
    year = AcademicYear(label=label.strip(), first_day=first_day, last_day=last_day)
    db.session.add(year)
    db.session.flush()
    audit.record("year_added", year, user=user, object_id=year.label)
    refresh_calendar_days()
    return year


def add_non_school_day(year: AcademicYear, day: dt.date, description: str, *, school: School | None = None,
                       user=None) -> NonSchoolDay:
    description = description.strip()
    if not description:
        raise OperationError("description", _("Say what the day is (a holiday, a break)."))
    if not year.first_day <= day <= year.last_day:
        raise OperationError("date", _("The date must fall within %(y)s (%(a)s to %(b)s).", y=year.label,
                                       a=year.first_day.isoformat(), b=year.last_day.isoformat()))
    clash = db.session.scalar(sa.select(NonSchoolDay).where(
        NonSchoolDay.year_id == year.id, NonSchoolDay.date == day,
        sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == (school.id if school else None))))
    if clash:
        raise OperationError("date", _("This day is already a non-school day (%(d)s).", d=clash.description))
    nsd = NonSchoolDay(year=year, date=day, description=description[:200], school=school)
    db.session.add(nsd)
    db.session.flush()
    audit.record("non_school_day_added", nsd, user=user)
    from tracker.attendance import summary

    summary.refresh_day(day)
    if school is None:
        refresh_calendar_days()
    return nsd


def remove_non_school_day(nsd: NonSchoolDay, *, user=None) -> None:
    audit.record("non_school_day_removed", nsd, user=user)
    day, every_school = nsd.date, nsd.school_id is None
    db.session.delete(nsd)
    db.session.flush()
    from tracker.attendance import summary

    summary.refresh_day(day)
    if every_school:
        refresh_calendar_days()


def refresh_calendar_days() -> None:
    """Rebuild calendar_day (school days of every school, numbered within their year); flush, no commit.

    Called by every operation that changes the academic years or the non-school days of every school.
    """
    from tracker.schools.calendar import fingerprint
    from tracker.schools.models import CalendarDay, CalendarState

    built_from = fingerprint()
    state = db.session.get(CalendarState, 1)
    db.session.execute(sa.delete(CalendarDay))
    off = set(db.session.scalars(sa.select(NonSchoolDay.date).where(NonSchoolDay.school_id.is_(None))))
    rows, ordinal = [], 0
    for year in db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)):
        day = year.first_day
        while day <= year.last_day:
            if day.weekday() < 5 and day not in off:
                ordinal += 1
                rows.append({"date": day, "ordinal": ordinal, "year_id": year.id})
            day += dt.timedelta(days=1)
    if rows:
        db.session.execute(sa.insert(CalendarDay), rows)
    if state is None:
        db.session.add(CalendarState(id=1, fingerprint=built_from))
    else:
        state.fingerprint = built_from
    db.session.flush()


def save_reference(creates: list, updates: list[tuple[object, dict]], *, user=None) -> None:
    """Save checked reference rows (schools, centres, academic years, non-school days) from an import.

    ``creates`` are new model objects, ``updates`` (object, values to set). Registers already taken
    on a day that becomes a non-school day stop counting (the summary is refreshed for that day),
    and calendar_day follows any change of years or general non-school days. Flush, no commit.
    """
    from tracker.attendance import summary

    for obj, values in updates:
        for name, value in values.items():
            setattr(obj, name, value)
    db.session.add_all(creates)
    db.session.flush()
    touched = [obj for obj in (*creates, *(o for o, _v in updates))]
    for day in sorted({obj.date for obj in touched if isinstance(obj, NonSchoolDay)}):
        summary.refresh_day(day)
    if any(isinstance(obj, AcademicYear) or (isinstance(obj, NonSchoolDay) and obj.school_id is None)
           for obj in touched):  # calendar_day counts the days off of every school only
        refresh_calendar_days()


def add_classes(rows: list[dict], *, user=None) -> list[int]:
    """Create classes (school_id, year_id, level, grade, name) in one statement; their ids, in order. Flush only."""
    from tracker.schools.models import SchoolClass

    if not rows:
        return []
    table = SchoolClass.__table__
    ids = db.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
                             rows).scalars().all()
    audit.record("classes_added", user=user, object_type="school_class", object_id=str(len(ids)))
    return list(ids)
