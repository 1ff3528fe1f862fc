"""Enrolments: one school, one academic year, one grade."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.types import ExitReason, Level, choice


class Enrolment(db.Model):
    __tablename__ = "enrolment"
    __table_args__ = (
        # At most one open enrolment per child, enforced by the database.
        sa.Index("uq_enrolment_open", "child_id", unique=True, sqlite_where=sa.text("end_date IS NULL"),
                 postgresql_where=sa.text("end_date IS NULL")),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("(end_date IS NULL) = (exit_reason IS NULL)", name="exit_reason_with_end"),
        sa.CheckConstraint(
            "(level = 'primary' AND grade BETWEEN 1 AND 8) OR (level = 'secondary' AND grade BETWEEN 1 AND 4)",
            name="grade_in_level",
        ),
        sa.Index("ix_enrolment_school_dates", "school_id", "start_date", "end_date"),
        sa.Index("ix_enrolment_child_dates", "child_id", "start_date", "end_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("child.id"))
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"), index=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id"), index=True)
    level: Mapped[Level] = mapped_column(choice(Level, "level"))
    grade: Mapped[int]
    class_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school_class.id"), index=True)
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]
    exit_reason: Mapped[ExitReason | None] = mapped_column(choice(ExitReason, "exit_reason"))
    exit_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    closed_at: Mapped[dt.datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    child: Mapped["Child"] = relationship(back_populates="enrolments")  # noqa: F821
    school: Mapped["School"] = relationship()  # noqa: F821
    year: Mapped["AcademicYear"] = relationship()  # noqa: F821
    school_class: Mapped["SchoolClass | None"] = relationship()  # noqa: F821

    @property
    def is_open(self) -> bool:
        return self.end_date is None

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or self.end_date >= day)
