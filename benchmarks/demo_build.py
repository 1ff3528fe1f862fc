"""Demo build speed: `tracker demo` with the default 1,500 children into a fresh database.

Migrates a temporary SQLite database (or an empty one at --database-url), runs the demo
builder as the command does, and prints the wall time, the row count of each table and the
attendance rows written per second.

    .venv/bin/python benchmarks/demo_build.py [--children 1500] [--seed 2026] [--database-url URL]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from tracker import create_app, unit_of_work  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (AcademicYear, AttendanceMonth, AttendanceRecord, Centre, CentreStay, Child,  # noqa: E402
                            Enrolment, Guardian, NonSchoolDay, School, SchoolClass, UascPeriod, User)

TABLES = [AcademicYear, NonSchoolDay, Centre, School, SchoolClass, User, Child, CentreStay, UascPeriod, Guardian,
          Enrolment, AttendanceRecord, AttendanceMonth]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tracker-bench-")
    url = args.database_url or f"sqlite:///{tmp}/demo.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SQLALCHEMY_ENGINE_OPTIONS": {}})
    app.instance_path = tmp
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from tracker.demo.builder import build

        lines: list[str] = []
        t = time.perf_counter()
        build(children=args.children, seed=args.seed, echo=lines.append)
        unit_of_work.commit()  # as the `tracker demo` command does when it returns
        wall = time.perf_counter() - t
        counts = {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in TABLES}
        db.session.remove()
        db.engine.dispose()
    size = os.path.getsize(f"{tmp}/demo.sqlite3") if not args.database_url else None
    print(f"demo build: {args.children:,} children, seed {args.seed}, on {url.split(':')[0]}")
    print(f"  wall time {wall:.1f} s (planning, inserts, summaries, commit; migrations excluded)")
    for table, n in counts.items():
        print(f"  {table:<20} {n:>9,}")
    rate = counts["attendance_record"] / wall if wall else 0
    print(f"  {rate:,.0f} attendance rows per second of total build time")
    if size is not None:
        print(f"  database file {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
