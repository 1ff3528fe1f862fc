"""Every indicator as SQL aggregations, returned as tidy rows.

A row: ``{"indicator": name, <one key per dimension>, "numerator", "denominator", "value"}``
(retention rows also carry ``cohort``, ``retained``, ``moved_onward`` and ``dropped_out``; attendance
rate and register completeness rows carry ``children``, the number of children their days come from).
Numerators and denominators are additive, so each indicator is computed once broken down by
sex as well, and the requested breakdown is the sum over sex; the gender parity indices come
from the same numbers. Definitions: docs/indicators.md.

Every count of children also comes with the sum of those children's record keys, in the row's
``_keys`` (``{"numerator": ..., "denominator": ..., "cohort": ..., "children": ...}``, each
modulo RECORD_KEY_MODULUS). The sums are additive like the counts, and they are what the
perturbation of partners' figures is looked up with (tracker.reports.disclosure). ``_keys``
never leaves tracker.reports: every output drops it.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tracker.attendance import summary
from tracker.attendance.models import AttendanceMonth, AttendanceRecord
from tracker.children.models import RECORD_KEY_MODULUS, CentreStay, Child
from tracker.dates import aged_between
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.indicators import dimensions, sql
from tracker.schools.calendar import ensure_calendar_days
from tracker.schools.models import CalendarDay, Centre, NonSchoolDay, School
from tracker.types import LEAVING_SERBIA, AttendanceStatus, ExitReason, Level

HORIZONS = (90, 180, 365)
RATES = ["attendance_rate", "register_completeness", "chronic_absence_rate",
         *[f"retention_{lv.value}_{h}d" for lv in Level for h in HORIZONS], "transition_primary_secondary",
         "out_of_school"]
COUNTS = ["enrolled", "new_enrolments", *[f"exits_{r.value}" for r in ExitReason]]
INDICATORS = COUNTS + RATES
# A new enrolment is not one that continues a transfer or a completed grade within this many days.
CONTINUATION_DAYS = 120
CHRONIC_MIN_DAYS = 10
CHRONIC_SHARE = 0.10


@dataclass
class Params:
    frm: dt.date
    to: dt.date
    as_of: dt.date
    by: list[str] = field(default_factory=list)
    school_ids: sa.Select | None = None  # None: every school
    keys: bool = False  # also sum the record keys of every count (for disclosure control; see the module's doc)

    @property
    def until(self) -> dt.date:
        """Attendance is counted up to the earlier of the period's end and the as-of date."""
        return min(self.to, self.as_of)


def _scoped(q: sa.Select, p: Params) -> sa.Select:
    return q if p.school_ids is None else q.where(Enrolment.school_id.in_(p.school_ids))


def _dims(p: Params, ref, *, with_enrolment: bool = True) -> list:
    return [dimensions.expression(n, ref, with_enrolment=with_enrolment) for n in _keys(p)]


def _with_child(q: sa.Select, p: Params) -> sa.Select:
    """Join the child, and the school when a breakdown needs it, to a query over Enrolment."""
    q = q.join(Child, Child.id == Enrolment.child_id)
    return q.join(School, School.id == Enrolment.school_id) if {"school", "municipality"} & set(p.by) else q


def _keys(p: Params) -> list[str]:
    return p.by if "sex" in p.by else ["sex", *p.by]


def _value(key) -> object:
    return getattr(key, "value", key)


def _number(x):
    """Database sums as Python numbers: PostgreSQL returns Decimal for SUM of integers."""
    if x is None or isinstance(x, int):
        return x
    return int(x) if x == int(x) else float(x)


# --- counts -----------------------------------------------------------------------------------

def _key_sum(p: Params, condition=None):
    """The sum of the record keys of the rows counted (where ``condition`` holds); 0 unless p.keys."""
    if not p.keys:
        return sa.literal(0)
    if condition is None:
        return sa.func.coalesce(sa.func.sum(Child.record_key), 0)
    return sa.func.coalesce(sa.func.sum(sa.case((condition, Child.record_key), else_=0)), 0)


