"""Hand-written SQL for every indicator, broken down by sex and UASC status: what tracker is measured against.

Written as someone who knows the schema and its indexes would write them to be fast *and*
exact (the definitions of docs/indicators.md, for any data, not only the benchmark's): one
query where one query can give several figures (the three attendance indicators; retention at
every level and horizon), the attendance from the monthly summary less the records of the
period's first and last months that fall outside it, per-child facts summed before the
child's UASC status is looked up, ages and horizons turned into date bounds computed once
(so the birth_date index and plain comparisons do the work), and ``MATERIALIZED`` CTEs where a
computed flag is read twice. The same text runs on SQLite and PostgreSQL: the only dialect
switch is adding days to a date column (``date(x, '+n days')`` / ``x + n``); there is no
two-argument MIN/MAX (CASE instead).

Each function takes a Params-like object (frm, to, as_of) and returns rows shaped like
tracker's raw rows: ``(indicator, (sex, uasc), numerator, denominator[, extra])``.
"""
from __future__ import annotations

import calendar
import datetime as dt

import sqlalchemy as sa

from tracker.extensions import db

HORIZONS = (90, 180, 365)
ATTENDED = "('present', 'late')"
ABSENT = "('absent_excused', 'absent_unexcused')"


def _dialect() -> str:
    return db.engine.dialect.name


def add_days(expr: str, n: str) -> str:
    """``expr`` (a date column or expression) plus ``n`` days (an integer expression)."""
    if _dialect() == "sqlite":
        return f"date({expr}, ({n}) || ' days')"
    return f"({expr} + ({n}))"


def uasc(child: str, ref: str) -> str:
    """The child's UASC status on ``ref``: the latest-starting period covering it (index-only look-up)."""
    return (f"COALESCE((SELECT u.status FROM uasc_period u WHERE u.child_id = {child}.id AND u.start_date <= {ref} "
            f"AND (u.end_date IS NULL OR u.end_date >= {ref}) ORDER BY u.start_date DESC LIMIT 1), 'accompanied')")


def _run(sql: str, **params):
    binds = [sa.bindparam(k, type_=sa.Date) for k, v in params.items() if isinstance(v, dt.date)]
    return db.session.execute(sa.text(sql).bindparams(*binds), params).all()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- counts -----------------------------------------------------------------------------------

def enrolled(p) -> list[tuple]:
    rows = _run(f"""
        WITH now AS (SELECT DISTINCT child_id FROM enrolment
                     WHERE start_date <= :as_of AND (end_date IS NULL OR end_date >= :as_of))
        SELECT c.sex, {uasc('c', ':as_of')} AS uasc, COUNT(*)
        FROM now JOIN child c ON c.id = now.child_id GROUP BY 1, 2""", as_of=p.as_of)
    return [("enrolled", (sex, u), n, None) for sex, u, n in rows]


def new_enrolments(p) -> list[tuple]:
    rows = _run(f"""
        SELECT c.sex, {uasc('c', 'e.start_date')} AS uasc, COUNT(*)
        FROM enrolment e JOIN child c ON c.id = e.child_id
        WHERE e.start_date BETWEEN :frm AND :to
          AND NOT EXISTS (SELECT 1 FROM enrolment prev WHERE prev.child_id = e.child_id AND prev.id <> e.id
                          AND prev.exit_reason IN ('transferred', 'completed') AND prev.end_date < e.start_date
                          AND prev.end_date >= {add_days('e.start_date', '-120')})
        GROUP BY 1, 2""", frm=p.frm, to=p.to)
    return [("new_enrolments", (sex, u), n, None) for sex, u, n in rows]


def exits(p) -> list[tuple]:
    rows = _run(f"""
        SELECT e.exit_reason, c.sex, {uasc('c', 'e.end_date')} AS uasc, COUNT(*)
        FROM enrolment e JOIN child c ON c.id = e.child_id
        WHERE e.end_date BETWEEN :frm AND :to GROUP BY 1, 2, 3""", frm=p.frm, to=p.to)
    return [(f"exits_{reason}", (sex, u), n, None) for reason, sex, u, n in rows]


# --- attendance -------------------------------------------------------------------------------

def _edge_records(lo: str, hi: str) -> str:
    """The summary's own records from lo to hi (within the enrolment, not a day off), negated, per child."""
    return f"""
        SELECT e.child_id, 0, -1, CASE WHEN r.status IN {ATTENDED} THEN -1 ELSE 0 END,
               CASE WHEN r.status IN {ABSENT} THEN -1 ELSE 0 END, 0
        FROM attendance_record r JOIN enrolment e ON e.id = r.enrolment_id
        WHERE r.date BETWEEN {lo} AND {hi} AND r.date >= e.start_date AND (e.end_date IS NULL OR r.date <= e.end_date)
          AND NOT EXISTS (SELECT 1 FROM non_school_day o
                          WHERE o.date = r.date AND (o.school_id IS NULL OR o.school_id = e.school_id))"""


