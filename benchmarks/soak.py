"""Soak: `tracker serve --workers 4` under 8 mixed clients for a while, then checks that nothing was lost.

Builds the demo (`tracker db upgrade`, `tracker demo --children N`, `tracker flags refresh`) on a fresh
SQLite file (WAL) or, with --postgres, on a throwaway PostgreSQL server (benchmarks/pgserver.py), starts
`tracker serve --workers 4` with the rate limits raised, and for --seconds runs 8 clients in threads, each
with its own session: four register writers saving and correcting the same registers with different marks (the
teacher and the administrator on the teacher's classes, the liaison officer and the administrator on the
fullest register of the officer's schools; the last three school days of each); an officer importing a small attendance CSV (`tracker import attendance --as liaison@...`) for
another class; a partner pulling the report page and its PDF; two API clients (a token from
`tracker tokens issue`) on /api/v1/indicators and /api/v1/report.pdf. Half way, one `tracker flags
refresh` and one `tracker backup --out`.

Prints requests, answers by status, p50/p95 per kind, the load average; then, with the server stopped,
checks the database: one attendance record per enrolment and date; every correction in the history
(for each record the clients wrote, the changes chain from the mark before the run to the mark now, each
change by a user whose save was answered with a redirect, and no more changes than marks posted); the
attendance summary equal to a rebuild from the records (tests/summaries.py); no 5xx; no "database is
locked" and no traceback in the server's log. Exits 1 if a check fails.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--children 300] [--postgres]
"""
from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from serve import TRACKER, Client, free_port, start  # noqa: E402  (benchmarks/serve.py)

PASSWORD = "refugee-education-demo"
TEACHER, ADMIN, LIAISON, PARTNER = (f"{r}@demo.tracker" for r in ("teacher", "admin", "liaison", "partner"))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATUS_FIELD = re.compile(r'name="status-(\d+)"')
MARKS = ("present", "late")  # no reason needed, so every save is valid


class Session(Client):
    """benchmarks/serve.py's client (cookies, no redirects followed) signed in as any user, with POST."""

    def __init__(self, base: str, email: str):
        super().__init__(base)
        self.email = email

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        import urllib.request

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def sign_in(self, stats: "Stats") -> None:
        """Sign in, counting each answer; a refused sign-in (a 5xx) is tried again, up to 5 times."""
        for _attempt in range(5):
            _s, page = timed(stats, "sign-in GET", self, "/login")
            status, _b = timed(stats, "sign-in POST", self, "/login", {
                "email": self.email, "password": PASSWORD, "csrf_token": CSRF.search(page.decode()).group(1)},
                expect=(302,))
            if status == 302:
                return
        raise SystemExit(f"sign-in of {self.email} failed 5 times")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.status: collections.Counter = collections.Counter()
        self.bad: list[str] = []
        self.saves: dict[tuple[str, int, str], int] = collections.Counter()  # (email, enrolment, status) posted
        self.marks_posted = 0
        self.saw_changing = 0  # posted marks that differed from the page the client had just loaded
        self.imports = [0, 0]  # ok, failed
        self.events: list[str] = []  # when each command ran (UTC), to set beside the server's log

    def ran(self, what: str, started: float, seconds: float, rc: int) -> None:
        with self.lock:
            self.events.append(f"{time.strftime('%H:%M:%S', time.gmtime(started))}+{seconds:.1f}s {what} "
                               f"(exit {rc})")

    def add(self, kind: str, status: int, seconds: float, what: str) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.status[status] += 1
            if status >= 500 or status in (400, 403, 404, 429):
                self.bad.append(f"{status} {what}")


def timed(stats: Stats, kind: str, session: Session, path: str, data=None, headers=None, expect=(200,)):
    t0 = time.perf_counter()
    status, body = session.request(path, data, headers)
    stats.add(kind, status, time.perf_counter() - t0, f"{'POST' if data else 'GET'} {path}")
    if status not in expect and status < 500:
        with stats.lock:
            stats.bad.append(f"unexpected {status} {path}")
    return status, body