def enrolled(p: Params) -> list[tuple]:
    ref = sql.lit(p.as_of)
    dims = _dims(p, ref)
    if not set(_keys(p)) & dimensions.ENROLMENT_DIMENSIONS:
        # Only the child's own dimensions: each child enrolled on the day once, then its groups (one per child).
        now = _scoped(sa.select(Enrolment.child_id).where(sql.covering(ref)), p).distinct().subquery("now")
        q = (sa.select(*dims, sa.func.count(), _key_sum(p)).select_from(now).join(Child, Child.id == now.c.child_id)
             .group_by(*dims))
        if not p.keys:
            return [("enrolled", row[:-2], row[-2], None) for row in db.session.execute(q)]
        return [("enrolled", row[:-2], row[-2], None, {"key_numerator": row[-1]}) for row in db.session.execute(q)]
    if not p.keys:
        q = (_with_child(sa.select(*dims, sa.func.count(sa.distinct(Enrolment.child_id))).select_from(Enrolment), p)
             .where(sql.covering(sql.lit(p.as_of))).group_by(*dims))
        return [("enrolled", row[:-1], row[-1], None) for row in db.session.execute(_scoped(q, p))]
    # Each child once per group (as COUNT(DISTINCT) counts them), with their record key.
    children = _scoped(_with_child(sa.select(*dims, Enrolment.child_id.label("child_id"),
                                             Child.record_key.label("record_key")).select_from(Enrolment), p)
                       .where(sql.covering(sql.lit(p.as_of))).distinct(), p).subquery("children")
    keys = [children.c[k] for k in _keys(p)]
    q = sa.select(*keys, sa.func.count(), sa.func.sum(children.c.record_key)).group_by(*keys)
    return [("enrolled", row[:-2], row[-2], None, {"key_numerator": row[-1]}) for row in db.session.execute(q)]


def new_enrolments(p: Params) -> list[tuple]:
    prev = aliased(Enrolment)
    continues = sa.exists().where(
        prev.child_id == Enrolment.child_id, prev.id != Enrolment.id,
        prev.exit_reason.in_([ExitReason.transferred, ExitReason.completed]),
        prev.end_date < Enrolment.start_date,
        prev.end_date >= sql.add_days(Enrolment.start_date, -CONTINUATION_DAYS))
    dims = _dims(p, Enrolment.start_date)
    q = (_with_child(sa.select(*dims, sa.func.count(Enrolment.id), _key_sum(p)).select_from(Enrolment), p)
         .where(Enrolment.start_date.between(p.frm, p.to), ~continues).group_by(*dims))
    return [("new_enrolments", row[:-2], row[-2], None, {"key_numerator": row[-1]})
            for row in db.session.execute(_scoped(q, p))]


def exits(p: Params) -> list[tuple]:
    dims = _dims(p, Enrolment.end_date)
    q = (_with_child(sa.select(Enrolment.exit_reason, *dims, sa.func.count(), _key_sum(p)).select_from(Enrolment), p)
         .where(Enrolment.end_date.between(p.frm, p.to)).group_by(Enrolment.exit_reason, *dims))
    return [(f"exits_{_value(row[0])}", row[1:-2], row[-2], None, {"key_numerator": row[-1]})
            for row in db.session.execute(_scoped(q, p))]


# --- attendance -------------------------------------------------------------------------------

def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def attendance_by_enrolment(frm: dt.date, until: dt.date) -> sa.Subquery:
    if until < frm:  # an as-of date before the period: nothing recorded yet
        until = frm - dt.timedelta(days=1)
        empty = sa.select(AttendanceRecord.enrolment_id.label("enrolment_id"), sa.literal(0).label("recorded"),
                          sa.literal(0).label("attended"), sa.literal(0).label("absent")).where(sa.false()).subquery()
        return sa.select(empty.c.enrolment_id, empty.c.recorded, empty.c.attended, empty.c.absent).subquery("att")
    return _attendance_by_enrolment(frm, until)


