"""Counts shown on the dashboards, computed in the database."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from tracker.children.models import Child, UascPeriod
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.reports import data as report_data
from tracker.schools.models import Centre, School, SchoolClass
from tracker.types import UascStatus


def uasc_on(day: dt.date):
    """A correlated subquery: true when the child is separated or unaccompanied on ``day``."""
    return sa.exists().where(
        UascPeriod.child_id == Child.id,
        UascPeriod.status != UascStatus.accompanied,
        UascPeriod.start_date <= day,
        sa.or_(UascPeriod.end_date.is_(None), UascPeriod.end_date >= day),
    )


def enrolled_by_school(school_ids: sa.Select, day: dt.date) -> list[sa.Row]:
    """Per school: children enrolled on ``day``, girls among them, UASC among them."""
    girls = sa.func.sum(sa.case((Child.sex == "female", 1), else_=0))
    uasc = sa.func.sum(sa.case((uasc_on(day), 1), else_=0))
    q = (sa.select(School, sa.func.count(Enrolment.id).label("enrolled"), girls.label("girls"), uasc.label("uasc"))
         .select_from(School)
         .outerjoin(Enrolment, sa.and_(Enrolment.school_id == School.id, Enrolment.start_date <= day,
                                       sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day)))
         .outerjoin(Child, Child.id == Enrolment.child_id)
         .where(School.id.in_(school_ids))
         .group_by(School.id).order_by(School.name))
    return list(db.session.execute(q))


def enrolled_by_class(class_ids: sa.Select, day: dt.date) -> list[sa.Row]:
    girls = sa.func.sum(sa.case((Child.sex == "female", 1), else_=0))
    uasc = sa.func.sum(sa.case((uasc_on(day), 1), else_=0))
    q = (sa.select(SchoolClass, sa.func.count(Enrolment.id).label("enrolled"), girls.label("girls"), uasc.label("uasc"))
         .select_from(SchoolClass)
         .outerjoin(Enrolment, sa.and_(Enrolment.class_id == SchoolClass.id, Enrolment.start_date <= day,
                                       sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day)))
         .outerjoin(Child, Child.id == Enrolment.child_id)
         .where(SchoolClass.id.in_(class_ids))
         .group_by(SchoolClass.id).order_by(SchoolClass.name))
    return list(db.session.execute(q))


# The partner's home page: children enrolled at the end of the last whole month, by level and sex and by level
# and UASC status, read from the report of the current school year (tracker.reports.data.build_report): the same
# fixed period, dimension limits and disclosure control, so the page shows exactly the report's figures.
PARTNER_BREAKDOWNS = (("level", "sex"), ("level", "uasc"))


def partner_breakdowns(user) -> list[tuple[str, ...]]:
    """The home page's breakdowns that this deployment lets partners ask for (the report's limits)."""
    allowed = report_data.allowed_dimensions(user)
    most = current_app.config["REPORT_PARTNER_MAX_DIMENSIONS"]
    out: list[tuple[str, ...]] = []
    for by in PARTNER_BREAKDOWNS:
        dims = tuple(d for d in by if d in allowed)[:most]
        if dims and dims not in out:
            out.append(tuple(report_data.check_dimensions(user, list(dims))))
    return out or [()]  # no breakdown allowed: the total alone


def partner_overview(user, day: dt.date) -> dict:
    """{"report": the report, "tables": [{"by": dims, "rows": its "enrolled" rows}]} for a partner: aggregates only,
    for the current school year up to the end of last month; {"report": None, "error": why} when there is none."""
    try:
        report = report_data.build_report(user, today=day)
    except report_data.ReportError as exc:
        return {"report": None, "error": str(exc), "tables": []}
    return {"report": report, "error": None, "small_note": report_data.small_numbers_note(report.k),
            "tables": [{"by": by, "rows": [r for r in report.table(*by) if r["indicator"] == "enrolled"]}
                       for by in partner_breakdowns(user)]}


def totals() -> dict[str, int]:
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    return {
        "schools": count(School), "centres": count(Centre), "children": count(Child),
        "open_enrolments": db.session.scalar(sa.select(sa.func.count()).where(Enrolment.end_date.is_(None))),
    }
