"""Default plugin: the built-in risk rules, each evaluated in SQL over every child at once."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import format_date, gettext as _, lazy_gettext as _l

from tracker import hookimpl
from tracker.attendance.models import AttendanceMonth, AttendanceRecord
from tracker.children.models import CentreStay, Child, Guardian, UascPeriod
from tracker.dates import aged_between
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.flags.rules import RiskRule
from tracker.indicators import sql
from tracker.indicators.compute import left_serbia, school_days_between
from tracker.schools.calendar import ensure_calendar_days
from tracker.schools.models import Centre
from tracker.types import AttendanceStatus, UascStatus

ATTENDED = [AttendanceStatus.present, AttendanceStatus.late]


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class ChronicAbsence(RiskRule):
    slug = "chronic_absence"
    label = _l("Chronic absence")
    severity = 2
    defaults = {"window": 20, "min_rate": 0.9, "min_days": 10, "lookback_days": 45}

    def evaluate(self, children, as_of):
        t = self.thresholds
        open_e = _open_enrolments(children, as_of)
        rn = sa.func.row_number().over(partition_by=open_e.c.child_id, order_by=AttendanceRecord.date.desc())
        recent = (sa.select(open_e.c.child_id.label("child_id"), AttendanceRecord.status, rn.label("rn"))
                  .join(open_e, open_e.c.id == AttendanceRecord.enrolment_id)
                  .where(AttendanceRecord.date.between(as_of - dt.timedelta(days=t["lookback_days"]), as_of))
                  .subquery())
        attended = sa.func.sum(sa.case((recent.c.status.in_(ATTENDED), 1), else_=0))
        q = (sa.select(recent.c.child_id, attended, sa.func.count())
             .where(recent.c.rn <= t["window"]).group_by(recent.c.child_id)
             .having(sa.and_(sa.func.count() >= t["min_days"], attended < sa.func.count() * t["min_rate"])))
        for child_id, a, n in db.session.execute(q):
            yield child_id, {"attended": int(a), "recorded": int(n)}

    def describe(self, ev):
        return _("attended %(a)d of the last %(n)d recorded school days", a=ev["attended"], n=ev["recorded"])


def _open_enrolments(children, as_of) -> sa.Subquery:
    return (sa.select(Enrolment.id, Enrolment.child_id, Enrolment.start_date)
            .where(Enrolment.child_id.in_(children), sql.covering(sql.lit(as_of))).subquery("open_enrolment"))


def absence_runs(children, as_of, shared: dict) -> list[tuple[int, int, dt.date]]:
    """(child id, absent school days in a row up to the last record, first day of the run), runs of 1 or more.

    Exact and bounded: the summary finds, per open enrolment, the last month before the as-of
    month with any attendance; only the records from that month on are read (two passes: the
    last attended day, then the absences after it). Computed once per refresh for both
    absence-run rules.
    """
    key = ("absence_runs", as_of)
    if key in shared:
        return shared[key]
    month = as_of.replace(day=1)
    open_e = _open_enrolments(children, as_of)
    last_month = (sa.select(AttendanceMonth.enrolment_id, sa.func.max(AttendanceMonth.month).label("m"))
                  .join(open_e, open_e.c.id == AttendanceMonth.enrolment_id)
                  .where(AttendanceMonth.month < month, AttendanceMonth.present + AttendanceMonth.late > 0)
                  .group_by(AttendanceMonth.enrolment_id).subquery("last_month"))
    scope = (sa.select(open_e.c.id.label("enrolment_id"), open_e.c.child_id,
                       sa.func.coalesce(last_month.c.m, open_e.c.start_date).label("from_day"))
             .outerjoin(last_month, last_month.c.enrolment_id == open_e.c.id).subquery("runs_scope"))
    recent = sa.and_(AttendanceRecord.enrolment_id == scope.c.enrolment_id,
                     AttendanceRecord.date >= scope.c.from_day, AttendanceRecord.date <= as_of)
    attended = sa.case((AttendanceRecord.status.in_(ATTENDED), AttendanceRecord.date))
    last = (sa.select(scope.c.enrolment_id, scope.c.child_id, scope.c.from_day,
                      sa.func.max(attended).label("last_attended"))
            .join(AttendanceRecord, recent).group_by(scope.c.enrolment_id, scope.c.child_id, scope.c.from_day)
            .subquery("last"))
    q = (sa.select(last.c.child_id, sa.func.count(), sa.func.min(AttendanceRecord.date))
         .join(AttendanceRecord, sa.and_(AttendanceRecord.enrolment_id == last.c.enrolment_id,
                                         AttendanceRecord.date >= last.c.from_day, AttendanceRecord.date <= as_of))
         .where(sa.or_(last.c.last_attended.is_(None), AttendanceRecord.date > last.c.last_attended))
         .group_by(last.c.child_id))
    shared[key] = [(child_id, int(days), _day(since)) for child_id, days, since in db.session.execute(q)]
    return shared[key]


class ConsecutiveAbsences(RiskRule):
    slug = "consecutive_absences"
    label = _l("Absent several days in a row")
    severity = 2
    defaults = {"min_days": 5}

    def evaluate(self, children, as_of):
        for child_id, days, since in absence_runs(children, as_of, self.shared):
            if days >= self.thresholds["min_days"]:
                yield child_id, {"days": days, "since": since.isoformat()}

    def describe(self, ev):
        return _("absent %(n)d school days in a row since %(d)s", n=ev["days"], d=format_date(_day(ev["since"])))


class PresumedDropout(ConsecutiveAbsences):
    """The same absence run, long enough to ask whether the child has left."""

    slug = "presumed_dropout"
    label = _l("Presumed dropout")
    severity = 3
    defaults = {"min_days": 20}

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
        month = as_of.replace(day=1)
        open_e = _open_enrolments(children, as_of)
        earlier = (sa.select(AttendanceMonth.enrolment_id.label("enrolment_id"), AttendanceMonth.last_date.label("d"))
                   .join(open_e, open_e.c.id == AttendanceMonth.enrolment_id).where(AttendanceMonth.month < month))
        this_month = (sa.select(AttendanceRecord.enrolment_id.label("enrolment_id"), AttendanceRecord.date.label("d"))
                      .join(open_e, open_e.c.id == AttendanceRecord.enrolment_id)
                      .where(AttendanceRecord.date.between(month, as_of)))
        both = sa.union_all(earlier, this_month).subquery("seen")
        last = (sa.select(both.c.enrolment_id, sa.func.max(both.c.d).label("last"))
                .group_by(both.c.enrolment_id).subquery("last"))
        q = (sa.select(Enrolment.child_id, Enrolment.school_id, Enrolment.start_date, last.c.last)
             .join(open_e, open_e.c.id == Enrolment.id).outerjoin(last, last.c.enrolment_id == Enrolment.id)
             .subquery("e"))
        since = sa.func.coalesce(q.c.last, sql.add_days(q.c.start_date, -1))
        days = school_days_between(sql.add_days(since, 1), sql.lit(as_of), q.c.school_id)
        rows = db.session.execute(sa.select(q.c.child_id, days, q.c.last).where(days >= self.thresholds["min_days"]))
        for child_id, n, last_day in rows:
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
                    sa.exists(stay), ~sa.exists().where(Enrolment.child_id == Child.id, sql.covering(sql.lit(as_of))),
                    ~left_serbia(as_of)))
        for child_id, since, centre in db.session.execute(q):
            yield child_id, {"since": _day(since).isoformat(), "centre": centre}

    def describe(self, ev):
        return _("school age, living in centre %(c)s since %(d)s, not enrolled", c=ev["centre"],
                 d=format_date(_day(ev["since"])))


class UascWithoutGuardian(RiskRule):
    """An unaccompanied or separated child registered with "guardian pending": no legal guardian on record."""

    slug = "uasc_no_guardian"
    label = _l("UASC without a guardian")
    severity = 2
    defaults = {}

    def evaluate(self, children, as_of):
        uasc = (UascStatus.separated, UascStatus.unaccompanied)
        guardian = sa.exists().where(Guardian.child_id == Child.id, Guardian.start_date <= as_of,
                                     sa.or_(Guardian.end_date.is_(None), Guardian.end_date >= as_of))
        q = (sa.select(Child.id, UascPeriod.status, UascPeriod.start_date)
             .join(UascPeriod, UascPeriod.child_id == Child.id)
             .where(Child.id.in_(children), UascPeriod.status.in_(uasc), UascPeriod.start_date <= as_of,
                    sa.or_(UascPeriod.end_date.is_(None), UascPeriod.end_date >= as_of),
                    aged_between(Child.birth_date, as_of, 0, 17), ~guardian, ~left_serbia(as_of))
             .order_by(Child.id, UascPeriod.start_date))
        found = {}
        for child_id, status, since in db.session.execute(q):
            found[child_id] = {"status": getattr(status, "value", status), "since": _day(since).isoformat()}
        return found.items()

    def describe(self, ev):
        return _("no legal guardian recorded (%(status)s since %(d)s): follow up the appointment and record the "
                 "guardian on the child's page", status=_uasc_label(ev.get("status")), d=format_date(_day(ev["since"])))


def _uasc_label(value) -> str:
    from tracker.labels import label

    try:
        return str(label(UascStatus(value))).lower()
    except ValueError:
        return str(value)


def guardian_recorded(child_ids: list[int], on: dt.date | None = None) -> None:
    """A guardian is recorded for these children: their "UASC without a guardian" flag clears now, as the
    next refresh would clear it. No commit."""
    from tracker.flags.models import Flag

    if not child_ids:
        return
    db.session.execute(sa.update(Flag).where(Flag.child_id.in_(child_ids), Flag.rule == UascWithoutGuardian.slug,
                                             Flag.cleared_on.is_(None))
                       .values(cleared_on=on or dt.date.today(), version=Flag.version + 1)
                       .execution_options(synchronize_session="fetch"))


@hookimpl
def register_risk_rules():
    return [ChronicAbsence, ConsecutiveAbsences, PresumedDropout, NoRegister, OutOfSchool, UascWithoutGuardian]