def _edges(frm: dt.date, until: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The days of the period's first and last months outside the period that hold any record."""
    out = []
    for lo, hi in [(frm.replace(day=1), frm - dt.timedelta(days=1)), (until + dt.timedelta(days=1), _month_end(until))]:
        if lo <= hi and db.session.scalar(sa.select(AttendanceRecord.enrolment_id)
                                          .where(AttendanceRecord.date.between(lo, hi)).limit(1)) is not None:
            out.append((lo, hi))
    return out


def _attendance_by_enrolment(frm: dt.date, until: dt.date) -> sa.Subquery:
    """Per enrolment in [frm, until]: recorded, attended and absent days.

    Every month the period touches comes whole from the attendance_month summary; the records
    of the days outside the period in the first and last month are then subtracted, with the
    summary's own rules (within the enrolment's dates, on school days). Exact, and fast: at the
    end of a period those days are usually still in the future and hold no records.
    """
    attended_raw = sa.case((AttendanceRecord.status.in_([AttendanceStatus.present, AttendanceStatus.late]), 1), else_=0)
    absent_raw = sa.case((AttendanceRecord.status.in_([AttendanceStatus.absent_excused,
                                                       AttendanceStatus.absent_unexcused]), 1), else_=0)
    parts = [sa.select(AttendanceMonth.enrolment_id.label("enrolment_id"),
                       AttendanceMonth.recorded.label("recorded"),
                       (AttendanceMonth.present + AttendanceMonth.late).label("attended"),
                       (AttendanceMonth.absent_excused + AttendanceMonth.absent_unexcused).label("absent"))
             .where(AttendanceMonth.month.between(frm.replace(day=1), until.replace(day=1)))]
    for lo, hi in _edges(frm, until):
        if lo <= hi:
            parts.append(sa.select(AttendanceRecord.enrolment_id.label("enrolment_id"), sa.literal(-1).label("recorded"),
                                   (-attended_raw).label("attended"), (-absent_raw).label("absent"))
                         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                         .where(AttendanceRecord.date.between(lo, hi), sql.covering(AttendanceRecord.date),
                                ~summary.day_off(Enrolment.school_id, AttendanceRecord.date)))
    facts = sa.union_all(*parts).subquery("facts") if len(parts) > 1 else parts[0].subquery("facts")
    return (sa.select(facts.c.enrolment_id, sa.func.sum(facts.c.recorded).label("recorded"),
                      sa.func.sum(facts.c.attended).label("attended"), sa.func.sum(facts.c.absent).label("absent"))
            .group_by(facts.c.enrolment_id)
            .having(sa.func.sum(facts.c.recorded) != 0)  # every record of the months outside the period
            .subquery("att"))


def _ordinal_through(day):
    """The ordinal of the last calendar_day on or before ``day`` (a date expression), or NULL."""
    return (sa.select(CalendarDay.ordinal).where(CalendarDay.date <= day)
            .order_by(CalendarDay.date.desc()).limit(1).scalar_subquery())


def _own_days_off(school_id, lo, hi):
    """A school's own days off from lo to hi that are otherwise school days.

    An EXISTS per day off: a join with calendar_day here would scan it once per outer row.
    """
    common = sa.exists().where(CalendarDay.date == NonSchoolDay.date)
    return (sa.select(sa.func.count()).select_from(NonSchoolDay)
            .where(NonSchoolDay.school_id == school_id, NonSchoolDay.date.between(lo, hi), common)
            .scalar_subquery())


def school_days_between(lo, hi, school_id):
    """School days of a school from lo to hi inclusive (date expressions): calendar_day ordinals, less its own days off."""
    return (sa.func.coalesce(_ordinal_through(hi), 0) - sa.func.coalesce(_ordinal_through(sql.add_days(lo, -1)), 0)
            - _own_days_off(school_id, lo, hi))


def enrolled_school_days(frm: dt.date, until: dt.date) -> sa.Select:
    """Per enrolment overlapping [frm, until]: its school days there (enrolment_id, days).

    The same count as school_days_between, with the look-ups done once for the period and
    per enrolment only where it starts or ends inside the period.
    """
    ensure_calendar_days()
    before = db.session.scalar(sa.select(_ordinal_through(sql.lit(frm - dt.timedelta(days=1))))) or 0
    through = db.session.scalar(sa.select(_ordinal_through(sql.lit(until)))) or 0
    starts_inside = Enrolment.start_date > frm
    ends_inside = sa.and_(Enrolment.end_date.is_not(None), Enrolment.end_date < until)
    lo = sa.case((starts_inside, Enrolment.start_date), else_=sql.lit(frm))
    hi = sa.case((ends_inside, Enrolment.end_date), else_=sql.lit(until))
    ord_lo = sa.case((starts_inside, sa.func.coalesce(_ordinal_through(sql.add_days(Enrolment.start_date, -1)), 0)),
                     else_=before)
    ord_hi = sa.case((ends_inside, sa.func.coalesce(_ordinal_through(Enrolment.end_date), 0)), else_=through)
    common = sa.exists().where(CalendarDay.date == NonSchoolDay.date)
    off_in_period = (sa.select(NonSchoolDay.school_id, sa.func.count().label("n"))
                     .where(NonSchoolDay.school_id.is_not(None), NonSchoolDay.date.between(frm, until), common)
                     .group_by(NonSchoolDay.school_id).subquery("off"))
    days_off = sa.case((sa.or_(starts_inside, ends_inside), _own_days_off(Enrolment.school_id, lo, hi)),
                       else_=sa.func.coalesce(off_in_period.c.n, 0))
    return (sa.select(Enrolment.id.label("enrolment_id"), (ord_hi - ord_lo - days_off).label("days"))
            .select_from(Enrolment).outerjoin(off_in_period, off_in_period.c.school_id == Enrolment.school_id)
            .where(Enrolment.start_date <= until, sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= frm),
                   sa.true() if frm <= until else sa.false()))


