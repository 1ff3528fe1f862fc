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
    db.session.commit()
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
    db.session.commit()
    return nsd


def remove_non_school_day(nsd: NonSchoolDay, *, user=None) -> None:
    audit.record("non_school_day_removed", nsd, user=user)
    day = nsd.date
    db.session.delete(nsd)
    db.session.flush()
    from tracker.attendance import summary

    summary.refresh_day(day)
    db.session.commit()
