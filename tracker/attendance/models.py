"""One attendance record per enrolment and school day."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.types import AttendanceStatus, choice


class AttendanceRecord(db.Model):
    __tablename__ = "attendance_record"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "date", name="uq_attendance_record_enrolment_date"),
        sa.Index("ix_attendance_record_date", "date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolment.id", ondelete="CASCADE"))
    date: Mapped[dt.date]
    status: Mapped[AttendanceStatus] = mapped_column(choice(AttendanceStatus, "attendance_status"))
    reason: Mapped[str] = mapped_column(sa.String(30), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    enrolment: Mapped["Enrolment"] = relationship()  # noqa: F821
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821


class AttendanceChange(db.Model):
    """A correction of a saved attendance record: the earlier value, who changed it and when."""

    __tablename__ = "attendance_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("attendance_record.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[AttendanceStatus] = mapped_column(choice(AttendanceStatus, "old_status"))
    old_reason: Mapped[str] = mapped_column(sa.String(30), default="")
    old_note: Mapped[str] = mapped_column(sa.String(500), default="")
    old_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    old_recorded_at: Mapped[dt.datetime]
    new_status: Mapped[AttendanceStatus] = mapped_column(choice(AttendanceStatus, "new_status"))
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    record: Mapped[AttendanceRecord] = relationship()
    changed_by: Mapped["User | None"] = relationship(foreign_keys=[changed_by_id])  # noqa: F821
    old_recorded_by: Mapped["User | None"] = relationship(foreign_keys=[old_recorded_by_id])  # noqa: F821


class AttendanceMonth(db.Model):
    """Per enrolment and calendar month: counts of recorded days by status.

    Kept exact by every write path (registers, imports, the demo builder) in the same
    transaction, so indicators read thousands of rows instead of millions.
    """

    __tablename__ = "attendance_month"
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(primary_key=True)  # first day of the month
    recorded: Mapped[int] = mapped_column(default=0)
    present: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    absent_excused: Mapped[int] = mapped_column(default=0)
    absent_unexcused: Mapped[int] = mapped_column(default=0)
    last_date: Mapped[dt.date | None]  # the latest recorded day in the month