def attendance(p: Params) -> list[tuple]:
    """attendance_rate, register_completeness and chronic_absence_rate in one pass.

    Per enrolment overlapping the period (in scope): its school days there, and the days
    recorded, attended and absent; summed per child and breakdown (a child counts once for
    chronic absence), then per breakdown.
    """
    until = p.until
    att = attendance_by_enrolment(p.frm, until)
    dims = _dims(p, sql.lit(p.as_of))
    per_enrolment = enrolled_school_days(p.frm, until)
    per_enrolment = _scoped(per_enrolment, p).subquery("days")
    record_key = Child.record_key if p.keys else sa.literal(0)
    per_child = (_with_child(sa.select(Enrolment.child_id, record_key.label("record_key"), *dims,
                                       sa.func.coalesce(sa.func.sum(att.c.recorded), 0).label("recorded"),
                                       sa.func.coalesce(sa.func.sum(att.c.attended), 0).label("attended"),
                                       sa.func.coalesce(sa.func.sum(att.c.absent), 0).label("absent"),
                                       sa.func.sum(per_enrolment.c.days).label("days"))
                             .select_from(per_enrolment).join(Enrolment, Enrolment.id == per_enrolment.c.enrolment_id)
                             .outerjoin(att, att.c.enrolment_id == per_enrolment.c.enrolment_id), p)
                 .group_by(Enrolment.child_id, *([Child.record_key] if p.keys else []), *dims)).subquery("per_child")
    keys = [per_child.c[k] for k in _keys(p)]
    counted = per_child.c.recorded >= CHRONIC_MIN_DAYS
    chronic = sa.and_(counted, per_child.c.absent * 1.0 >= per_child.c.recorded * CHRONIC_SHARE)
    rk = per_child.c.record_key

    def key_of(condition):
        return sa.func.sum(sa.case((condition, rk), else_=0))

    q = (sa.select(*keys, sa.func.sum(per_child.c.attended), sa.func.sum(per_child.c.recorded),
                   sa.func.sum(per_child.c.days), sa.func.sum(sa.case((chronic, 1), else_=0)),
                   sa.func.sum(sa.case((counted, 1), else_=0)),
                   sa.func.sum(sa.case((per_child.c.recorded > 0, 1), else_=0)), sa.func.count(),
                   key_of(chronic), key_of(counted), key_of(per_child.c.recorded > 0), sa.func.sum(rk))
         .group_by(*keys))
    out = []
    for row in db.session.execute(q):
        dims_ = row[:-11]
        attended, recorded, days, chronic_n, counted_n, recorded_n, enrolled_n = row[-11:-4]
        key_chronic, key_counted, key_recorded, key_enrolled = row[-4:]
        # "children": how many children the day counts come from (for disclosure control).
        out.append(("register_completeness", dims_, recorded, days, {"children": enrolled_n,
                                                                     "key_children": key_enrolled}))
        if recorded:  # groups with no recorded day have no attendance rate or chronic absence
            out.append(("attendance_rate", dims_, attended, recorded, {"children": recorded_n,
                                                                       "key_children": key_recorded}))
            out.append(("chronic_absence_rate", dims_, chronic_n, counted_n,
                        {"key_numerator": key_chronic, "key_denominator": key_counted}))
    return out


