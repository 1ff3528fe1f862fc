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
        months AS (  -- the summary of every month the period touches, per enrolment (in key order)
          SELECT enrolment_id, SUM(recorded) AS recorded, SUM(present + late) AS attended,
                 SUM(absent_excused + absent_unexcused) AS absent
          FROM attendance_month WHERE month BETWEEN :m_frm AND :m_until GROUP BY enrolment_id
        ),
        raw AS MATERIALIZED (  -- the records of those months outside the period, by the date index alone
          SELECT enrolment_id, date, status FROM attendance_record
          WHERE date BETWEEN :m_frm AND :frm_before OR date BETWEEN :until_after AND :m_until_end
        ),
        outside AS (  -- less what of them the summary counted (inside the enrolment, not a day off)
          SELECT r.enrolment_id, -COUNT(*) AS recorded,
                 -SUM(CASE WHEN r.status IN {ATTENDED} THEN 1 ELSE 0 END) AS attended,
                 -SUM(CASE WHEN r.status IN {ABSENT} THEN 1 ELSE 0 END) AS absent
          FROM raw r JOIN enrolment e ON e.id = r.enrolment_id
          WHERE r.date >= e.start_date AND (e.end_date IS NULL OR r.date <= e.end_date)
            AND NOT EXISTS (SELECT 1 FROM non_school_day o
                            WHERE o.date = r.date AND (o.school_id IS NULL OR o.school_id = e.school_id))
          GROUP BY r.enrolment_id
        ),
        per_child AS (  -- school days (look-ups only for enrolments starting or ending inside) and records
          SELECT s.child_id,
                 SUM(CASE WHEN s.partial = 0
                     THEN COALESCE(b.ord_through, 0) - COALESCE(b.ord_before, 0) - COALESCE(oo.n, 0)
                 ELSE COALESCE((SELECT ordinal FROM calendar_day WHERE date <= s.hi ORDER BY date DESC LIMIT 1), 0)
                    - COALESCE((SELECT ordinal FROM calendar_day WHERE date < s.lo ORDER BY date DESC LIMIT 1), 0)
                    - (SELECT COUNT(*) FROM non_school_day o JOIN calendar_day d ON d.date = o.date
                       WHERE o.school_id = s.school_id AND o.date BETWEEN s.lo AND s.hi) END) AS days,
                 SUM(COALESCE(m.recorded, 0) + COALESCE(x.recorded, 0)) AS recorded,
                 SUM(COALESCE(m.attended, 0) + COALESCE(x.attended, 0)) AS attended,
                 SUM(COALESCE(m.absent, 0) + COALESCE(x.absent, 0)) AS absent
          FROM span s CROSS JOIN bounds b LEFT JOIN own_off oo ON oo.school_id = s.school_id
          LEFT JOIN months m ON m.enrolment_id = s.id LEFT JOIN outside x ON x.enrolment_id = s.id
          GROUP BY s.child_id
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

def _target(day: str) -> str:
    """T for a horizon's end ``day``: the day itself when an academic year holds it, else the last day of the year before."""
    return (f"CASE WHEN EXISTS (SELECT 1 FROM academic_year y WHERE y.first_day <= {day} AND y.last_day >= {day}) "
            f"THEN {day} ELSE COALESCE((SELECT MAX(y.last_day) FROM academic_year y WHERE y.last_day < {day}), {day}) END")


def retention(p) -> list[tuple]:
    """retention_<level>_<H>d for both levels and every horizon, in one query.

    Each cohort enrolment is joined once with the child's enrolments, and every horizon's facts
    are aggregates of that join: retained = an enrolment at the level or higher covers T; moved
    onward = the latest exit ``moved_onward`` before T (E) exists and no enrolment starts in
    (E, T], i.e. the latest start on or before T is not after E. (If any such exit has no
    enrolment starting after it up to T, the latest one has none either.)
    """
    targets = ",\n".join(f"{_target(add_days('e.start_date', str(h)))} AS t{h}" for h in HORIZONS)
    facts = []
    for h in HORIZONS:
        t = f"k.t{h}"
        facts += [f"MAX(CASE WHEN r.start_date <= {t} AND (r.end_date IS NULL OR r.end_date >= {t}) "
                  f"AND (r.level = 'secondary' OR k.level = 'primary') THEN 1 ELSE 0 END) AS kept{h}",
                  f"MAX(CASE WHEN r.exit_reason = 'moved_onward' AND r.end_date < {t} THEN r.end_date END) AS left{h}",
                  f"MAX(CASE WHEN r.start_date <= {t} THEN r.start_date END) AS back{h}"]
    sums = []
    for h in HORIZONS:
        due = f"f.start_date <= :due{h}"
        sums += [f"SUM(CASE WHEN {due} THEN 1 ELSE 0 END)", f"SUM(CASE WHEN {due} THEN f.kept{h} ELSE 0 END)",
                 f"SUM(CASE WHEN {due} AND f.kept{h} = 0 AND f.left{h} IS NOT NULL AND f.back{h} <= f.left{h} "
                 f"THEN 1 ELSE 0 END)"]
    nl = ",\n               "
    rows = _run(f"""
        WITH cohort AS MATERIALIZED (
          -- the child's first enrolment at its level, started in the period, at least one horizon ago
          SELECT e.id, e.child_id, e.level, e.start_date, c.sex, {uasc('c', 'e.start_date')} AS uasc,
                 {targets}
          FROM enrolment e JOIN child c ON c.id = e.child_id
          WHERE e.start_date BETWEEN :frm AND :to AND e.start_date <= :due{min(HORIZONS)}
            AND NOT EXISTS (SELECT 1 FROM enrolment earlier WHERE earlier.child_id = e.child_id
                            AND earlier.level = e.level AND earlier.start_date < e.start_date)
        ),
        f AS (
          SELECT k.id, k.level, k.sex, k.uasc, k.start_date,
                 {nl.join(facts)}
          FROM cohort k JOIN enrolment r ON r.child_id = k.child_id
          GROUP BY k.id, k.level, k.sex, k.uasc, k.start_date
        )
        SELECT f.level, f.sex, f.uasc,
               {nl.join(sums)}
        FROM f GROUP BY 1, 2, 3""", frm=p.frm, to=p.to,
                **{f"due{h}": p.as_of - dt.timedelta(days=h) for h in HORIZONS})
    out = []
    for level, sex, u, *numbers in rows:
        for i, h in enumerate(HORIZONS):
            n, kept, moved_on = (int(x or 0) for x in numbers[3 * i:3 * i + 3])
            if not n:
                continue
            out.append((f"retention_{level}_{h}d", (sex, u), kept, n - moved_on,
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
        WITH k AS MATERIALIZED (  -- aged 7 to 17 on the day (a birth_date range), settled in a centre
          SELECT c.id, c.sex,
                 CASE WHEN EXISTS (SELECT 1 FROM enrolment e WHERE e.child_id = c.id AND e.start_date <= :day
                                   AND (e.end_date IS NULL OR e.end_date >= :day)) THEN 1 ELSE 0 END AS enrolled
          FROM child c
          WHERE c.birth_date > :born_after AND c.birth_date <= :born_by
            AND EXISTS (SELECT 1 FROM centre_stay s WHERE s.child_id = c.id AND s.start_date <= :settled
                        AND (s.end_date IS NULL OR s.end_date >= :day))
        )
        SELECT k.sex, {uasc('k', ':day')} AS uasc, SUM(1 - k.enrolled), COUNT(*)
        FROM k
        -- unless still enrolled, not when the last known state is "left Serbia": an exit moved onward or
        -- returned to origin on or before the day, with no enrolment or centre stay starting after it
        WHERE k.enrolled = 1
           OR NOT EXISTS (SELECT 1 FROM enrolment g WHERE g.child_id = k.id AND g.end_date <= :day
                          AND g.exit_reason IN ('moved_onward', 'returned_to_origin')
                          AND NOT EXISTS (SELECT 1 FROM enrolment n WHERE n.child_id = k.id
                                          AND n.start_date > g.end_date AND n.start_date <= :day)
                          AND NOT EXISTS (SELECT 1 FROM centre_stay n WHERE n.child_id = k.id
                                          AND n.start_date > g.end_date AND n.start_date <= :day))
        GROUP BY 1, 2""", day=day, born_after=_years_before(day, 18), born_by=_years_before(day, 7),
                settled=day - dt.timedelta(days=30))
    return [("out_of_school", (sex, u), num, den) for sex, u, num, den in rows]


UNITS = {"enrolled": enrolled, "new_enrolments": new_enrolments, "exits": exits, "attendance": attendance,
         "retention": retention, "transition": transition, "out_of_school": out_of_school}


def all_rows(p) -> list[tuple]:
    return [row for fn in UNITS.values() for row in fn(p)]
