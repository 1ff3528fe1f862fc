"""The attendance summary as stored, and as a full rebuild from the raw records would make it."""
from __future__ import annotations

import sqlalchemy as sa

from tracker.attendance import summary
from tracker.attendance.models import AttendanceMonth
from tracker.extensions import db


def stored_summary() -> set[tuple]:
    return {tuple(r) for r in db.session.execute(sa.select(
        AttendanceMonth.enrolment_id, AttendanceMonth.month, AttendanceMonth.recorded, AttendanceMonth.present,
        AttendanceMonth.late, AttendanceMonth.absent_excused, AttendanceMonth.absent_unexcused,
        AttendanceMonth.last_date))}


def rebuilt(measure=stored_summary):
    """``measure()`` after a full rebuild of the summary, inside a savepoint rolled back afterwards."""
    savepoint = db.session.begin_nested()
    try:
        summary.rebuild()
        return measure()
    finally:
        savepoint.rollback()