def attendance_by_month(p: Params) -> list[dict]:
    """The attendance rate of each calendar month of [frm, until] (in scope), with its children count.

    Rows: {"month": "YYYY-MM", "numerator" (attended days), "denominator" (recorded days), "value",
    "children"}; summed over the months they give the period's attendance rate exactly.
    """
    until = p.until
    if until < p.frm:
        return []
    attended_raw = sa.case((AttendanceRecord.status.in_([AttendanceStatus.present, AttendanceStatus.late]), 1), else_=0)
    parts = [sa.select(AttendanceMonth.enrolment_id.label("enrolment_id"), AttendanceMonth.month.label("month"),
                       AttendanceMonth.recorded.label("recorded"),
                       (AttendanceMonth.present + AttendanceMonth.late).label("attended"))
             .where(AttendanceMonth.month.between(p.frm.replace(day=1), until.replace(day=1)))]
    for lo, hi in _edges(p.frm, until):
        if lo <= hi:
            parts.append(sa.select(AttendanceRecord.enrolment_id.label("enrolment_id"),
                                   sql.lit(lo.replace(day=1)).label("month"), sa.literal(-1).label("recorded"),
                                   (-attended_raw).label("attended"))
                         .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                         .where(AttendanceRecord.date.between(lo, hi), sql.covering(AttendanceRecord.date),
                                ~summary.day_off(Enrolment.school_id, AttendanceRecord.date)))
    if len(parts) == 1 and not p.keys:  # whole months: every summary row has records, no netting per enrolment
        m = AttendanceMonth
        q = (sa.select(m.month, sa.func.sum(m.present + m.late), sa.func.sum(m.recorded),
                       sa.func.count(sa.distinct(Enrolment.child_id)), sa.literal(0))
             .select_from(m).join(Enrolment, Enrolment.id == m.enrolment_id)
             .where(m.month.between(p.frm.replace(day=1), until.replace(day=1))).group_by(m.month).order_by(m.month))
        return _month_rows(db.session.execute(_scoped(q, p)))
    if len(parts) == 1:
        m = AttendanceMonth
        per_enrolment = (sa.select(m.enrolment_id.label("enrolment_id"), m.month.label("month"),
                                   m.recorded.label("recorded"), (m.present + m.late).label("attended"))
                         .where(m.month.between(p.frm.replace(day=1), until.replace(day=1))).subquery("per_enrolment"))
    else:
        facts = sa.union_all(*parts).subquery("facts")
        per_enrolment = (sa.select(facts.c.enrolment_id, facts.c.month,
                                   sa.func.sum(facts.c.recorded).label("recorded"),
                                   sa.func.sum(facts.c.attended).label("attended"))
                         .group_by(facts.c.enrolment_id, facts.c.month)
                         .having(sa.func.sum(facts.c.recorded) != 0).subquery("per_enrolment"))
    # Per month and child (a child counts once, with their record key), then per month.
    per_child = _scoped(sa.select(per_enrolment.c.month.label("month"), Enrolment.child_id.label("child_id"),
                                  Child.record_key.label("record_key"),
                                  sa.func.sum(per_enrolment.c.attended).label("attended"),
                                  sa.func.sum(per_enrolment.c.recorded).label("recorded"))
                        .select_from(per_enrolment).join(Enrolment, Enrolment.id == per_enrolment.c.enrolment_id)
                        .join(Child, Child.id == Enrolment.child_id), p)
    per_child = per_child.group_by(per_enrolment.c.month, Enrolment.child_id, Child.record_key).subquery("per_child")
    q = (sa.select(per_child.c.month, sa.func.sum(per_child.c.attended), sa.func.sum(per_child.c.recorded),
                   sa.func.count(), sa.func.sum(per_child.c.record_key))
         .group_by(per_child.c.month).order_by(per_child.c.month))
    return _month_rows(db.session.execute(q))


def _month_rows(result) -> list[dict]:
    out = []
    for month, attended, recorded, children, key in result:
        month = month if isinstance(month, dt.date) else dt.date.fromisoformat(str(month))
        attended, recorded = _number(attended), _number(recorded)
        out.append({"month": month.strftime("%Y-%m"), "numerator": attended, "denominator": recorded,
                    "value": attended / recorded if recorded else None, "children": children,
                    "_keys": {"children": int(key or 0) % RECORD_KEY_MODULUS}})
    return out


# --- retention and transition ------------------------------------------------------------------

