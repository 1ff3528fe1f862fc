"""Default plugin: the built-in risk rules, each evaluated in SQL over every child at once."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from flask_babel import format_date, gettext as _, lazy_gettext as _l

from tracker import hookimpl
from tracker.attendance.models import AttendanceRecord
from tracker.children.models import CentreStay, Child
from tracker.dates import aged_between
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.flags.rules import RiskRule
from tracker.indicators import sql
from tracker.indicators.compute import enrolled_school_days
from tracker.schools.calendar import ensure_calendar_days
from tracker.schools.models import Centre
from tracker.types import AttendanceStatus

ATTENDED = [AttendanceStatus.present, AttendanceStatus.late]


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class ChronicAbsence(RiskRule):
    slug = "chronic_absence"
    label = _l("Chronic absence")
    severity = 2
    defaults = {"window": 20, "min_rate": 0.9, "min_days": 10, "lookback_days": 120}

    def evaluate(self, children, as_of):
        t = self.thresholds
        rn = sa.func.row_number().over(partition_by=Enrolment.child_id, order_by=AttendanceRecord.date.desc())
        recent = (sa.select(Enrolment.child_id, AttendanceRecord.status, rn.label("rn"))
                  .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                  .where(Enrolment.child_id.in_(children), sql.covering(sql.lit(as_of)),
                         AttendanceRecord.date.between(as_of - dt.timedelta(days=t["lookback_days"]), as_of))
                  .subquery())
        attended = sa.func.sum(sa.case((recent.c.status.in_(ATTENDED), 1), else_=0))
        q = (sa.select(recent.c.child_id, attended, sa.func.count())
             .where(recent.c.rn <= t["window"]).group_by(recent.c.child_id)
             .having(sa.and_(sa.func.count() >= t["min_days"], attended < sa.func.count() * t["min_rate"])))
        for child_id, a, n in db.session.execute(q):
            yield child_id, {"attended": int(a), "recorded": int(n)}

    def describe(self, ev):
        return _("attended %(a)d of the last %(n)d recorded school days", a=ev["attended"], n=ev["recorded"])


def absence_runs(children, as_of, minimum):
    """(child id, absent days in a row up to the last record, first day of the run) for runs >= minimum."""
    seen = aliased(AttendanceRecord)
    last_attended = (sa.select(sa.func.max(seen.date))
                     .where(seen.enrolment_id == Enrolment.id, seen.status.in_(ATTENDED), seen.date <= as_of)
                     .correlate(Enrolment).scalar_subquery())
    q = (sa.select(Enrolment.child_id, sa.func.count(), sa.func.min(AttendanceRecord.date))
         .join(AttendanceRecord, AttendanceRecord.enrolment_id == Enrolment.id)
         .where(Enrolment.child_id.in_(children), sql.covering(sql.lit(as_of)), AttendanceRecord.date <= as_of,
                sa.or_(last_attended.is_(None), AttendanceRecord.date > last_attended))
         .group_by(Enrolment.child_id).having(sa.func.count() >= minimum))
    for child_id, days, since in db.session.execute(q):
        yield child_id, {"days": int(days), "since": _day(since).isoformat()}


class ConsecutiveAbsences(RiskRule):
    slug = "consecutive_absences"
    label = _l("Absent several days in a row")
    severity = 2
    defaults = {"min_days": 5}

    def evaluate(self, children, as_of):
        return absence_runs(children, as_of, self.thresholds["min_days"])

    def describe(self, ev):
        return _("absent %(n)d school days in a row since %(d)s", n=ev["days"], d=format_date(_day(ev["since"])))


class PresumedDropout(RiskRule):
    slug = "presumed_dropout"
    label = _l("Presumed dropout")
    severity = 3
    defaults = {"min_days": 20}

    def evaluate(self, children, as_of):
        return absence_runs(children, as_of, self.thresholds["min_days"])

    def describe(self, ev):
        return _("absent %(n)d school days in a row since %(d)s: if the child has left, record the exit",
                 n=ev["days"], d=format_date(_day(ev["since"])))


class NoRegister(RiskRule):
    slug = "no_register"
    label = _l("No register for the child")
    severity = 1
    defaults = {"min_days": 10}

    def evaluate(self, children, as_of):
        ensure_calendar_days()
        # Nested inside the calendar look-ups below: correlate to the outer enrolment explicitly.
        last = (sa.select(sa.func.max(AttendanceRecord.date))
                .where(AttendanceRecord.enrolment_id == Enrolment.id, AttendanceRecord.date <= as_of)
                .correlate(Enrolment).scalar_subquery())
        since = sa.func.coalesce(last, sql.add_days(Enrolment.start_date, -1))
        days = enrolled_school_days(sql.add_days(since, 1), sql.lit(as_of))
        q = (sa.select(Enrolment.child_id, days, last)
             .where(Enrolment.child_id.in_(children), sql.covering(sql.lit(as_of)),
                    days >= self.thresholds["min_days"]))
        for child_id, n, last_day in db.session.execute(q):
            yield child_id, {"days": int(n), "last": _day(last_day).isoformat() if last_day else None}

    def describe(self, ev):
        if ev.get("last"):
            return _("no register for %(n)d school days (last on %(d)s)", n=ev["days"], d=format_date(_day(ev["last"])))
        return _("no register since the enrolment began (%(n)d school days)", n=ev["days"])


class OutOfSchool(RiskRule):
    slug = "out_of_school"
    label = _l("Out of school")
    severity = 3
    defaults = {"min_age": 7, "max_age": 17, "min_days_in_centre": 30}

    def evaluate(self, children, as_of):
        t = self.thresholds
        settled = as_of - dt.timedelta(days=t["min_days_in_centre"])
        stay = (sa.select(CentreStay.start_date, Centre.code).join(Centre, Centre.id == CentreStay.centre_id)
                .where(CentreStay.child_id == Child.id, CentreStay.start_date <= settled,
                       sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= as_of))
                .order_by(CentreStay.start_date.desc()).limit(1))
        q = (sa.select(Child.id, stay.with_only_columns(CentreStay.start_date).scalar_subquery(),
                       stay.with_only_columns(Centre.code).scalar_subquery())
             .where(Child.id.in_(children), aged_between(Child.birth_date, as_of, t["min_age"], t["max_age"]),
                    sa.exists(stay), ~sa.exists().where(Enrolment.child_id == Child.id, sql.covering(sql.lit(as_of)))))
        for child_id, since, centre in db.session.execute(q):
            yield child_id, {"since": _day(since).isoformat(), "centre": centre}

    def describe(self, ev):
        return _("school age, living in centre %(c)s since %(d)s, not enrolled", c=ev["centre"],
                 d=format_date(_day(ev["since"])))


@hookimpl
def register_risk_rules():
    return [ChronicAbsence, ConsecutiveAbsences, PresumedDropout, NoRegister, OutOfSchool]