def attendance(p) -> list[tuple]:
    """attendance_rate, register_completeness and chronic_absence_rate in one query."""
    until = min(p.to, p.as_of)
    if until < p.frm:
        return []
    m_frm, m_until = p.frm.replace(day=1), until.replace(day=1)
    m_until_end = until.replace(day=calendar.monthrange(until.year, until.month)[1])
    rows = _run(f"""
        WITH span AS (
          -- enrolments overlapping [frm, until]: the part inside, and whether it starts or ends inside
          SELECT e.id, e.child_id, e.school_id,
                 CASE WHEN e.start_date > :frm THEN e.start_date ELSE :frm END AS lo,
                 CASE WHEN e.end_date < :until THEN e.end_date ELSE :until END AS hi,
                 CASE WHEN e.start_date > :frm OR e.end_date < :until THEN 1 ELSE 0 END AS partial
          FROM enrolment e WHERE e.start_date <= :until AND (e.end_date IS NULL OR e.end_date >= :frm)
        ),
        bounds AS (
          SELECT (SELECT ordinal FROM calendar_day WHERE date < :frm ORDER BY date DESC LIMIT 1) AS ord_before,
                 (SELECT ordinal FROM calendar_day WHERE date <= :until ORDER BY date DESC LIMIT 1) AS ord_through
        ),
        own_off AS (  -- each school's own days off in the period that are otherwise school days
          SELECT o.school_id, COUNT(*) AS n FROM non_school_day o JOIN calendar_day d ON d.date = o.date
          WHERE o.school_id IS NOT NULL AND o.date BETWEEN :frm AND :until GROUP BY o.school_id
        ),
        facts (child_id, days, recorded, attended, absent, in_period) AS (
          SELECT s.child_id,
                 CASE WHEN s.partial = 0 THEN COALESCE(b.ord_through, 0) - COALESCE(b.ord_before, 0) - COALESCE(oo.n, 0)
                 ELSE COALESCE((SELECT ordinal FROM calendar_day WHERE date <= s.hi ORDER BY date DESC LIMIT 1), 0)
                    - COALESCE((SELECT ordinal FROM calendar_day WHERE date < s.lo ORDER BY date DESC LIMIT 1), 0)
                    - (SELECT COUNT(*) FROM non_school_day o JOIN calendar_day d ON d.date = o.date
                       WHERE o.school_id = s.school_id AND o.date BETWEEN s.lo AND s.hi) END,
                 0, 0, 0, 1
          FROM span s CROSS JOIN bounds b LEFT JOIN own_off oo ON oo.school_id = s.school_id
          UNION ALL
          SELECT e.child_id, 0, m.recorded, m.present + m.late, m.absent_excused + m.absent_unexcused, 0
          FROM attendance_month m JOIN enrolment e ON e.id = m.enrolment_id
          WHERE m.month BETWEEN :m_frm AND :m_until
          UNION ALL {_edge_records(':m_frm', ':frm_before')}
          UNION ALL {_edge_records(':until_after', ':m_until_end')}
        ),
        per_child AS (
          SELECT child_id, SUM(days) AS days, SUM(recorded) AS recorded, SUM(attended) AS attended,
                 SUM(absent) AS absent
          FROM facts GROUP BY child_id HAVING MAX(in_period) = 1
        )
        SELECT c.sex, {uasc('c', ':as_of')} AS uasc, SUM(pc.attended), SUM(pc.recorded), SUM(pc.days),
               SUM(CASE WHEN pc.recorded >= 10 AND pc.absent * 10 >= pc.recorded THEN 1 ELSE 0 END),
               SUM(CASE WHEN pc.recorded >= 10 THEN 1 ELSE 0 END),
               SUM(CASE WHEN pc.recorded > 0 THEN 1 ELSE 0 END), COUNT(*)
        FROM per_child pc JOIN child c ON c.id = pc.child_id GROUP BY 1, 2""",
                frm=p.frm, until=until, as_of=p.as_of, m_frm=m_frm, m_until=m_until, m_until_end=m_until_end,
                frm_before=p.frm - dt.timedelta(days=1), until_after=until + dt.timedelta(days=1))
    out = []
    for sex, u, attended, recorded, days, chronic, counted, with_records, children in rows:
        out.append(("register_completeness", (sex, u), recorded, days, {"children": children}))
        if recorded:
            out.append(("attendance_rate", (sex, u), attended, recorded, {"children": with_records}))
            out.append(("chronic_absence_rate", (sex, u), chronic, counted))
    return out


# --- retention and transition ------------------------------------------------------------------