def retention(p: Params, level: Level | None = None) -> list[tuple]:
    """retention_<level>_<H>d for every horizon H, for one level or (None) both, in one query over the cohort.

    Each cohort enrolment (its target day T per horizon computed once) is joined once with the
    child's enrolments, and every horizon's facts are aggregates of that join: retained = an
    enrolment at the level or higher covers T; moved onward = the latest exit *moved onward*
    before T exists and no enrolment starts after it up to T, i.e. the latest start on or before
    T is not after that exit (if any such exit has no enrolment starting after it up to T, the
    latest one has none either). The same numbers as an EXISTS per fact, without a correlated
    subquery per cohort enrolment and horizon.
    """
    earlier = aliased(Enrolment)
    first_at_level = ~sa.exists().where(earlier.child_id == Enrolment.child_id, earlier.level == Enrolment.level,
                                        earlier.start_date < Enrolment.start_date)
    cohort_levels = list(Level) if level is None else [level]
    dims = _dims(p, Enrolment.start_date)
    record_key = Child.record_key if p.keys else sa.literal(0)
    targets = [sql.in_school_year_or_before(sql.add_days(Enrolment.start_date, h)).label(f"t{h}") for h in HORIZONS]
    cohort = (_with_child(sa.select(Enrolment.id.label("_id"), Enrolment.child_id.label("_child"),
                                    Enrolment.level.label("_level"), Enrolment.start_date.label("_start"), *dims, record_key.label("record_key"),
                                    *targets).select_from(Enrolment), p)
              .where(Enrolment.level.in_(cohort_levels), Enrolment.start_date.between(p.frm, p.to), first_at_level,
                     sql.add_days(Enrolment.start_date, min(HORIZONS)) <= sql.lit(p.as_of)))
    # MATERIALIZED: the targets are computed once per cohort enrolment, not once per joined row.
    cohort = _scoped(cohort, p).cte("cohort").prefix_with("MATERIALIZED")
    r = aliased(Enrolment)
    facts = []
    for h in HORIZONS:
        t = cohort.c[f"t{h}"]
        # At the level or higher: any level after primary, secondary after secondary.
        higher = sa.or_(cohort.c._level == Level.primary, r.level == Level.secondary)
        facts += [sa.func.max(sa.case((sa.and_(higher, r.start_date <= t,
                                               sa.or_(r.end_date.is_(None), r.end_date >= t)), 1), else_=0))
                  .label(f"kept{h}"),
                  sa.func.max(sa.case((sa.and_(r.exit_reason == ExitReason.moved_onward, r.end_date < t),
                                       r.end_date))).label(f"left{h}"),
                  sa.func.max(sa.case((r.start_date <= t, r.start_date))).label(f"back{h}")]
    group = [cohort.c._id, cohort.c._level, cohort.c._start, *(cohort.c[k] for k in _keys(p)), cohort.c.record_key]
    f = (sa.select(*group, *facts).select_from(cohort.join(r, r.child_id == cohort.c._child))
         .group_by(*group).subquery("f"))
    keys = [f.c._level, *(f.c[k] for k in _keys(p))]
    counts = []
    for h in HORIZONS:
        due = f.c._start <= sql.lit(p.as_of - dt.timedelta(days=h))
        moved = sa.and_(due, f.c[f"kept{h}"] == 0, f.c[f"left{h}"].is_not(None), f.c[f"back{h}"] <= f.c[f"left{h}"])
        counts += [sa.case((due, 1), else_=0), sa.case((due, f.c[f"kept{h}"]), else_=0), sa.case((moved, 1), else_=0)]
    sums = [sa.func.sum(c) for c in counts]
    key_sums = ([sa.func.sum(c * f.c.record_key) for c in counts] if p.keys
                else [sa.literal(0) for _c in counts])
    out = []
    width = 3 * len(HORIZONS)
    for row in db.session.execute(sa.select(*keys, *sums, *key_sums).group_by(*keys)):
        level_, dims_ = Level(_value(row[0])), row[1:len(keys)]
        for i, horizon in enumerate(HORIZONS):
            at = len(keys) + 3 * i
            n, kept, moved_on = (_number(v) or 0 for v in row[at:at + 3])
            k_n, k_kept, k_moved = (int(v or 0) for v in row[at + width:at + width + 3])
            if not n:  # nobody in this group has reached the horizon yet
                continue
            out.append((f"retention_{level_.value}_{horizon}d", dims_, kept, n - moved_on,
                        {"cohort": n, "retained": kept, "moved_onward": moved_on,
                         "dropped_out": n - kept - moved_on,
                         "key_numerator": k_kept, "key_denominator": k_n - k_moved, "key_cohort": k_n,
                         "key_retained": k_kept, "key_moved_onward": k_moved,
                         "key_dropped_out": k_n - k_kept - k_moved}))
    return out


def transition(p: Params) -> list[tuple]:
    s = aliased(Enrolment)
    started = sa.exists().where(s.child_id == Enrolment.child_id, s.level == Level.secondary,
                                s.start_date > Enrolment.end_date, s.start_date <= sql.add_days(Enrolment.end_date, 180))
    dims = _dims(p, Enrolment.end_date)
    q = (_with_child(sa.select(*dims, sa.func.sum(sa.case((started, 1), else_=0)), sa.func.count(),
                                _key_sum(p, started), _key_sum(p)).select_from(Enrolment), p)
         .where(Enrolment.level == Level.primary, Enrolment.grade == 8, Enrolment.exit_reason == ExitReason.completed,
                Enrolment.end_date.between(p.frm, p.to)).group_by(*dims))
    return [("transition_primary_secondary", row[:-4], row[-4], row[-3],
             {"key_numerator": row[-2], "key_denominator": row[-1]}) for row in db.session.execute(_scoped(q, p))]


