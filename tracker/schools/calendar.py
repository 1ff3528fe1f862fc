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


def fingerprint() -> str:
    import hashlib

    years = db.session.execute(sa.select(AcademicYear.id, AcademicYear.first_day, AcademicYear.last_day)
                               .order_by(AcademicYear.id)).all()
    days = db.session.execute(sa.select(NonSchoolDay.year_id, NonSchoolDay.date)
                              .where(NonSchoolDay.school_id.is_(None)).order_by(NonSchoolDay.date)).all()
    return hashlib.sha256(repr((years, days)).encode()).hexdigest()


def calendar_days_current() -> bool:
    """Whether calendar_day was built from the academic years and general non-school days as they are now."""
    from tracker.schools.models import CalendarState

    state = db.session.get(CalendarState, 1)
    return state is not None and state.fingerprint == fingerprint()


def ensure_calendar_days() -> None:
    """Before counting school days: calendar_day is current.

    The calendar operations (``tracker.schools.operations``) rebuild it whenever they change
    the years or the general non-school days, so this finds it current; only a database
    changed by hand (or restored from an older backup) makes it rebuild here, in the open
    transaction, so that no figure is computed from a stale calendar.
    """
    if not calendar_days_current():
        import logging

        from tracker.schools.operations import refresh_calendar_days

        logging.getLogger(__name__).warning("calendar_day was stale; rebuilt before computing")
        refresh_calendar_days()