def register_writer(base, email, registers, stop, stats, seed):
    rnd = random.Random(seed)
    registers = registers[email]
    s = Session(base, email)
    s.sign_in(stats)
    while time.monotonic() < stop:
        class_id, day = rnd.choice(registers)
        path = f"/registers/{class_id}/{day}"
        status, page = timed(stats, "register GET", s, path)
        if status != 200:
            continue
        text = page.decode()
        eids = sorted(set(int(e) for e in STATUS_FIELD.findall(text)))
        shown = dict(re.findall(r'name="status-(\d+)" value="(\w+)" checked', text))
        form = {"csrf_token": CSRF.search(text).group(1)}
        marks = {}
        for eid in eids:
            marks[eid] = rnd.choice(MARKS)
            form[f"status-{eid}"] = marks[eid]
            form[f"reason-{eid}"] = ""
            form[f"note-{eid}"] = ""
        status, _b = timed(stats, "register save", s, path, form, expect=(302,))
        if status == 302:
            with stats.lock:
                stats.marks_posted += len(marks)
                stats.saw_changing += sum(1 for eid, m in marks.items() if shown.get(str(eid)) != m)
                for eid, m in marks.items():
                    stats.saves[(email, eid, m)] += 1


def officer_importer(env, rows, stop, stats, tmp):
    n = 0
    while time.monotonic() < stop:
        n += 1
        path = tmp / f"attendance-{n}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["child_code", "school_code", "date", "status", "reason"])
            for code, school, day in rows:
                w.writerow([code, school, day, MARKS[n % 2], ""])
        t0, wall = time.perf_counter(), time.time()
        r = subprocess.run([TRACKER, "import", "attendance", str(path), "--as", LIAISON], env=env,
                           capture_output=True, text=True)
        stats.ran("tracker import attendance", wall, time.perf_counter() - t0, r.returncode)
        with stats.lock:
            stats.latency["import (command)"].append(time.perf_counter() - t0)
            stats.imports[0 if r.returncode == 0 else 1] += 1
            if r.returncode != 0:
                stats.bad.append(f"tracker import exited {r.returncode}: {(r.stderr or r.stdout)[-400:]}")


def partner(base, stop, stats):
    s = Session(base, PARTNER)
    s.sign_in(stats)
    while time.monotonic() < stop:
        timed(stats, "report HTML", s, "/reports/")
        timed(stats, "report PDF", s, "/reports/report.pdf")


def api_client(base, token, stop, stats, pdf):
    s = Session(base, "api")
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < stop:
        if pdf:
            timed(stats, "API report.pdf", s, "/api/v1/report.pdf", headers=headers)
        else:
            timed(stats, "API indicators", s, "/api/v1/indicators", headers=headers)


def mid_run_commands(env, stop, seconds, stats, tmp, out):
    time.sleep(seconds / 2)
    for kind, cmd in (("flags refresh (command)", ["flags", "refresh"]),
                      ("backup (command)", ["backup", "--out", str(tmp / "backup")])):
        t0, wall = time.perf_counter(), time.time()
        r = subprocess.run([TRACKER, *cmd], env=env, capture_output=True, text=True)
        stats.ran(f"tracker {' '.join(cmd[:2])}", wall, time.perf_counter() - t0, r.returncode)
        with stats.lock:
            stats.latency[kind].append(time.perf_counter() - t0)
            out[kind] = r.returncode
            if r.returncode != 0:
                stats.bad.append(f"tracker {' '.join(cmd)} exited {r.returncode}: {(r.stderr or r.stdout)[-400:]}")


def app_for(url: str):
    from tracker import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "soak"})


def plan(url: str) -> dict:
    """The registers the writers share, the officer's import rows, and the records before the run."""
    import sqlalchemy as sa

    from tracker.attendance.models import AttendanceChange, AttendanceRecord
    from tracker.extensions import db
    from tracker.models import Enrolment, User

    app = app_for(url)
    with app.app_context():
        def last_days(cid: int) -> list[tuple[int, str]]:
            days = db.session.scalars(sa.select(AttendanceRecord.date).join(Enrolment)
                                      .where(Enrolment.class_id == cid).distinct()
                                      .order_by(AttendanceRecord.date.desc()).limit(3)).all()
            return [(cid, d.isoformat()) for d in days]

        def busiest(school_ids, not_in, n):
            return db.session.execute(
                sa.select(Enrolment.class_id, AttendanceRecord.date).join(AttendanceRecord)
                .where(Enrolment.school_id.in_(school_ids), Enrolment.class_id.not_in(not_in))
                .group_by(Enrolment.class_id, AttendanceRecord.date)
                .order_by(sa.func.count().desc(), AttendanceRecord.date.desc()).limit(n)).all()

        teacher = db.session.scalar(sa.select(User).where(User.email == TEACHER))
        liaison = db.session.scalar(sa.select(User).where(User.email == LIAISON))
        teacher_classes = [c.id for c in teacher.classes][:2]
        school_ids = [s.id for s in liaison.schools]
        # The teacher and the administrator share the teacher's registers; the liaison officer and the
        # administrator share the fullest register in the officer's schools.
        registers = {TEACHER: [r for cid in teacher_classes for r in last_days(cid)]}
        full = busiest(school_ids, teacher_classes, 1)
        registers[LIAISON] = last_days(full[0][0]) if full else []
        registers[ADMIN] = registers[TEACHER] + registers[LIAISON]
        classes = teacher_classes + [cid for cid, _d in registers[LIAISON][:1]]
        row = busiest(school_ids, classes, 1)
        imports = []
        if row:
            other_class, day = row[0]
            for e in db.session.scalars(sa.select(Enrolment).join(AttendanceRecord)
                                        .where(Enrolment.class_id == other_class, AttendanceRecord.date == day)
                                        .limit(10)):
                imports.append((e.child.code, e.school.code, day.isoformat()))
        before = {(r.enrolment_id, r.date.isoformat()): r.status.value for r in db.session.scalars(
            sa.select(AttendanceRecord).join(Enrolment).where(Enrolment.class_id.in_(classes)))}
        last_change = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AttendanceChange.id), 0)))
        ids = dict(db.session.execute(sa.select(User.email, User.id)).all())
        db.session.remove()
        db.engine.dispose()
    return {"registers": registers, "imports": imports, "before": before, "last_change": last_change,
            "classes": classes, "user_ids": ids}


