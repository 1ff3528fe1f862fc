"""Attendance import speed: 100,000 rows through tracker's import, beside a plain executemany.

Builds a temporary SQLite database with enough children and open enrolments for --rows
attendance rows (one row per child and school day, as a register export lists them: day by
day), writes the CSV, and copies the database. Then it times ``run_import("attendance", ...)``
(read, check every row, upsert with history, monthly summary, one commit) on one copy, and a
plain DB-API ``executemany`` of the same resolved rows into attendance_record on the other.
The ratio is the figure that matters (the aim: within 3x).

    .venv/bin/python benchmarks/import.py [--rows 100000] [--days 100]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import AcademicYear, AttendanceRecord, Child, Enrolment, School  # noqa: E402

FIRST, LAST = dt.date(2025, 9, 1), dt.date(2026, 6, 19)
STATUSES = ["present"] * 12 + ["late", "absent_excused", "absent_unexcused"]


def app_for(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SQLALCHEMY_ENGINE_OPTIONS": {}})


def build(n_children: int) -> None:
    year = AcademicYear(label="2025/26", first_day=FIRST, last_day=LAST)
    db.session.add(year)
    schools = [School(code=f"B{i:04d}", name=f"School {i}", municipality=f"M{i % 20}", offers_primary=True)
               for i in range(max(1, n_children // 300))]
    db.session.add_all(schools)
    db.session.flush()
    db.session.execute(sa.insert(Child), [
        {"code": f"C-{i:06d}", "given_name": f"Given{i}", "family_name": f"Family{i}", "name_original": "",
         "name_key": f"given{i} family{i}", "sex": "female" if i % 2 else "male",
         "birth_date": dt.date(2012, 1, 1) + dt.timedelta(days=i % 1500), "birth_date_estimated": False,
         "country": "AFG", "first_language": "prs", "legal_basis": "public_task", "version": 1}
        for i in range(n_children)])
    ids = db.session.scalars(sa.select(Child.id).order_by(Child.id)).all()
    db.session.execute(sa.insert(Enrolment), [
        {"child_id": cid, "school_id": schools[i % len(schools)].id, "year_id": year.id, "level": "primary",
         "grade": 1 + i % 8, "start_date": FIRST, "exit_note": ""} for i, cid in enumerate(ids)])
    db.session.commit()


def school_days(n: int) -> list[dt.date]:
    days, day = [], FIRST
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    assert days[-1] <= LAST
    return days


class PhaseTimer:
    """A progress bar factory for run_import that notes how long each phase (checking, saving) took."""

    def __init__(self):
        self.phases: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def __call__(self, label: str, length: int):
        class _Bar:
            def update(self, n: int) -> None:
                pass

        t = time.perf_counter()
        yield _Bar()
        self.phases.append((label, time.perf_counter() - t))

    def __str__(self) -> str:
        return ", ".join(f"{label.lower()} {seconds:.2f} s" for label, seconds in self.phases)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=100, help="school days per child")
    args = ap.parse_args()
    n_children = -(-args.rows // args.days)
    days = school_days(args.days)
    tmp = tempfile.mkdtemp(prefix="tracker-import-bench-")
    base = os.path.join(tmp, "base.sqlite3")
    try:
        app = app_for(f"sqlite:///{base}")
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            build(n_children)
            children = db.session.execute(sa.select(Child.code, Child.id, School.code, Enrolment.id)
                                          .join(Enrolment, Enrolment.child_id == Child.id)
                                          .join(School, School.id == Enrolment.school_id)
                                          .order_by(Child.id)).all()
            db.session.remove()
            db.engine.dispose()
        lines, resolved = ["child_code,school_code,date,status,reason"], []
        for d_i, day in enumerate(days):
            for c_i, (code, _cid, school, eid) in enumerate(children):
                if len(resolved) == args.rows:
                    break
                status = STATUSES[(c_i * 7 + d_i) % len(STATUSES)]
                reason = "illness" if status == "absent_excused" else ""
                lines.append(f"{code},{school},{day.isoformat()},{status},{reason}")
                resolved.append((eid, day.isoformat(), status, reason, "", None, "2026-06-20 12:00:00"))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        for name in ("import", "plain"):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(base + suffix):
                    shutil.copy(base + suffix, os.path.join(tmp, f"{name}.sqlite3{suffix}"))
        print(f"{len(resolved):,} attendance rows for {len(children):,} children over {len(days)} school days "
              f"({len(data) / 1024 / 1024:.1f} MB CSV), SQLite")

        from tracker.imports.importer import run_import

        app = app_for(f"sqlite:///{tmp}/import.sqlite3")
        with app.app_context():
            first_run = PhaseTimer()
            t = time.perf_counter()
            result = run_import("attendance", data, today=dt.date(2026, 6, 20), progressbar=first_run)
            t_import = time.perf_counter() - t
            assert result.saved and result.counts["created"] == len(resolved), (result.errors[:5], result.counts)
            stored = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord))
            assert stored == len(resolved), stored
            second_run = PhaseTimer()
            t = time.perf_counter()
            again = run_import("attendance", data, today=dt.date(2026, 6, 20), progressbar=second_run)
            t_again = time.perf_counter() - t
            assert again.saved and again.counts["unchanged"] == len(resolved)
            db.session.remove()
            db.engine.dispose()

        app = app_for(f"sqlite:///{tmp}/plain.sqlite3")
        with app.app_context():
            conn = db.engine.raw_connection()  # the app's pragmas: WAL, synchronous=NORMAL, foreign keys
            try:
                t = time.perf_counter()
                cur = conn.cursor()
                cur.executemany("INSERT INTO attendance_record (enrolment_id, date, status, reason, note, "
                                "recorded_by_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)", resolved)
                conn.commit()
                t_plain = time.perf_counter() - t
            finally:
                conn.close()
            db.engine.dispose()

        n = len(resolved)
        print(f"  tracker import attendance:  {t_import:6.2f} s  {n / t_import:>9,.0f} rows/s  ({first_run})")
        print(f"  plain executemany:          {t_plain:6.2f} s  {n / t_plain:>9,.0f} rows/s")
        print(f"  ratio import / executemany: {t_import / t_plain:6.2f}x")
        print(f"  the same file again (every row unchanged): {t_again:.2f} s  {n / t_again:,.0f} rows/s  ({second_run})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
