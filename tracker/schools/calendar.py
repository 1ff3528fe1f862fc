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
