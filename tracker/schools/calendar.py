"""School days: weekdays inside an academic year that are not a non-school day of that year or school."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.extensions import db
from tracker.schools.models import AcademicYear, NonSchoolDay, School


def year_of(day: dt.date) -> AcademicYear | None:
    return db.session.scalar(sa.select(AcademicYear).where(AcademicYear.first_day <= day, AcademicYear.last_day >= day))


def non_school_day(school: School, day: dt.date) -> NonSchoolDay | None:
    return db.session.scalar(sa.select(NonSchoolDay).where(
        NonSchoolDay.date == day, sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == school.id)
    ).limit(1))


def why_not_school_day(school: School, day: dt.date) -> str | None:
    """None for a school day; otherwise a short reason to show the user."""
    if day.weekday() >= 5:
        return _("weekend")
    if year_of(day) is None:
        return _("outside every academic year")
    off = non_school_day(school, day)
    if off is not None:
        return off.description
    return None


def school_days(school: School, first: dt.date, last: dt.date) -> list[dt.date]:
    """The school days of ``school`` from ``first`` to ``last`` inclusive, oldest first (two queries)."""
    years = db.session.scalars(sa.select(AcademicYear).where(AcademicYear.first_day <= last,
                                                             AcademicYear.last_day >= first)).all()
    off = set(db.session.scalars(sa.select(NonSchoolDay.date).where(
        NonSchoolDay.date.between(first, last),
        sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == school.id))))
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in off and any(y.first_day <= day <= y.last_day for y in years):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def recent_school_days(school: School, until: dt.date, count: int) -> list[dt.date]:
    """The last ``count`` school days up to ``until``, newest first."""
    days = school_days(school, until - dt.timedelta(days=count * 3 + 40), until)
    return list(reversed(days))[:count]


def _fingerprint() -> str:
    import hashlib

    years = db.session.execute(sa.select(AcademicYear.id, AcademicYear.first_day, AcademicYear.last_day)
                               .order_by(AcademicYear.id)).all()
    days = db.session.execute(sa.select(NonSchoolDay.year_id, NonSchoolDay.date)
                              .where(NonSchoolDay.school_id.is_(None)).order_by(NonSchoolDay.date)).all()
    return hashlib.sha256(repr((years, days)).encode()).hexdigest()


def ensure_calendar_days() -> None:
    """Rebuild calendar_day if the academic years or general non-school days changed since it was built."""
    from tracker.schools.models import CalendarDay, CalendarState

    fingerprint = _fingerprint()
    state = db.session.get(CalendarState, 1)
    if state is not None and state.fingerprint == fingerprint:
        return
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
        db.session.add(CalendarState(id=1, fingerprint=fingerprint))
    else:
        state.fingerprint = fingerprint
    db.session.commit()