# --- out of school ------------------------------------------------------------------------------

# The exit reasons that mean the child left Serbia (leaving the country is not dropping out).


def left_serbia(day) -> sa.ColumnElement:
    """True when the child's last known state on ``day`` (a date or a date expression) is *left Serbia*.

    An enrolment of the child ended on or before ``day`` with a leaving reason, and neither an
    enrolment nor a centre stay of the child started after that end date (up to ``day``). A centre
    stay left open by the exit (old data, or the officer kept it) does not make the child count as
    living in the centre. On the end date itself the child is still enrolled (their last day at
    school). The one definition for the indicator, the out-of-school rule and the officer's home
    page; docs/indicators.md.
    """
    d = sql.lit(day) if isinstance(day, dt.date) else day
    gone, later, stay = aliased(Enrolment), aliased(Enrolment), aliased(CentreStay)
    return sa.exists().where(
        gone.child_id == Child.id, gone.exit_reason.in_(LEAVING_SERBIA), gone.end_date <= d,
        ~sa.exists().where(later.child_id == gone.child_id, later.start_date > gone.end_date, later.start_date <= d),
        ~sa.exists().where(stay.child_id == gone.child_id, stay.start_date > gone.end_date, stay.start_date <= d))


def out_of_school(p: Params) -> list[tuple]:
    day = p.as_of
    dims = _dims(p, sql.lit(day), with_enrolment=False)
    in_centre = sa.exists().where(CentreStay.child_id == Child.id, CentreStay.start_date <= day - dt.timedelta(days=30),
                                  sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= day))
    if p.school_ids is not None:
        municipalities = sa.select(School.municipality).where(School.id.in_(p.school_ids))
        in_centre = sa.exists().where(
            CentreStay.child_id == Child.id, CentreStay.start_date <= day - dt.timedelta(days=30),
            sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= day),
            CentreStay.centre_id == Centre.id, Centre.municipality.in_(municipalities))
    enrolled_now = sa.exists().where(Enrolment.child_id == Child.id, sql.covering(sql.lit(day)))
    # The settled children of school age with whether they are enrolled, decided once each; only those
    # not enrolled are then looked at for having left Serbia (and only they count in the numerator).
    settled = (sa.select(Child.id.label("_id"), sa.case((enrolled_now, 1), else_=0).label("_enrolled"))
               .where(aged_between(Child.birth_date, day, 7, 17), in_centre)
               .cte("settled").prefix_with("MATERIALIZED"))
    q = (sa.select(*dims, sa.func.sum(1 - settled.c._enrolled), sa.func.count(),
                   _key_sum(p, settled.c._enrolled == 0), _key_sum(p))
         .select_from(settled).join(Child, Child.id == settled.c._id)
         .where(sa.or_(settled.c._enrolled == 1, ~left_serbia(day)))
         .group_by(*dims))
    return [("out_of_school", row[:-4], row[-4], row[-3], {"key_numerator": row[-2], "key_denominator": row[-1]})
            for row in db.session.execute(q)]


# --- assembling ---------------------------------------------------------------------------------

def _gpi(female, male):
    if female is None or male is None or male == 0:
        return None
    ratio = female / male
    if ratio <= 1:
        return ratio
    return 2 - (male / female) if female else None


EXTRA_KEYS = ("cohort", "retained", "moved_onward", "dropped_out", "children")


def raw_rows(p: Params) -> list[tuple]:
    """Every indicator's SQL answer: (name, dims in the order of keys(p), numerator, denominator[, extra])."""
    return [*enrolled(p), *new_enrolments(p), *exits(p), *attendance(p),
            *retention(p), *transition(p), *out_of_school(p)]


def keys(p: Params) -> list[str]:
    """The dimensions of raw_rows(p): the requested ones, with sex always among them."""
    return _keys(p)


