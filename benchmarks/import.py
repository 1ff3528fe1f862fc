"""Attendance import speed: 100,000 rows through tracker's import, beside the best plain insert.

Builds a database with enough children and open enrolments for --rows attendance rows (one
row per child and school day, as a register export lists them: day by day) and writes the CSV.
Then, --rounds times and alternating (A B A B ...), each on a fresh copy of that database:

  A  ``run_import("attendance", ...)`` and the unit of work's commit, as ``tracker import`` does:
     read, check every row, write through the attendance operations (records, monthly summary,
     audit, ``attendance_saved`` queued), one commit;
  B  the same resolved rows written by hand: a DB-API ``executemany`` on SQLite, ``COPY`` on
     PostgreSQL (the fastest plain insert on each), one commit.

Both copies must then hold the same records, or the script stops. It prints the median and the
range (min-max) of each and the ratio of the medians (the aim: within 3x), the load average
before and after, and the engine. A second import of the same file (every row unchanged) is
timed once. --postgres starts a throwaway PostgreSQL server (benchmarks/pgserver.py).

    .venv/bin/python benchmarks/import.py [--rows 100000] [--days 100] [--rounds 3] [--postgres]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from tracker import create_app, unit_of_work  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import AcademicYear, Child, Enrolment, School  # noqa: E402

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


def records(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(tuple(str(v) for v in r) for r in conn.execute(sa.text(
                "SELECT enrolment_id, date, status, reason FROM attendance_record")))
    finally:
        engine.dispose()


class Databases:
    """A built database and fresh copies of it: files on SQLite, template databases on PostgreSQL."""

    def __init__(self, tmp: str, pg=None):
        self.tmp, self.pg, self.n = tmp, pg, 0
        self.base = pg.create_database("base") if pg else f"sqlite:///{tmp}/base.sqlite3"

    def copy(self) -> str:
        self.n += 1
        if self.pg is None:
            src = self.base.removeprefix("sqlite:///")
            dst = os.path.join(self.tmp, f"copy{self.n}.sqlite3")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(src + suffix):
                    shutil.copy(src + suffix, dst + suffix)
            return f"sqlite:///{dst}"
        self.pg.execute(f"CREATE DATABASE copy{self.n} TEMPLATE base")
        return self.pg.url(f"copy{self.n}")


def run_tracker(url: str, data: bytes, expected: int, outcome: str = "created") -> tuple[float, PhaseTimer]:
    """``tracker import attendance`` on the database at ``url``: the import and its one commit, timed."""
    from tracker.imports.importer import run_import

    app = app_for(url)
    with app.app_context():
        phases = PhaseTimer()
        t = time.perf_counter()
        result = run_import("attendance", data, today=dt.date(2026, 6, 20), progressbar=phases)
        unit_of_work.commit()
        elapsed = time.perf_counter() - t
        assert result.saved and result.counts[outcome] == expected, (result.errors[:5], result.counts)
        db.session.remove()
        db.engine.dispose()
    return elapsed, phases


def run_plain(url: str, resolved: list[tuple]) -> float:
    app = app_for(url)
    with app.app_context():
        conn = db.engine.raw_connection()  # the app's pragmas on SQLite: WAL, synchronous=NORMAL, foreign keys
        try:
            t = time.perf_counter()
            cur = conn.cursor()
            columns = "enrolment_id, date, status, reason, note, recorded_by_id, recorded_at"
            if db.engine.dialect.name == "postgresql":
                with cur.copy(f"COPY attendance_record ({columns}) FROM STDIN") as copy:
                    for row in resolved:
                        copy.write_row(row)
            else:
                cur.executemany(f"INSERT INTO attendance_record ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", resolved)
            conn.commit()
            elapsed = time.perf_counter() - t
        finally:
            conn.close()
        db.engine.dispose()
    return elapsed


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} s  (range {min(values):.2f}-{max(values):.2f} s, n={len(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=100, help="school days per child")
    ap.add_argument("--rounds", type=int, default=3, help="A B rounds, alternating")
    ap.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL server")
    args = ap.parse_args()
    n_children = -(-args.rows // args.days)
    days = school_days(args.days)
    tmp = tempfile.mkdtemp(prefix="tracker-import-bench-")
    pg = None
    if args.postgres:
        from benchmarks.pgserver import PostgresServer

        pg = PostgresServer().start()
    load_before = os.getloadavg()
    try:
        dbs = Databases(tmp, pg)
        app = app_for(dbs.base)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            build(n_children)
            children = db.session.execute(sa.select(Child.code, Child.id, School.code, Enrolment.id)
                                          .join(Enrolment, Enrolment.child_id == Child.id)
                                          .join(School, School.id == Enrolment.school_id)
                                          .order_by(Child.id)).all()
            engine = f"{db.engine.dialect.name} {'.'.join(map(str, db.engine.dialect.server_version_info or ()))}"
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
                resolved.append((eid, day, status, reason, "", None, dt.datetime(2026, 6, 20, 12)))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        print(f"{len(resolved):,} attendance rows for {len(children):,} children over {len(days)} school days "
              f"({len(data) / 1024 / 1024:.1f} MB CSV), {engine}, {os.cpu_count()} CPUs, "
              f"load average before {load_before[0]:.2f}")
        tracker_s, plain_s, last = [], [], None
        for i in range(args.rounds):
            a_url, b_url = dbs.copy(), dbs.copy()
            t, phases = run_tracker(a_url, data, len(resolved))
            tracker_s.append(t)
            plain_s.append(run_plain(b_url, resolved))
            print(f"  round {i + 1}: tracker {t:.2f} s ({phases}), plain {plain_s[-1]:.2f} s")
            if i == 0:
                same = records(a_url) == records(b_url)
                if not same:
                    sys.exit("the import and the plain insert stored different records")
            last = a_url
        again, again_phases = run_tracker(last, data, len(resolved), "unchanged")
        n = len(resolved)
        plain_name = "plain COPY" if pg else "plain executemany"
        print(f"  tracker import attendance:  {spread(tracker_s)}  {n / statistics.median(tracker_s):>9,.0f} rows/s")
        print(f"  {plain_name + ':':<27} {spread(plain_s)}  {n / statistics.median(plain_s):>9,.0f} rows/s")
        print(f"  ratio of the medians, import / {plain_name.split()[1]}: "
              f"{statistics.median(tracker_s) / statistics.median(plain_s):.2f}x (both stored the same records)")
        print(f"  the same file again (every row unchanged): {again:.2f} s  {n / again:,.0f} rows/s  ({again_phases})")
        print(f"  load average after {os.getloadavg()[0]:.2f}")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
