"""The per-enrolment, per-month attendance summary (attendance_month), kept exact.

``refresh`` recomputes the summary rows of the given (enrolment, month) pairs from the raw
records, inside the caller's transaction; ``rebuild`` recomputes everything (after a bulk
load). Both aggregate in the database.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa

from tracker.attendance.models import AttendanceMonth, AttendanceRecord
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.schools.models import NonSchoolDay
from tracker.types import AttendanceStatus

CHUNK = 500


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _aggregate(month: dt.date, enrolment_ids: sa.ColumnElement | None) -> sa.Select:
    count_if = lambda s: sa.func.sum(sa.case((AttendanceRecord.status == s, 1), else_=0))  # noqa: E731
    q = (sa.select(AttendanceRecord.enrolment_id, sa.literal(month, sa.Date).label("month"),
                   sa.func.count().label("recorded"), count_if(AttendanceStatus.present),
                   count_if(AttendanceStatus.late), count_if(AttendanceStatus.absent_excused),
                   count_if(AttendanceStatus.absent_unexcused), sa.func.max(AttendanceRecord.date))
         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
         .where(AttendanceRecord.date.between(month, _month_end(month)),
                # Records outside the enrolment's dates (an exit recorded after later registers) do not count.
                AttendanceRecord.date >= Enrolment.start_date,
                sa.or_(Enrolment.end_date.is_(None), AttendanceRecord.date <= Enrolment.end_date),
                ~day_off(Enrolment.school_id, AttendanceRecord.date))
         .group_by(AttendanceRecord.enrolment_id))
    if enrolment_ids is not None:
        q = q.where(enrolment_ids)
    return q


def day_off(school_id, day):
    """A day declared a non-school day (for every school or this one) after its register was taken."""
    return sa.exists().where(NonSchoolDay.date == day,
                             sa.or_(NonSchoolDay.school_id.is_(None), NonSchoolDay.school_id == school_id))


COLUMNS = ["enrolment_id", "month", "recorded", "present", "late", "absent_excused", "absent_unexcused", "last_date"]


def refresh(pairs: Iterable[tuple[int, dt.date]]) -> None:
    """Recompute the summary of each (enrolment_id, any day in the month) pair. No commit."""
    by_month: dict[dt.date, set[int]] = defaultdict(set)
    for eid, day in pairs:
        by_month[month_of(day)].add(eid)
    for month, eids in by_month.items():
        ids = sorted(eids)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            db.session.execute(sa.delete(AttendanceMonth).where(AttendanceMonth.month == month,
                                                                AttendanceMonth.enrolment_id.in_(chunk)))
            db.session.execute(sa.insert(AttendanceMonth).from_select(
                COLUMNS, _aggregate(month, AttendanceRecord.enrolment_id.in_(chunk))))


def rebuild() -> int:
    """Recompute the whole summary from the raw records. No commit. Returns the number of summary rows."""
    db.session.execute(sa.delete(AttendanceMonth))
    first, last = db.session.execute(sa.select(sa.func.min(AttendanceRecord.date),
                                               sa.func.max(AttendanceRecord.date))).one()
    if first is None:
        return 0
    if isinstance(first, str):  # SQLite returns aggregates of dates as text
        first, last = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    month = month_of(first)
    while month <= last:
        db.session.execute(sa.insert(AttendanceMonth).from_select(COLUMNS, _aggregate(month, None)))
        month = (_month_end(month) + dt.timedelta(days=1))
    return db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceMonth))


def refresh_day(day: dt.date) -> None:
    """After a day is declared a non-school day: recompute the months of the records on that day. No commit."""
    ids = db.session.scalars(sa.select(AttendanceRecord.enrolment_id).where(AttendanceRecord.date == day)).all()
    refresh((eid, day) for eid in ids)
