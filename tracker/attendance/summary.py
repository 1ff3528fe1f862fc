"""The per-enrolment, per-month attendance summary (attendance_month), kept exact.

``refresh`` recomputes the summary rows of the given (enrolment, month) pairs from the raw
records, inside the caller's transaction; ``rebuild`` recomputes everything (after a bulk
load). Both aggregate in the database. An enrolment-month with no counted record has no row.

Concurrent writers: the records and summary rows of an enrolment are written only under
``lock_enrolments``, taken in enrolment id order, so two saves touching the same enrolments
queue instead of deadlocking, and each one's aggregate reads what the one before it committed.
The summary is upserted (ON CONFLICT), so a row another transaction inserted meanwhile is updated
rather than a unique violation.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tracker import bulk
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


def lock_enrolments(enrolment_ids: Iterable[int]) -> None:
    """Hold the write lock on the attendance of these enrolments until the transaction ends. No commit.

    PostgreSQL: the enrolment rows, SELECT ... FOR NO KEY UPDATE in id order (NO KEY: it does not
    wait for the KEY SHARE locks that foreign-key checks take). Statements after it read what
    earlier holders committed (READ COMMITTED takes a snapshot per statement).
    SQLite: one writer at a time for the whole database, but pysqlite opens the transaction only at
    the first write, so what was read before it is not under the lock; an UPDATE of no row opens it
    and takes the write lock now (waiting up to busy_timeout). Taking it again is a no-op.
    """
    ids = sorted(set(enrolment_ids))
    if not ids:
        return
    if not bulk.is_postgresql():
        table = Enrolment.__table__
        db.session.execute(sa.update(table).where(sa.false()).values(id=table.c.id))
        return
    for i in range(0, len(ids), CHUNK):
        db.session.execute(sa.select(Enrolment.id).where(Enrolment.id.in_(ids[i:i + CHUNK]))
                           .order_by(Enrolment.id).with_for_update(key_share=True)).all()


def refresh(pairs: Iterable[tuple[int, dt.date]]) -> None:
    """Recompute the summary of each (enrolment_id, any day in the month) pair. No commit.

    Locks the enrolments first (``lock_enrolments``; already held when called from a register save).
    """
    by_month: dict[dt.date, set[int]] = defaultdict(set)
    for eid, day in pairs:
        by_month[month_of(day)].add(eid)
    if not by_month:
        return
    lock_enrolments(eid for eids in by_month.values() for eid in eids)
    insert = postgresql.insert if bulk.is_postgresql() else sqlite.insert
    table = AttendanceMonth.__table__
    for month in sorted(by_month):
        ids = sorted(by_month[month])
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            stmt = insert(table).from_select(COLUMNS, _aggregate(month, AttendanceRecord.enrolment_id.in_(chunk)))
            stmt = stmt.on_conflict_do_update(index_elements=["enrolment_id", "month"],
                                              set_={c: stmt.excluded[c] for c in COLUMNS[2:]})
            counted = set(db.session.execute(stmt.returning(table.c.enrolment_id)).scalars())
            gone = [eid for eid in chunk if eid not in counted]
            if gone:  # left with no counted record: no row, as rebuild() would leave it
                db.session.execute(sa.delete(AttendanceMonth).where(AttendanceMonth.month == month,
                                                                    AttendanceMonth.enrolment_id.in_(gone)))


def rebuild() -> int:
    """Recompute the whole summary from the raw records. No commit. Returns the number of summary rows."""
    if bulk.is_postgresql():
        # Register saves wait until the rebuild commits (SHARE lets readers through, not writers).
        db.session.execute(sa.text("LOCK TABLE attendance_record, attendance_month IN SHARE MODE"))
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
