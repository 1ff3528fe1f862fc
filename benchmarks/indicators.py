"""Indicator speed at scale.

Builds --children children (default 50,000) across --schools schools (default 300) with two
academic years of enrolments and attendance (about 15 million rows at the defaults) in a
temporary SQLite database (or --database-url), then prints:
  - the time for every indicator for one year broken down by sex and uasc (tracker's code);
  - the same attendance rate, chronic absence and enrolled numbers from one hand-written SQL
    query each, and the ratio;
  - the time for `tracker flags refresh`.

    .venv/bin/python benchmarks/indicators.py [--children 50000] [--schools 300] [--database-url URL]
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


HAND = {
    "enrolled": """
        SELECT c.sex, COALESCE((SELECT u.status FROM uasc_period u WHERE u.child_id = c.id AND u.start_date <= :as_of
                 AND (u.end_date IS NULL OR u.end_date >= :as_of) ORDER BY u.start_date DESC LIMIT 1), 'accompanied'),
               COUNT(DISTINCT e.child_id)
        FROM enrolment e JOIN child c ON c.id = e.child_id
        WHERE e.start_date <= :as_of AND (e.end_date IS NULL OR e.end_date >= :as_of) GROUP BY 1, 2""",
    "attendance_rate": """
        SELECT c.sex, COALESCE((SELECT u.status FROM uasc_period u WHERE u.child_id = c.id AND u.start_date <= :as_of
                 AND (u.end_date IS NULL OR u.end_date >= :as_of) ORDER BY u.start_date DESC LIMIT 1), 'accompanied'),
               SUM(m.present + m.late), SUM(m.recorded)
        FROM attendance_month m JOIN enrolment e ON e.id = m.enrolment_id JOIN child c ON c.id = e.child_id
        WHERE m.month BETWEEN :frm AND :last_month GROUP BY 1, 2""",
    "chronic_absence_rate": """
        SELECT sex, uasc, SUM(CASE WHEN recorded >= 10 AND absent * 10 >= recorded THEN 1 ELSE 0 END),
               SUM(CASE WHEN recorded >= 10 THEN 1 ELSE 0 END)
        FROM (SELECT e.child_id, c.sex AS sex, COALESCE((SELECT u.status FROM uasc_period u WHERE u.child_id = c.id
                  AND u.start_date <= :as_of AND (u.end_date IS NULL OR u.end_date >= :as_of)
                  ORDER BY u.start_date DESC LIMIT 1), 'accompanied') AS uasc,
                  SUM(m.recorded) AS recorded, SUM(m.absent_excused + m.absent_unexcused) AS absent
              FROM attendance_month m JOIN enrolment e ON e.id = m.enrolment_id JOIN child c ON c.id = e.child_id
              WHERE m.month BETWEEN :frm AND :last_month GROUP BY 1, 2, 3) t GROUP BY 1, 2""",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tracker-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        build(args.children, args.schools)
        from tracker.indicators import Params, compute
        import importlib

        c = importlib.import_module("tracker.indicators.compute")  # the module, not the function

        frm, to = YEARS[1][1], YEARS[1][2]
        p = Params(frm=frm, to=to, as_of=to, by=["sex", "uasc"])
        compute(p)  # warm the calendar table and caches
        t = time.perf_counter()
        rows = compute(p)
        total = time.perf_counter() - t
        print(f"all indicators, {frm}..{to}, by sex and uasc: {total:.2f} s ({len(rows)} rows)")
        ours = {"enrolled": c.enrolled, "attendance_rate": c.attendance_rate,
                "chronic_absence_rate": c.chronic_absence_rate}
        for name, fn in ours.items():
            t = time.perf_counter()
            fn(p)
            mine = time.perf_counter() - t
            t = time.perf_counter()
            db.session.execute(sa.text(HAND[name]), {"as_of": to, "frm": frm, "last_month": to.replace(day=1)}).all()
            hand = time.perf_counter() - t
            print(f"  {name:<22} tracker {mine:.3f} s   hand-written SQL {hand:.3f} s   ratio {mine / hand:.2f}")
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