def check_database(url: str, p: dict, stats: Stats) -> list[str]:
    import sqlalchemy as sa

    from tests.summaries import rebuilt, stored_summary
    from tracker.attendance.models import AttendanceChange, AttendanceRecord
    from tracker.extensions import db
    from tracker.models import Enrolment

    failures = []
    app = app_for(url)
    with app.app_context():
        dupes = db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date, sa.func.count())
                                   .group_by(AttendanceRecord.enrolment_id, AttendanceRecord.date)
                                   .having(sa.func.count() > 1)).all()
        print(f"duplicate attendance records (enrolment, date): {len(dupes)}")
        if dupes:
            failures.append(f"{len(dupes)} enrolment/date pairs with more than one record, e.g. {dupes[:3]}")

        records = {(r.enrolment_id, r.date.isoformat()): r for r in db.session.scalars(
            sa.select(AttendanceRecord).join(Enrolment).where(Enrolment.class_id.in_(p["classes"])))}
        changes = collections.defaultdict(list)
        for c in db.session.scalars(sa.select(AttendanceChange).where(AttendanceChange.id > p["last_change"])
                                    .order_by(AttendanceChange.id)):
            changes[c.record_id].append(c)
        emails = {v: k for k, v in p["user_ids"].items()}
        posted = collections.Counter()
        for (email, eid, mark), n in stats.saves.items():
            posted[(email, eid, mark)] += n
        broken, total, touched = [], 0, 0
        for key, record in records.items():
            chain = changes.get(record.id, [])
            total += len(chain)
            status = p["before"].get(key)
            for c in chain:
                who = emails.get(c.changed_by_id)
                if c.old_status.value != status:
                    broken.append(f"record {record.id}: change {c.id} from {c.old_status.value}, record was {status}")
                if c.new_status == c.old_status:
                    broken.append(f"record {record.id}: change {c.id} changes nothing")
                if posted[(who, key[0], c.new_status.value)] == 0:
                    broken.append(f"record {record.id}: change {c.id} by {who} to {c.new_status.value} "
                                  f"that no answered save posted")
                status = c.new_status.value
            if record.status.value != status:
                broken.append(f"record {record.id}: now {record.status.value}, the history ends at {status} "
                              f"(a correction without its change row)")
            touched += record.status.value != p["before"].get(key) or bool(chain)
        print(f"register marks posted (answered 302): {stats.marks_posted}; of them differing from the page the "
              f"client had loaded: {stats.saw_changing}; change rows written: {total} on {touched} records; "
              f"history chains broken: {len(broken)}")
        if broken:
            failures.append(f"{len(broken)} breaks in the correction history: " + "; ".join(broken[:5]))
        if total > stats.marks_posted:
            failures.append(f"{total} change rows for {stats.marks_posted} marks posted")
        if stats.saw_changing and total == 0:  # a save that changed the mark it had loaded must leave a change row
            failures.append("no change rows although the clients saved different marks")

        stored, fresh = stored_summary(), rebuilt()
        print(f"attendance summary rows: {len(stored)}; differing from a rebuild: {len(stored ^ fresh)}")
        if stored != fresh:
            failures.append(f"the attendance summary differs from a rebuild in {len(stored ^ fresh)} rows")
        db.session.remove()
        db.engine.dispose()
    return failures


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(len(values) * q)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--children", type=int, default=300)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL server of its own")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tracker-soak-"))
    server = None
    if args.postgres:
        from pgserver import PostgresServer  # benchmarks/pgserver.py

        server = PostgresServer().start()
        url = server.create_database("soak")
    else:
        url = f"sqlite:///{tmp / 'soak.sqlite3'}"
    env = dict(os.environ, TRACKER_DATABASE_URL=url, TRACKER_SECRET_KEY="soak-secret", FLASK_DEBUG="0",
               TRACKER_SESSION_COOKIE_SECURE="false", TRACKER_REMEMBER_COOKIE_SECURE="false",
               TRACKER_API_RATE_LIMIT="1000000", TRACKER_SIGNIN_RATE_LIMIT="1000000")
    try:
        return run(args, env, url, tmp)
    finally:
        if server is not None:
            server.stop()