def retention(p) -> list[tuple]:
    """retention_<level>_<H>d for both levels and every horizon, in one query."""
    horizons = " UNION ALL ".join(f"SELECT {h} AS h, :due{h} AS due" for h in HORIZONS)
    moved = """EXISTS (SELECT 1 FROM enrolment x WHERE x.child_id = f.child_id AND x.exit_reason = 'moved_onward'
                       AND x.end_date < f.t
                       AND NOT EXISTS (SELECT 1 FROM enrolment y WHERE y.child_id = f.child_id
                                       AND y.start_date > x.end_date AND y.start_date <= f.t))"""
    rows = _run(f"""
        WITH cohort AS MATERIALIZED (
          -- the child's first enrolment at its level, started in the period, at least one horizon ago
          SELECT e.child_id, e.level, e.start_date, c.sex, {uasc('c', 'e.start_date')} AS uasc
          FROM enrolment e JOIN child c ON c.id = e.child_id
          WHERE e.start_date BETWEEN :frm AND :to AND e.start_date <= :due{min(HORIZONS)}
            AND NOT EXISTS (SELECT 1 FROM enrolment earlier WHERE earlier.child_id = e.child_id
                            AND earlier.level = e.level AND earlier.start_date < e.start_date)
        ),
        horizon AS ({horizons}),
        due AS (
          SELECT k.*, h.h, {add_days('k.start_date', 'h.h')} AS d
          FROM cohort k JOIN horizon h ON k.start_date <= h.due
        ),
        target AS (  -- T: start + H, or the last day of the academic year before it when no year holds it
          SELECT due.*, CASE WHEN EXISTS (SELECT 1 FROM academic_year y WHERE y.first_day <= due.d
                                          AND y.last_day >= due.d) THEN due.d
                        ELSE COALESCE((SELECT MAX(y.last_day) FROM academic_year y WHERE y.last_day < due.d), due.d)
                        END AS t
          FROM due
        ),
        f AS MATERIALIZED (
          SELECT target.*, CASE WHEN EXISTS (
                   SELECT 1 FROM enrolment r WHERE r.child_id = target.child_id AND r.start_date <= target.t
                   AND (r.end_date IS NULL OR r.end_date >= target.t)
                   AND (r.level = 'secondary' OR target.level = 'primary')) THEN 1 ELSE 0 END AS kept
          FROM target
        )
        SELECT f.level, f.h, f.sex, f.uasc, COUNT(*), SUM(f.kept),
               SUM(CASE WHEN f.kept = 1 THEN 0 WHEN {moved} THEN 1 ELSE 0 END)
        FROM f GROUP BY 1, 2, 3, 4""", frm=p.frm, to=p.to,
                **{f"due{h}": p.as_of - dt.timedelta(days=h) for h in HORIZONS})
    out = []
    for level, h, sex, u, n, kept, moved_on in rows:
        n, kept, moved_on = int(n), int(kept), int(moved_on)
        out.append((f"retention_{level}_{int(h)}d", (sex, u), kept, n - moved_on,
                    {"cohort": n, "retained": kept, "moved_onward": moved_on, "dropped_out": n - kept - moved_on}))
    return out


def transition(p) -> list[tuple]:
    rows = _run(f"""
        SELECT c.sex, {uasc('c', 'e.end_date')} AS uasc,
               SUM(CASE WHEN EXISTS (SELECT 1 FROM enrolment s WHERE s.child_id = e.child_id AND s.level = 'secondary'
                                     AND s.start_date > e.end_date AND s.start_date <= {add_days('e.end_date', '180')})
                   THEN 1 ELSE 0 END),
               COUNT(*)
        FROM enrolment e JOIN child c ON c.id = e.child_id
        WHERE e.level = 'primary' AND e.grade = 8 AND e.exit_reason = 'completed' AND e.end_date BETWEEN :frm AND :to
        GROUP BY 1, 2""", frm=p.frm, to=p.to)
    return [("transition_primary_secondary", (sex, u), num, den) for sex, u, num, den in rows]


# --- out of school ------------------------------------------------------------------------------

def out_of_school(p) -> list[tuple]:
    day = p.as_of
    rows = _run(f"""
        SELECT c.sex, {uasc('c', ':day')} AS uasc,
               SUM(CASE WHEN EXISTS (SELECT 1 FROM enrolment e WHERE e.child_id = c.id AND e.start_date <= :day
                                     AND (e.end_date IS NULL OR e.end_date >= :day)) THEN 0 ELSE 1 END),
               COUNT(*)
        FROM child c
        WHERE c.birth_date > :born_after AND c.birth_date <= :born_by  -- aged 7 to 17 on the day
          AND EXISTS (SELECT 1 FROM centre_stay s WHERE s.child_id = c.id AND s.start_date <= :settled
                      AND (s.end_date IS NULL OR s.end_date >= :day))
        GROUP BY 1, 2""", day=day, born_after=_years_before(day, 18), born_by=_years_before(day, 7),
                settled=day - dt.timedelta(days=30))
    return [("out_of_school", (sex, u), num, den) for sex, u, num, den in rows]


UNITS = {"enrolled": enrolled, "new_enrolments": new_enrolments, "exits": exits, "attendance": attendance,
         "retention": retention, "transition": transition, "out_of_school": out_of_school}


def all_rows(p) -> list[tuple]:
    return [row for fn in UNITS.values() for row in fn(p)]
