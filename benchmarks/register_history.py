"""Register history: does a register corrected 50 times per child render as fast as a fresh one?

Builds a temporary SQLite database (or uses --database-url) with one class of --children children
(default 35). One school day's register is saved once (fresh: no correction); another's is saved
and then corrected --corrections times (default 50) for every child, through the same write path as
the register page. It then renders both pages through the app, alternating fresh and corrected
(so a slow moment of the machine hits both alike), and prints the median and the range of each.
A register corrected once per child is rendered too: it shows the same summary line per child, so
comparing it with the one corrected 50 times isolates the length of the history. The page reads only
the latest correction of each child; "Show all" (``?history=<record>``) reads one child's whole
history, timed too.

    .venv/bin/python benchmarks/register_history.py [--children 35] [--corrections 50] [--repeat 30]
        [--database-url URL]
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
from tracker.models import (AcademicYear, AttendanceChange, AttendanceRecord, Child, Enrolment, School,  # noqa: E402
                            SchoolClass, User)

FIRST, LAST = dt.date(2025, 9, 1), dt.date(2026, 6, 19)
FRESH, ONCE, CORRECTED = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)  # Monday to Wednesday
PASSWORD = "benchmark-passphrase"
STATUSES = ("late", "absent_excused", "absent_unexcused", "present")


def build(n_children: int, corrections: int) -> tuple[int, int]:
    """The class, its children, the fresh register and the corrected one. Returns (class id, one record id)."""
    from tracker.attendance.operations import save_register

    t0 = time.perf_counter()
    year = AcademicYear(label="2025/26", first_day=FIRST, last_day=LAST)
    school = School(code="B00001", name="School 1", municipality="M1", offers_primary=True)
    cls = SchoolClass(school=school, year=year, level="primary", grade=3, name="3-1")
    teacher = User(email="bench@example.org", name="bench", role="admin",
                   password_hash=generate_password_hash(PASSWORD, method="scrypt"))
    db.session.add_all([year, school, cls, teacher])
    db.session.flush()
    for i in range(n_children):
        child = Child(code=f"C-{i:06d}", given_name=f"Given{i}", family_name=f"Family{i}", name_key=f"given{i}",
                      sex="female" if i % 2 else "male", birth_date=dt.date(2016, 1, 1), country="AFG",
                      first_language="prs", legal_basis="public_task")
        db.session.add(child)
        db.session.add(Enrolment(child=child, school=school, year=year, level="primary", grade=3, school_class=cls,
                                 start_date=FIRST))
    db.session.flush()
    ids = db.session.scalars(sa.select(Enrolment.id).where(Enrolment.class_id == cls.id)).all()
    save_register(cls, FRESH, {}, user=teacher)
    save_register(cls, ONCE, {}, user=teacher)
    save_register(cls, ONCE, {eid: {"status": "late"} for eid in ids}, user=teacher)
    save_register(cls, CORRECTED, {}, user=teacher)
    for n in range(corrections):
        save_register(cls, CORRECTED, {eid: {"status": STATUSES[n % len(STATUSES)]} for eid in ids}, user=teacher)
    db.session.commit()
    changes = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceChange))
    record = db.session.scalar(sa.select(AttendanceRecord.id).where(AttendanceRecord.date == CORRECTED).limit(1))
    print(f"built a class of {n_children} children: {FRESH} saved once, {ONCE} corrected once, {CORRECTED} "
          f"corrected {corrections} times per child ({changes:,} corrections) in {time.perf_counter() - t0:.1f} s")
    return cls.id, record


def summary(xs: list[float]) -> str:
    return (f"median {statistics.median(xs) * 1000:6.1f} ms, range {min(xs) * 1000:.1f}–{max(xs) * 1000:.1f} ms "
            f"({len(xs)} renders)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=35)
    ap.add_argument("--corrections", type=int, default=50)
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
        class_id, record = build(args.children, args.corrections)
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    pages = {"fresh": f"/registers/{class_id}/{FRESH.isoformat()}",
             "corrected once": f"/registers/{class_id}/{ONCE.isoformat()}",
             "corrected": f"/registers/{class_id}/{CORRECTED.isoformat()}",
             "show all (one child)": f"/registers/{class_id}/{CORRECTED.isoformat()}?history={record}"}
    times: dict[str, list[float]] = {name: [] for name in pages}
    for path in pages.values():  # warm up: templates compiled, caches filled
        assert client.get(path).status_code == 200
    for _round in range(args.repeat):
        for name, path in pages.items():  # alternating, so the machine's ups and downs fall on each alike
            t = time.perf_counter()
            r = client.get(path)
            times[name].append(time.perf_counter() - t)
            assert r.status_code == 200 and r.text.count('<fieldset class="pupil') == args.children
    print(f"register of {args.children} children on {url.split(':')[0]}, rendered through the app (GET):")
    for name, xs in times.items():
        print(f"  {name:<22} {summary(xs)}")
    median = {name: statistics.median(xs) for name, xs in times.items()}
    print(f"  corrected {args.corrections}x / fresh: {median['corrected'] / median['fresh']:.2f}; "
          f"corrected {args.corrections}x / corrected once: {median['corrected'] / median['corrected once']:.2f}")
    print("  (a corrected register shows one summary line per child; the page reads the latest correction of each "
          "child only, so the length of the history does not count)")


if __name__ == "__main__":
    main()
