"""Indicator speed at scale.

Builds --children children (default 50,000) across --schools schools (default 300) with two
academic years of enrolments and attendance (about 15 million rows at the defaults) in a
temporary SQLite database (or --database-url), then prints:
  - the time for every indicator for one year broken down by sex and uasc (tracker's code);
  - the same enrolled, attendance rate, register completeness and chronic absence numbers
    from one hand-written SQL query each, and the ratio;
  - the time for `tracker flags refresh`.

    .venv/bin/python benchmarks/indicators.py [--children 50000] [--schools 300] [--database-url URL]
                                              [--keep FILE]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (AcademicYear, AttendanceRecord, Centre, CentreStay, Child, Enrolment, School,  # noqa: E402
                            UascPeriod)

YEARS = [("2024/25", dt.date(2024, 9, 2), dt.date(2025, 6, 20)), ("2025/26", dt.date(2025, 9, 1), dt.date(2026, 6, 19))]


def build(n_children: int, n_schools: int) -> None:
    rng = random.Random(7)
    t0 = time.perf_counter()
    years = [AcademicYear(label=label, first_day=a, last_day=b) for label, a, b in YEARS]
    db.session.add_all(years)
    centres = [Centre(code=f"CEN{i}", name=f"Centre {i}", kind="asylum", municipality=f"M{i}") for i in range(5)]
    db.session.add_all(centres)
    schools = [School(code=f"S{i:04d}", name=f"School {i}", municipality=f"M{i % 5}", offers_primary=True,
                      offers_secondary=i % 3 == 0) for i in range(n_schools)]
    db.session.add_all(schools)
    db.session.flush()
    children = []
    for i in range(n_children):
        children.append({"code": f"C-{i:06d}", "given_name": f"G{i}", "family_name": f"F{i}", "name_original": "",
                         "name_key": "", "sex": "female" if rng.random() < 0.34 else "male",
                         "birth_date": dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(3650)),
                         "birth_date_estimated": False, "country": rng.choice(["AFG", "SYR", "IRQ", "PAK", "IRN"]),
                         "first_language": "prs", "legal_basis": "public_task", "version": 1})
    db.session.execute(sa.insert(Child), children)
    ids = db.session.scalars(sa.select(Child.id).order_by(Child.id)).all()
    db.session.execute(sa.insert(UascPeriod), [
        {"child_id": cid, "status": rng.choice(["separated", "unaccompanied"]) if rng.random() < 0.15 else "accompanied",
         "start_date": dt.date(2024, 1, 1)} for cid in ids])
    db.session.execute(sa.insert(CentreStay), [
        {"child_id": cid, "centre_id": centres[cid % 5].id, "start_date": dt.date(2024, 6, 1)} for cid in ids])
    enrolments = []
    for cid in ids:
        school = schools[rng.randrange(n_schools)]
        level = "secondary" if school.offers_secondary and rng.random() < 0.4 else "primary"
        grade = rng.randint(1, 3 if level == "secondary" else 7)
        start = YEARS[0][1] + dt.timedelta(days=rng.choice([0, 0, 0, 20, 60, 120]))
        if rng.random() < 0.15:
            enrolments.append({"child_id": cid, "school_id": school.id, "year_id": years[0].id, "level": level,
                               "grade": grade, "start_date": start, "end_date": start + dt.timedelta(days=90),
                               "exit_reason": rng.choice(["moved_onward", "dropped_out"]), "exit_note": ""})
            continue
        enrolments.append({"child_id": cid, "school_id": school.id, "year_id": years[0].id, "level": level,
                           "grade": grade, "start_date": start, "end_date": YEARS[0][2], "exit_reason": "completed",
                           "exit_note": ""})
        enrolments.append({"child_id": cid, "school_id": school.id, "year_id": years[1].id, "level": level,
                           "grade": grade + 1, "start_date": YEARS[1][1], "exit_note": ""})
    db.session.execute(sa.insert(Enrolment), enrolments)
    db.session.commit()
    days = 0
    for _label, first, last in YEARS:
        day = first
        while day <= last:
            if day.weekday() < 5:
                db.session.execute(sa.text(
                    "INSERT INTO attendance_record (enrolment_id, date, status, reason, note, recorded_at) "
                    "SELECT id, :day, CASE WHEN (id * 7 + :n) % 11 = 0 THEN 'absent_unexcused' "
                    "WHEN (id + :n) % 29 = 0 THEN 'late' ELSE 'present' END, '', '', :day FROM enrolment "
                    "WHERE start_date <= :day AND (end_date IS NULL OR end_date >= :day) AND (id + :n) % 40 <> 0"),
                    {"day": day, "n": days})
                days += 1
            day += dt.timedelta(days=1)
    print(f"  attendance inserted in {time.perf_counter() - t0:.0f} s")
    from tracker.attendance import summary

    n_summary = summary.rebuild()
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord))
    print(f"built {n_children:,} children, {n_schools} schools, {len(enrolments):,} enrolments, "
          f"{rows:,} attendance rows ({n_summary:,} summary rows) in {time.perf_counter() - t0:.0f} s")


# One hand-written query per indicator, as someone who knows the schema would write it for this
# data (whole months from the summary, no school's own days off): what tracker's code is compared to.
UASC = """COALESCE((SELECT u.status FROM uasc_period u WHERE u.child_id = c.id AND u.start_date <= :as_of
           AND (u.end_date IS NULL OR u.end_date >= :as_of) ORDER BY u.start_date DESC LIMIT 1), 'accompanied')"""
PER_ENROLMENT = """(SELECT enrolment_id, SUM(recorded) AS recorded, SUM(present + late) AS attended,
           SUM(absent_excused + absent_unexcused) AS absent
           FROM attendance_month WHERE month BETWEEN :frm AND :last_month GROUP BY enrolment_id)"""
HAND = {
    "enrolled": f"""
        SELECT c.sex, {UASC}, COUNT(DISTINCT e.child_id)
        FROM enrolment e JOIN child c ON c.id = e.child_id
        WHERE e.start_date <= :as_of AND (e.end_date IS NULL OR e.end_date >= :as_of) GROUP BY 1, 2""",
    "attendance_rate": f"""
        SELECT c.sex, {UASC}, SUM(a.attended), SUM(a.recorded)
        FROM {PER_ENROLMENT} a JOIN enrolment e ON e.id = a.enrolment_id JOIN child c ON c.id = e.child_id
        GROUP BY 1, 2""",
    "register_completeness": f"""
        SELECT c.sex, {UASC}, SUM(COALESCE(a.recorded, 0)),
               SUM((SELECT ordinal FROM calendar_day WHERE date <= MIN(COALESCE(e.end_date, :to), :to)
                    ORDER BY date DESC LIMIT 1)
                   - COALESCE((SELECT ordinal FROM calendar_day WHERE date < MAX(e.start_date, :frm)
                               ORDER BY date DESC LIMIT 1), 0))
        FROM enrolment e JOIN child c ON c.id = e.child_id LEFT JOIN {PER_ENROLMENT} a ON a.enrolment_id = e.id
        WHERE e.start_date <= :to AND (e.end_date IS NULL OR e.end_date >= :frm) GROUP BY 1, 2""",
    "chronic_absence_rate": f"""
        SELECT sex, uasc, SUM(CASE WHEN recorded >= 10 AND absent * 10 >= recorded THEN 1 ELSE 0 END),
               SUM(CASE WHEN recorded >= 10 THEN 1 ELSE 0 END)
        FROM (SELECT e.child_id, c.sex AS sex, {UASC} AS uasc, SUM(a.recorded) AS recorded, SUM(a.absent) AS absent
              FROM {PER_ENROLMENT} a JOIN enrolment e ON e.id = a.enrolment_id JOIN child c ON c.id = e.child_id
              GROUP BY 1, 2, 3) t GROUP BY 1, 2""",
}


def best_of(n: int, fn) -> float:
    """The fastest of n runs, in seconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--database-url")
    ap.add_argument("--keep", metavar="FILE",
                    help="SQLite file to build into and keep; when it exists already, it is reused (migrated, not rebuilt)")
    args = ap.parse_args()
    reuse = bool(args.keep and os.path.exists(args.keep))
    if args.keep:
        url = f"sqlite:///{os.path.abspath(args.keep)}"
    else:
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='tracker-bench-')}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if reuse:
            print(f"reusing {args.keep}")
        else:
            build(args.children, args.schools)
        from tracker.indicators import Params, compute
        import importlib

        c = importlib.import_module("tracker.indicators.compute")  # the module, not the function

        frm, to = YEARS[1][1], YEARS[1][2]
        p = Params(frm=frm, to=to, as_of=to, by=["sex", "uasc"])
        compute(p)  # warm the calendar table and the page cache
        rows = compute(p)
        total = best_of(3, lambda: compute(p))
        print(f"all indicators, {frm}..{to}, by sex and uasc: {total:.2f} s (best of 3; {len(rows)} rows; the pairs below best of 7)")
        args_ = {"as_of": to, "to": to, "frm": frm, "last_month": to.replace(day=1)}

        def hand(*names):
            return lambda: [db.session.execute(sa.text(HAND[n]), args_).all() for n in names]

        # tracker computes attendance rate, register completeness and chronic absence in one query.
        pairs = [("enrolled", lambda: c.enrolled(p), hand("enrolled")),
                 ("attendance (3 indicators)", lambda: c.attendance(p),
                  hand("attendance_rate", "register_completeness", "chronic_absence_rate"))]
        for name, mine_fn, hand_fn in pairs:
            mine, theirs = best_of(7, mine_fn), best_of(7, hand_fn)
            print(f"  {name:<26} tracker {mine:.3f} s   hand-written SQL {theirs:.3f} s   ratio {mine / theirs:.2f}")
        from tracker.flags.operations import refresh

        t = time.perf_counter()
        marks = [t]

        def lap(slug):
            now = time.perf_counter()
            print(f"  rule {slug:<22} {now - marks[-1]:.2f} s")
            marks.append(now)

        counts = refresh(to, progress=lap)
        print(f"flags refresh as of {to}: {time.perf_counter() - t:.1f} s ({counts})")


if __name__ == "__main__":
    main()
