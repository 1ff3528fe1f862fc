"""SQL building blocks shared by the indicators: the same expressions on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from tracker.children.models import CentreStay, Child, UascPeriod
from tracker.enrolment.models import Enrolment
from tracker.schools.models import AcademicYear, Centre


class add_days(FunctionElement):
    """``date + n days`` for a date expression and an integer."""

    type = sa.Date()
    inherit_cache = True
    name = "add_days"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, n = list(element.clauses)
    # SQLite's modifier takes a signed count: '5 days', '-120 days'.
    return f"date({compiler.process(day, **kw)}, ({compiler.process(n, **kw)}) || ' days')"


@compiles(add_days, "postgresql")
def _add_days_pg(element, compiler, **kw):
    day, n = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(n, **kw)} AS INTEGER))"


def lit(day: dt.date) -> ColumnElement:
    return sa.literal(day, sa.Date)


def covering(day) -> ColumnElement:
    """The enrolment covers ``day`` (a date or a date expression)."""
    return sa.and_(Enrolment.start_date <= day, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day))


def age_on(day) -> ColumnElement:
    """Whole years of age of Child on ``day`` (a date or a date expression)."""
    d = lit(day) if isinstance(day, dt.date) else day
    years = sa.extract("year", d) - sa.extract("year", Child.birth_date)
    before_birthday = (sa.extract("month", d) * 100 + sa.extract("day", d)) < (
        sa.extract("month", Child.birth_date) * 100 + sa.extract("day", Child.birth_date))
    return sa.cast(years, sa.Integer) - sa.case((before_birthday, 1), else_=0)


def age_band(day) -> ColumnElement:
    age = age_on(day)
    return sa.case((age < 6, "under_6"), (age <= 10, "6-10"), (age <= 14, "11-14"), (age <= 17, "15-17"),
                   else_="18+")


def uasc_on(day) -> ColumnElement:
    """The child's UASC status on ``day``: accompanied, separated or unaccompanied."""
    d = lit(day) if isinstance(day, dt.date) else day
    status = (sa.select(UascPeriod.status)
              .where(UascPeriod.child_id == Child.id, UascPeriod.start_date <= d,
                     sa.or_(UascPeriod.end_date.is_(None), UascPeriod.end_date >= d))
              .order_by(UascPeriod.start_date.desc()).limit(1).scalar_subquery())
    return sa.func.coalesce(status, "accompanied")


def centre_on(day) -> ColumnElement:
    """The code of the centre the child lives in on ``day``, or 'none'."""
    d = lit(day) if isinstance(day, dt.date) else day
    code = (sa.select(Centre.code).join(CentreStay, CentreStay.centre_id == Centre.id)
            .where(CentreStay.child_id == Child.id, CentreStay.start_date <= d,
                   sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= d))
            .order_by(CentreStay.start_date.desc()).limit(1).scalar_subquery())
    return sa.func.coalesce(code, "none")


def in_school_year_or_before(day_expr) -> ColumnElement:
    """``day_expr`` when an academic year contains it; else the last day of the previous academic year."""
    inside = (sa.exists().where(AcademicYear.first_day <= day_expr, AcademicYear.last_day >= day_expr)
              .correlate_except(AcademicYear))
    previous_last = (sa.select(sa.func.max(AcademicYear.last_day))
                     .where(AcademicYear.last_day < day_expr).correlate_except(AcademicYear).scalar_subquery())
    return sa.case((inside, day_expr), else_=sa.func.coalesce(previous_last, day_expr))
