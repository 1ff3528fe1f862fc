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
