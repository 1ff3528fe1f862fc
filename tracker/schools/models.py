"""Schools, accommodation centres, academic years and classes."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.types import CentreKind, Level, choice

class_teachers = sa.Table(
    "class_teacher",
    db.metadata,
    sa.Column("class_id", sa.ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class School(db.Model):
    __tablename__ = "school"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)  # ministry code
    name: Mapped[str] = mapped_column(sa.String(200))
    municipality: Mapped[str] = mapped_column(sa.String(100), index=True)
    offers_primary: Mapped[bool] = mapped_column(default=False)
    offers_secondary: Mapped[bool] = mapped_column(default=False)
    # Set when an administrator archives the school: it leaves the choice lists and takes no new
    # enrolment; its records and the figures computed from them stay.
    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    classes: Mapped[list[SchoolClass]] = relationship(back_populates="school", order_by="SchoolClass.name")

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def levels(self) -> list[Level]:
        return [lv for lv, on in ((Level.primary, self.offers_primary), (Level.secondary, self.offers_secondary)) if on]

    def offers(self, level: Level | str) -> bool:
        return Level(level) in self.levels

    def __repr__(self) -> str:
        return f"<School {self.code}>"


class Centre(db.Model):
    __tablename__ = "centre"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CentreKind] = mapped_column(choice(CentreKind, "centre_kind"))
    municipality: Mapped[str] = mapped_column(sa.String(100), index=True)


class AcademicYear(db.Model):
    __tablename__ = "academic_year"
    __table_args__ = (sa.CheckConstraint("first_day < last_day", name="first_before_last"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(7), unique=True)  # 2025/26
    first_day: Mapped[dt.date]
    last_day: Mapped[dt.date]

    non_school_days: Mapped[list[NonSchoolDay]] = relationship(
        back_populates="year", order_by="NonSchoolDay.date", cascade="all, delete-orphan"
    )
    non_school_ranges: Mapped[list[NonSchoolRange]] = relationship(
        back_populates="year", order_by="NonSchoolRange.first_day", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<AcademicYear {self.label}>"


class NonSchoolDay(db.Model):
    """A public holiday or break day of a year; school_id set: that school's own day off."""

    __tablename__ = "non_school_day"
    __table_args__ = (
        sa.Index("uq_non_school_day_all", "year_id", "date", unique=True, sqlite_where=sa.text("school_id IS NULL"),
                 postgresql_where=sa.text("school_id IS NULL")),
        sa.UniqueConstraint("year_id", "date", "school_id", name="uq_non_school_day_school"),
        sa.Index("ix_non_school_day_school_date", "school_id", "date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id", ondelete="CASCADE"))
    date: Mapped[dt.date]
    description: Mapped[str] = mapped_column(sa.String(200))
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"))
    # Set for the days of a range (a winter break): the range is the one entry the calendar lists,
    # and removing it removes its days.
    range_id: Mapped[int | None] = mapped_column(sa.ForeignKey("non_school_range.id", ondelete="CASCADE"),
                                                 index=True)

    year: Mapped[AcademicYear] = relationship(back_populates="non_school_days")
    school: Mapped[School | None] = relationship()
    range: Mapped[NonSchoolRange | None] = relationship(back_populates="days")


class NonSchoolRange(db.Model):
    """Days off from ``first_day`` to ``last_day`` (a break), for every school or one school.

    The range is what the administrator adds and removes; each weekday in it is a NonSchoolDay row
    pointing here, so whatever counts school days reads the days and needs no notion of ranges.
    """

    __tablename__ = "non_school_range"
    __table_args__ = (sa.CheckConstraint("first_day <= last_day", name="first_not_after_last"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[dt.date]
    last_day: Mapped[dt.date]
    description: Mapped[str] = mapped_column(sa.String(200))
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school.id", ondelete="CASCADE"))

    year: Mapped[AcademicYear] = relationship(back_populates="non_school_ranges")
    school: Mapped[School | None] = relationship()
    days: Mapped[list[NonSchoolDay]] = relationship(back_populates="range", order_by="NonSchoolDay.date",
                                                    cascade="all, delete-orphan")


class SchoolClass(db.Model):
    __tablename__ = "school_class"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "year_id", "name", name="uq_school_class_name"),
        sa.CheckConstraint(
            "(level = 'primary' AND grade BETWEEN 1 AND 8) OR (level = 'secondary' AND grade BETWEEN 1 AND 4)",
            name="grade_in_level",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"), index=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id"), index=True)
    level: Mapped[Level] = mapped_column(choice(Level, "level"))
    grade: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(50))
    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    school: Mapped[School] = relationship(back_populates="classes")
    year: Mapped[AcademicYear] = relationship()
    teachers: Mapped[list["User"]] = relationship(secondary=class_teachers, back_populates="classes")  # noqa: F821

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<SchoolClass {self.school_id} {self.name}>"


class CalendarDay(db.Model):
    """Every school day common to all schools (weekday in a year, not a general non-school day), numbered.

    A derived table: ``tracker.schools.calendar.ensure_calendar_days`` rebuilds it whenever the years
    or non-school days have changed, so counting school days between two dates is two index look-ups.
    """

    __tablename__ = "calendar_day"
    date: Mapped[dt.date] = mapped_column(primary_key=True)
    ordinal: Mapped[int] = mapped_column(unique=True)
    year_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_year.id", ondelete="CASCADE"))


class CalendarState(db.Model):
    """What calendar_day was built from (a fingerprint of years and non-school days)."""

    __tablename__ = "calendar_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
