"""Every write about enrolments: enrol, transfer, exit. History is never overwritten."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker.children.models import Child, utcnow
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.plugins import fire
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import GRADES, ExitReason, Level

# An enrolment may start this long before the year's first day (registered over the summer).
EARLY_START = dt.timedelta(days=92)


def year_for(day: dt.date) -> AcademicYear | None:
    """The academic year that ``day`` falls in, or the next one when it falls in the summer before it."""
    # A handful of rows; date arithmetic on columns differs between SQLite and PostgreSQL.
    for year in db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day)):
        if year.first_day - EARLY_START <= day <= year.last_day:
            return year
    return None


def check_placement(child: Child, school: School, level: Level, grade: int, school_class: SchoolClass | None,
                     start: dt.date) -> AcademicYear:
    if not school.offers(level):
        raise OperationError("level", _("%(school)s does not offer this level.", school=school.name))
    if grade not in GRADES[level]:
        raise OperationError("grade", _("Grade must be between %(a)d and %(b)d for this level.",
                                        a=GRADES[level][0], b=GRADES[level][-1]))
    if start < child.birth_date:
        raise OperationError("start_date", _("The start date is before the child's birth date."))
    if start > dt.date.today() + dt.timedelta(days=31):
        raise OperationError("start_date", _("The start date is too far in the future."))
    year = year_for(start)
    if year is None:
        raise OperationError("start_date", _("No academic year covers this date. An administrator adds academic years."))
    if school_class is not None:
        if (school_class.school_id, school_class.year_id, school_class.level, school_class.grade) != (
                school.id, year.id, level, grade):
            raise OperationError("class_id", _("The class must be of the same school, year, level and grade."))
    last_end = max((e.end_date for e in child.enrolments if e.end_date), default=None)
    if last_end and start <= last_end:
        raise OperationError("start_date", _("The child was enrolled until %(d)s; start after that.",
                                             d=last_end.isoformat()))
    return year


def _commit_open(enrolment: Enrolment) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise OperationError(None, _("The child already has an open enrolment; it was changed meanwhile. "
                                     "Reload the page.")) from None


def enrol(child: Child, school: School, level: str, grade: int, start_date: dt.date, *,
          school_class: SchoolClass | None = None, user=None) -> Enrolment:
    level = Level(level)
    if child.open_enrolment is not None:
        raise OperationError(None, _("The child is already enrolled at %(school)s. Transfer or record an exit first.",
                                     school=child.open_enrolment.school.name))
    year = check_placement(child, school, level, int(grade), school_class, start_date)
    enrolment = Enrolment(child=child, school=school, year=year, level=level, grade=int(grade),
                          school_class=school_class, start_date=start_date, created_by_id=getattr(user, "id", None))
    db.session.add(enrolment)
    db.session.flush()
    audit.record("enrolled", enrolment, user=user)
    _commit_open(enrolment)
    fire("enrolment_changed", enrolment=enrolment, change="enrolled", previous=None, user=user)
    return enrolment


def _close(enrolment: Enrolment, end_date: dt.date, reason: ExitReason, note: str, user,
           allow_future: bool = False) -> None:
    if end_date < enrolment.start_date:
        raise OperationError("end_date", _("The date is before the enrolment started (%(d)s).",
                                           d=enrolment.start_date.isoformat()))
    if end_date > dt.date.today() and not allow_future:
        raise OperationError("end_date", _("The date cannot be in the future."))
    enrolment.end_date = end_date
    enrolment.exit_reason = reason
    enrolment.exit_note = note.strip()[:500]
    enrolment.closed_at = utcnow()
    enrolment.closed_by_id = getattr(user, "id", None)
    _refresh_summary_after(enrolment, end_date)


def _refresh_summary_after(enrolment: Enrolment, end_date: dt.date) -> None:
    """Registers taken after the new end date stop counting: refresh those months of the summary."""
    from tracker.attendance import summary
    from tracker.attendance.models import AttendanceRecord

    db.session.flush()
    later = db.session.scalars(sa.select(AttendanceRecord.date).where(AttendanceRecord.enrolment_id == enrolment.id,
                                                                      AttendanceRecord.date > end_date)).all()
    if later:
        summary.refresh([(enrolment.id, end_date)] + [(enrolment.id, d) for d in later])


def exit_enrolment(child: Child, end_date: dt.date, reason: str, *, note: str = "", user=None) -> Enrolment:
    """Close the open enrolment on ``end_date`` (the last day the child belonged) for ``reason``."""
    enrolment = child.open_enrolment
    if enrolment is None:
        raise OperationError(None, _("The child has no open enrolment."))
    try:
        reason = ExitReason(reason)
    except ValueError:
        raise OperationError("reason", _("Choose a reason.")) from None
    if reason == ExitReason.transferred:
        raise OperationError("reason", _("Use Transfer to move the child to another school."))
    _close(enrolment, end_date, reason, note, user)
    audit.record("exited", enrolment, user=user)
    db.session.commit()
    fire("enrolment_changed", enrolment=enrolment, change="exited", previous=None, user=user)
    return enrolment


def transfer(child: Child, to_school: School, start_date: dt.date, *, level: str | None = None,
             grade: int | None = None, school_class: SchoolClass | None = None, note: str = "",
             user=None) -> Enrolment:
    """Close the open enrolment the day before ``start_date`` and open one at ``to_school``, in one transaction."""
    previous = child.open_enrolment
    if previous is None:
        raise OperationError(None, _("The child has no open enrolment to transfer; enrol them instead."))
    if to_school.id == previous.school_id and school_class is None:
        raise OperationError("school", _("The child is already at this school."))
    if start_date <= previous.start_date:
        raise OperationError("start_date", _("The new school must start after %(d)s, when the current enrolment began.",
                                             d=previous.start_date.isoformat()))
    level = Level(level or previous.level)
    grade = int(grade or previous.grade)
    year = check_placement(child, to_school, level, grade, school_class, start_date)
    # A transfer agreed ahead of time closes the current enrolment on the eve of the new one.
    _close(previous, start_date - dt.timedelta(days=1), ExitReason.transferred, note, user, allow_future=True)
    db.session.flush()
    enrolment = Enrolment(child=child, school=to_school, year=year, level=level, grade=grade,
                          school_class=school_class, start_date=start_date, created_by_id=getattr(user, "id", None))
    db.session.add(enrolment)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OperationError(None, _("The enrolment was changed meanwhile. Reload the page.")) from None
    audit.record("transferred", enrolment, user=user)
    _commit_open(enrolment)
    fire("enrolment_changed", enrolment=enrolment, change="transferred", previous=previous, user=user)
    return enrolment