def assemble(raw: list[tuple], raw_keys: list[str], by: list[str]) -> list[dict]:
    """Tidy rows for the breakdown ``by`` (a subset of raw_keys) by summing the raw rows over the other keys.

    Exact when the dimensions summed over are the child's own (sex, uasc, age_band, country, centre):
    each child has one value of each on the reference date.
    """
    at = {k: i for i, k in enumerate(raw_keys)}
    sex_at = at["sex"]
    rest_keys = [k for k in by if k != "sex"]
    grouped: dict[tuple, dict] = {}
    by_sex: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for item in raw:
        name, dims = item[:2]
        num, den = _number(item[2]), _number(item[3])
        extra = {k: _number(v) for k, v in (item[4] if len(item) > 4 else {}).items()}
        dims = tuple(_value(d) for d in dims)
        target = tuple(dims[at[k]] for k in by)
        rest = tuple(dims[at[k]] for k in rest_keys)
        row = grouped.setdefault((name, target), {"num": 0, "den": None if den is None else 0, "extra": defaultdict(int)})
        row["num"] += num or 0
        if den is not None:
            row["den"] = (row["den"] or 0) + den
        for k, v in extra.items():
            row["extra"][k] += v or 0
        if name in RATES:
            f, m = by_sex[(name, rest)].get(dims[sex_at], (0, 0))
            by_sex[(name, rest)][dims[sex_at]] = (f + (num or 0), m + (den or 0))
    rows = []
    for (name, dims), agg in sorted(grouped.items(), key=lambda kv: (INDICATORS.index(kv[0][0]),
                                                                     [str(d) for d in kv[0][1]])):
        row = {"indicator": name, **dict(zip(by, dims))}
        num, den = agg["num"], agg["den"]
        row.update(numerator=num, denominator=den,
                   value=num if den is None and name not in RATES else (num / den if den else None))
        row.update({k: agg["extra"][k] for k in EXTRA_KEYS if k in agg["extra"]})
        row["_keys"] = {k[4:]: int(v) % RECORD_KEY_MODULUS for k, v in agg["extra"].items() if k.startswith("key_")}
        rows.append(row)
    for (name, rest), sexes in sorted(by_sex.items(), key=lambda kv: (INDICATORS.index(kv[0][0]),
                                                                      [str(d) for d in kv[0][1]])):
        rates = {s: (n / d if d else None) for s, (n, d) in sexes.items()}
        f, m = rates.get("female"), rates.get("male")
        dims = dict(zip(rest_keys, rest))
        rows.append({"indicator": f"gpi_{name}", **{k: dims.get(k) for k in by},
                     "numerator": f, "denominator": m, "value": _gpi(f, m)})
    return rows


def _without_keys(rows: list[dict], p: Params) -> list[dict]:
    """Cell keys only when asked for (p.keys, for tracker.reports): never in exact figures."""
    if not p.keys:
        for row in rows:
            row.pop("_keys", None)
    return rows


def compute(p: Params) -> list[dict]:
    return _without_keys(assemble(raw_rows(p), _keys(p), p.by), p)


# Counted per child and breakdown: a child enrolled at two levels or schools in the period counts in each,
# so these cannot be summed over enrolment dimensions. Every other indicator counts enrolments, or
# children on one date (one enrolment each), and sums exactly.
PER_CHILD = {"attendance_rate", "register_completeness", "chronic_absence_rate"}


def compute_many(p: Params, breakdowns: list[list[str]]) -> dict[tuple[str, ...], list[dict]]:
    """compute() for several breakdowns of the same period, sharing the queries.

    Breakdowns that differ only in the child's own dimensions come from one set of queries,
    summed up. The set with the most enrolment dimensions (level, school, municipality) is
    queried in full; a set with fewer sums its answers, and queries only the per-child
    indicators (PER_CHILD) itself.
    """
    from tracker.indicators.dimensions import ENROLMENT_DIMENSIONS

    families: dict[frozenset, list[list[str]]] = defaultdict(list)
    for by in breakdowns:
        families[frozenset(d for d in by if d in ENROLMENT_DIMENSIONS)].append(list(by))
    child_dims = sorted({d for by in breakdowns for d in by if d not in ENROLMENT_DIMENSIONS})
    out: dict[tuple[str, ...], list[dict]] = {}
    done: list[tuple[frozenset, list[str], list[tuple]]] = []
    for enrolment_dims in sorted(families, key=lambda e: (-len(e), sorted(e))):
        q = Params(frm=p.frm, to=p.to, as_of=p.as_of, by=sorted(enrolment_dims) + child_dims, school_ids=p.school_ids,
                   keys=p.keys)
        keys_q = _keys(q)
        donor = next((d for d in done if enrolment_dims <= d[0]), None)
        if donor is None:
            raw = raw_rows(q)
        else:
            at = [donor[1].index(k) for k in keys_q]
            raw = [(item[0], tuple(item[1][i] for i in at), *item[2:]) for item in donor[2] if item[0] not in PER_CHILD]
            raw += attendance(q)
        done.append((enrolment_dims, keys_q, raw))
        for by in families[enrolment_dims]:
            out[tuple(by)] = _without_keys(assemble(raw, keys_q, by), p)
    return out