def run(args, env, url, tmp) -> int:
    t0 = time.monotonic()
    for cmd in (["db", "upgrade"], ["demo", "--children", str(args.children)], ["flags", "refresh"]):
        subprocess.run([TRACKER, *cmd], env=env, check=True, capture_output=True)
    if url.startswith("sqlite"):
        import sqlite3

        mode = sqlite3.connect(url.removeprefix("sqlite:///")).execute("PRAGMA journal_mode").fetchone()[0]
    else:
        mode = "PostgreSQL"
    token = subprocess.run([TRACKER, "tokens", "issue", "--user", PARTNER, "--name", "soak"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    p = plan(url)
    print(f"demo with {args.children} children on {'PostgreSQL' if mode == 'PostgreSQL' else 'SQLite (' + mode + ')'}"
          f" built in {time.monotonic() - t0:.0f} s; {len(p['registers'][ADMIN])} shared registers "
          f"({len(p['before'])} records), {len(p['imports'])} import rows; {os.cpu_count()} CPUs, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"
    proc = start([TRACKER, "serve", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
                  "--access-log", "off"], env, base, log)
    stats = Stats()
    commands: dict[str, int] = {}
    try:
        load_before = os.getloadavg()
        stop = time.monotonic() + args.seconds
        threads = [threading.Thread(target=register_writer, args=(base, email, p["registers"], stop, stats, i))
                   for i, email in enumerate((TEACHER, ADMIN, LIAISON, ADMIN))]
        threads.append(threading.Thread(target=officer_importer, args=(env, p["imports"], stop, stats, tmp)))
        threads.append(threading.Thread(target=partner, args=(base, stop, stats)))
        threads += [threading.Thread(target=api_client, args=(base, token, stop, stats, pdf)) for pdf in (False, True)]
        threads.append(threading.Thread(target=mid_run_commands, args=(env, stop, args.seconds, stats, tmp, commands)))
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()

    requests = sum(stats.status.values())
    print(f"\n{requests} requests in {elapsed:.0f} s ({requests / elapsed:.1f}/s) from 8 clients, "
          f"{args.workers} workers; answers: {', '.join(f'{k}: {v}' for k, v in sorted(stats.status.items()))}")
    print(f"imports: {stats.imports[0]} ok, {stats.imports[1]} failed; mid-run commands (exit codes): {commands}")
    print(f"{'kind':<26} {'n':>6} {'p50 ms':>9} {'p95 ms':>9}")
    for kind, values in sorted(stats.latency.items()):
        print(f"{kind:<26} {len(values):6d} {statistics.median(values) * 1000:9.0f} "
              f"{percentile(values, 0.95) * 1000:9.0f}")
    print(f"load average before {', '.join(f'{x:.2f}' for x in load_before)}; after "
          f"{', '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)")

    failures = []
    five = sum(v for k, v in stats.status.items() if k >= 500)
    if five:
        failures.append(f"{five} answers 5xx")
    if stats.bad:
        failures.append(f"{len(stats.bad)} unexpected answers or failed commands, e.g. {stats.bad[:3]}")
    if not stats.saves:
        failures.append("no register was saved")
    print("commands: " + "; ".join(sorted(stats.events)))
    text = log.read_text(errors="replace")
    locked = text.lower().count("database is locked")
    tracebacks = text.count("Traceback")
    for line in text.splitlines():
        if "Exception on" in line or "request /api/" in line:
            print(f"  server log: {line}")
    print(f"server log {log}: 'database is locked' {locked}, tracebacks {tracebacks}")
    if locked:
        failures.append(f"'database is locked' {locked} times in the server log")
    if tracebacks:
        failures.append(f"{tracebacks} tracebacks in the server log")
    failures += check_database(url, p, stats)
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
