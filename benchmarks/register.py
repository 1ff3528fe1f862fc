"""Register speed at scale: render and save one register of 35 children.

Builds a temporary SQLite database (or uses --database-url) with --children children (default
50,000) in classes of 35, and a full academic year of attendance for all of them, then times
rendering (GET) and saving (POST, every child's status changed) one register through the app.

    .venv/bin/python benchmarks/register.py [--children 50000] [--repeat 30] [--database-url URL]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import AcademicYear, AttendanceRecord, Child, Enrolment, School, SchoolClass, User  # noqa: E402

FIRST, LAST = dt.date(2025, 9, 1), dt.date(2026, 6, 19)
CLASS_SIZE = 35
PASSWORD = "benchmark-passphrase"


def build(n_children: int) -> None:
    t0 = time.perf_counter()
    year = AcademicYear(label="2025/26", first_day=FIRST, last_day=LAST)
    db.session.add(year)
    n_classes = -(-n_children // CLASS_SIZE)
    n_schools = max(1, n_classes // 14)
    schools = [School(code=f"B{i:05d}", name=f"School {i}", municipality=f"M{i % 40}", offers_primary=True)
               for i in range(n_schools)]
    db.session.add_all(schools)
    db.session.flush()
    classes = [SchoolClass(school_id=schools[i % n_schools].id, year=year, level="primary", grade=1 + i % 8,
                           name=f"{1 + i % 8}-{i}") for i in range(n_classes)]
    db.session.add_all(classes)
    admin = User(email="bench@example.org", name="bench", role="admin",
                 password_hash=generate_password_hash(PASSWORD, method="scrypt"))
    db.session.add(admin)
    db.session.flush()
    db.session.execute(sa.insert(Child), [
        {"code": f"C-{i:06d}", "given_name": f"Given{i}", "family_name": f"Family{i}", "name_original": "",
         "name_key": f"given{i} family{i}", "sex": "female" if i % 3 == 0 else "male",
         "birth_date": dt.date(2012, 1, 1) + dt.timedelta(days=i % 2000), "birth_date_estimated": False,
         "country": "AFG", "first_language": "prs", "legal_basis": "public_task", "version": 1}
        for i in range(n_children)])
    child_ids = db.session.scalars(sa.select(Child.id).order_by(Child.id)).all()
    db.session.execute(sa.insert(Enrolment), [
        {"child_id": cid, "school_id": classes[i // CLASS_SIZE].school_id, "year_id": year.id, "level": "primary",
         "grade": classes[i // CLASS_SIZE].grade, "class_id": classes[i // CLASS_SIZE].id, "start_date": FIRST,
         "exit_note": ""} for i, cid in enumerate(child_ids)])
    db.session.commit()
    day, days = FIRST, 0
    now = dt.datetime(2026, 6, 20)
    while day <= LAST:
        if day.weekday() < 5:
            db.session.execute(sa.text(
                "INSERT INTO attendance_record (enrolment_id, date, status, reason, note, recorded_at) "
                "SELECT id, :day, CASE WHEN (id * 7 + :n) % 13 = 0 THEN 'absent_unexcused' ELSE 'present' END, "
                "'', '', :now FROM enrolment"), {"day": day, "n": days, "now": now})
            days += 1
        day += dt.timedelta(days=1)
    from tracker.attendance import summary

    summary.rebuild()
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord))
    print(f"built {n_children:,} children, {n_classes:,} classes, {days} school days, "
          f"{rows:,} attendance rows in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tracker-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        build(args.children)
        cls = db.session.scalar(sa.select(SchoolClass).order_by(SchoolClass.id).offset(len(
            db.session.scalars(sa.select(SchoolClass.id)).all()) // 2).limit(1))
        enrolment_ids = db.session.scalars(sa.select(Enrolment.id).where(Enrolment.class_id == cls.id)).all()
        day = dt.date(2026, 3, 2)
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    # A different school day each time: render the register as saved, then save it with every child changed
    # (a correction of each record, so the history is written too).
    days = [d for d in (day + dt.timedelta(days=i) for i in range(args.repeat * 2)) if d.weekday() < 5]
    renders, saves = [], []
    for i, d in enumerate(days[:args.repeat]):
        path = f"/registers/{cls.id}/{d.isoformat()}"
        t = time.perf_counter()
        r = client.get(path)
        renders.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.text.count('<fieldset class="pupil') == len(enrolment_ids)
        status = ["late", "absent_excused", "absent_unexcused"][i % 3]
        form = {f"status-{eid}": status for eid in enrolment_ids}
        t = time.perf_counter()
        r = client.post(path, data=form)
        saves.append(time.perf_counter() - t)
        assert r.status_code == 302, r.text[:500]
    ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, p90 {sorted(xs)[int(len(xs) * .9) - 1] * 1000:.1f} ms"  # noqa: E731
    print(f"register of {len(enrolment_ids)} children on {url.split(':')[0]}:")
    print(f"  render (GET):  {ms(renders)}")
    print(f"  save   (POST): {ms(saves)}  (every child's status changed each time, corrections kept)")


if __name__ == "__main__":
    main()
