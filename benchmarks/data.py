"""A large, realistic population for the benchmarks, built in time linear in its size.

Two academic years (``YEARS``) with their public holidays and winter break, one own day off per
school and year, five centres, and ``n_children`` children who arrive over two years, live in a
centre, enrol after a few weeks (or never), change school, drop out, finish a grade and go on to
the next one (primary grade 8 to secondary, some late, some never), move onward (a few come back),
and have attendance on most school days of every enrolment (a tenth of them often absent).

Why it is linear. The first version inserted the attendance one school day at a time
(``INSERT ... SELECT`` over every enrolment, 400 statements) inside one transaction in WAL mode:
every day added one row at the end of every enrolment's run in the (enrolment_id, date) unique
index, so each statement rewrote every leaf page of an index that grows with the data, and with
SQLite's 2 MB page cache those pages were spilled into the WAL again and again: the WAL grew to
several times the database (5.8 GB written for a 655 MB file at 20,000 children; about 51 GB at
50,000) and once it outgrew the OS cache the build slowed down super-linearly. Now:

- children, stays, UASC periods and enrolments are generated in Python, ids assigned here, and
  inserted in batches of ``BATCH`` rows (executemany) on SQLite, with COPY on PostgreSQL;
- attendance is one ``INSERT ... SELECT`` per batch of enrolments, joined with ``calendar_day``,
  in (enrolment_id, date) order, so the unique index only ever grows at its end; the date
  index (and on PostgreSQL the unique and foreign key constraints) are created after the load;
- SQLite runs the build with ``journal_mode=OFF``, ``synchronous=OFF``, foreign key checks off
  and a 256 MB page cache: a benchmark database is thrown away if the build fails. The file is
  switched back to WAL afterwards.
- ``ANALYZE`` at the end, so both databases plan from statistics.

Everything is deterministic for a given (n_children, n_schools, seed).
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from tracker.extensions import db

YEARS = [("2024/25", dt.date(2024, 9, 2), dt.date(2025, 6, 20)), ("2025/26", dt.date(2025, 9, 1), dt.date(2026, 6, 19))]
DATA_END = YEARS[-1][2]  # the last day with records: "today" of the population
GENERAL_DAYS_OFF = {
    "2024/25": [("2024-11-11", "Armistice Day"), ("2024-12-30", "2025-01-10", "Winter break"),
                ("2025-02-17", "Statehood Day"), ("2025-04-18", "Good Friday"), ("2025-04-21", "Easter Monday"),
                ("2025-05-01", "2025-05-02", "Labour Day")],
    "2025/26": [("2025-11-11", "Armistice Day"), ("2025-12-31", "2026-01-09", "Winter break"),
                ("2026-02-16", "2026-02-17", "Statehood Day"), ("2026-04-10", "Good Friday"),
                ("2026-04-13", "Easter Monday"), ("2026-05-01", "Labour Day")],
}
CENTRES = 5
BATCH = 5_000  # rows per executemany
ATTENDANCE_BATCH = 2_000  # enrolments per INSERT ... SELECT of their attendance
STAMP = dt.datetime(2026, 6, 19, 15, 0)


def _d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _days(a: dt.date, b: dt.date):
    while a <= b:
        yield a
        a += dt.timedelta(days=1)


@dataclass
class Population:
    """What the generator decided, as rows for each table (ids assigned)."""

    children: list[dict] = field(default_factory=list)
    uasc: list[dict] = field(default_factory=list)
    stays: list[dict] = field(default_factory=list)
    enrolments: list[dict] = field(default_factory=list)


def _year_of(day: dt.date, years: list[tuple[int, dt.date, dt.date]]):
    for y in years:
        if y[1] <= day <= y[2]:
            return y
    return None


def _next_year(day: dt.date, years):
    return next((y for y in years if y[1] > day), None)


def generate(n_children: int, schools: list[tuple[int, bool]], centre_ids: list[int],
             years: list[tuple[int, dt.date, dt.date]], school_days_by_year: dict[int, list[dt.date]],
             seed: int = 7) -> Population:
    """Life stories of n children; schools as (id, offers_secondary), years as (id, first, last)."""
    rng = random.Random(seed)
    keys = random.Random(seed + 1)  # record keys apart, so the population is the same with or without them
    primary_schools = [s for s, _sec in schools]
    secondary_schools = [s for s, sec in schools if sec] or primary_schools
    pop = Population()
    eid = 0
    first_year = years[0]
    for cid in range(1, n_children + 1):
        female = rng.random() < 0.34
        if rng.random() < 0.5:  # already here before the first year of records
            arrival = first_year[1] - dt.timedelta(days=rng.randrange(30, 400))
        else:
            arrival = dt.date(2024, 6, 1) + dt.timedelta(days=rng.randrange((dt.date(2026, 4, 30) - dt.date(2024, 6, 1)).days))
        age_on_arrival = rng.choice([5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 13, 14, 15, 15, 16, 16, 17, 17, 18])
        birth = arrival - dt.timedelta(days=age_on_arrival * 365 + rng.randrange(365))
        pop.children.append({"id": cid, "code": f"C-{cid:06d}", "given_name": f"G{cid}", "family_name": f"F{cid}",
                             "name_original": "", "name_key": f"g{cid} f{cid}", "sex": "female" if female else "male",
                             "birth_date": birth, "birth_date_estimated": rng.random() < 0.2,
                             "country": rng.choice(["AFG", "SYR", "IRQ", "PAK", "IRN", "BDI", "CUB"]),
                             "first_language": "prs", "legal_basis": "public_task", "version": 1,
                             "record_key": keys.randrange(2 ** 20),
                             "created_at": STAMP, "legal_basis_recorded_at": STAMP})
        # UASC: more often older boys; some periods end (reunited with family) and an accompanied one follows.
        uasc_p = 0.30 if (not female and age_on_arrival >= 14) else 0.08
        if rng.random() < uasc_p:
            status = rng.choice(["separated", "unaccompanied"])
            end = arrival + dt.timedelta(days=rng.randrange(60, 500)) if rng.random() < 0.3 else None
            pop.uasc.append({"child_id": cid, "status": status, "start_date": arrival, "end_date": end,
                             "recorded_at": STAMP})
            if end is not None:
                pop.uasc.append({"child_id": cid, "status": "accompanied", "start_date": end + dt.timedelta(days=1),
                                 "end_date": None, "recorded_at": STAMP})
        elif rng.random() < 0.5:
            pop.uasc.append({"child_id": cid, "status": "accompanied", "start_date": arrival, "end_date": None,
                             "recorded_at": STAMP})
        # Time in Serbia: about a year on average; leaving is moving onward (mostly) or returning.
        stay_days = int(rng.expovariate(1 / 380)) + 20
        leaves = max(arrival, first_year[1] - dt.timedelta(days=60)) + dt.timedelta(days=stay_days)
        if leaves > DATA_END:
            leaves = None
        centre = rng.choice(centre_ids)
        if leaves is None and rng.random() < 0.1:  # moved to another centre
            move = arrival + dt.timedelta(days=rng.randrange(20, max(21, (DATA_END - arrival).days)))
            if move < DATA_END:
                pop.stays.append({"child_id": cid, "centre_id": centre, "start_date": arrival,
                                  "end_date": move - dt.timedelta(days=1)})
                centre = rng.choice([c for c in centre_ids if c != centre] or centre_ids)
                pop.stays.append({"child_id": cid, "centre_id": centre, "start_date": move, "end_date": None})
            else:
                pop.stays.append({"child_id": cid, "centre_id": centre, "start_date": arrival, "end_date": None})
        else:
            pop.stays.append({"child_id": cid, "centre_id": centre, "start_date": arrival, "end_date": leaves})
        comes_back = None
        if leaves is not None and rng.random() < 0.06:
            comes_back = leaves + dt.timedelta(days=rng.randrange(40, 200))
            if comes_back > DATA_END - dt.timedelta(days=30):
                comes_back = None
            else:
                pop.stays.append({"child_id": cid, "centre_id": rng.choice(centre_ids), "start_date": comes_back,
                                  "end_date": None})
        if age_on_arrival >= 18 or rng.random() < 0.10:  # never enrolled
            continue
        exit_reason = "moved_onward" if rng.random() < 0.85 else rng.choice(["returned_to_origin", "other"])
        spells = [(arrival + dt.timedelta(days=rng.randrange(10, 75)), leaves, exit_reason)]
        if comes_back is not None:
            spells.append((comes_back + dt.timedelta(days=rng.randrange(7, 30)), None, None))
        for begin, gone, why in spells:
            eid = _enrolments(pop, rng, eid, cid, birth, begin, gone, why, years, school_days_by_year,
                              primary_schools, secondary_schools)
    return pop


def _enrolments(pop, rng, eid, cid, birth, begin, gone, why, years, school_days_by_year, primary_schools,
                secondary_schools) -> int:
    """One spell in school from ``begin`` until the child leaves Serbia (``gone``) or the data ends."""
    year = _year_of(begin, years)
    if year is None:
        year = _next_year(begin, years)
        if year is None:
            return eid
        begin = year[1]
    if gone is not None and gone <= begin:
        return eid
    age = (year[1] - birth).days // 365
    if age <= 13:
        level, grade = "primary", max(1, min(8, age - 5 - rng.choice([0, 0, 1, 2])))
    else:
        level, grade = "secondary", max(1, min(4, age - 14 - rng.choice([0, 0, 1])))
    school = rng.choice(primary_schools if level == "primary" else secondary_schools)
    start = begin
    while True:
        last = year[2]
        end, reason = None, None
        # Events within the year, at most one: leaving Serbia, dropping out, a transfer.
        if gone is not None and gone <= last:
            end, reason = gone, why
        elif rng.random() < 0.06:
            end, reason = start + dt.timedelta(days=rng.randrange(5, max(6, (last - start).days))), "dropped_out"
        elif rng.random() < 0.06:
            end, reason = start + dt.timedelta(days=rng.randrange(5, max(6, (last - start).days))), "transferred"
        if end is not None and end > last:
            end, reason = None, None
        if end is None and last < DATA_END:
            end, reason = last, "completed"
        if end is not None and end < start:
            end = start
        eid += 1
        pop.enrolments.append({"id": eid, "child_id": cid, "school_id": school, "year_id": year[0], "level": level,
                               "grade": grade, "start_date": start, "end_date": end, "exit_reason": reason,
                               "exit_note": "", "created_at": STAMP})
        if reason is None or reason in ("moved_onward", "returned_to_origin", "other", "dropped_out"):
            if reason == "dropped_out" and rng.random() < 0.25:  # back in school next year
                nxt = _next_year(end, years)
                if nxt is None or (gone is not None and gone <= nxt[1]):
                    return eid
                year, start = nxt, nxt[1]
                school = rng.choice(primary_schools if level == "primary" else secondary_schools)
                continue
            return eid
        if reason == "transferred":
            start = end + dt.timedelta(days=1)
            if start > last:
                return eid
            school = rng.choice([s for s in (primary_schools if level == "primary" else secondary_schools)
                                 if s != school] or [school])
            continue
        # completed: the next grade next year, or secondary after primary grade 8, or nothing.
        nxt = _next_year(end, years)
        if nxt is None or rng.random() < 0.05:
            return eid
        if gone is not None and gone <= nxt[1]:
            return eid
        year = nxt
        start = nxt[1]
        if level == "primary" and grade == 8:
            r = rng.random()
            if r < 0.15:
                return eid
            if r < 0.25:  # late: within 180 days of the end of primary, or after
                days = school_days_by_year[nxt[0]]
                start = days[rng.randrange(len(days) // 2)]
            level, grade = "secondary", 1
            school = rng.choice(secondary_schools)
        elif level == "secondary" and grade == 4:
            return eid
        else:
            grade += 1
        if gone is not None and gone <= start:
            return eid


def _insert(table: sa.Table, rows: list[dict]) -> None:
    """Rows into table: COPY on PostgreSQL, executemany in batches elsewhere. Defaults filled in from the model."""
    if not rows:
        return
    columns = [c for c in table.columns if c.name in rows[0]]
    if db.engine.dialect.name == "postgresql":
        cursor = db.session.connection().connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(c.name for c in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c.name] for c in columns])
        return
    for i in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[i:i + BATCH])


def _sqlite_build_pragmas(on: bool) -> None:
    conn = db.session.connection()
    if on:
        for p in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-262144",
                  "temp_store=MEMORY"):
            conn.exec_driver_sql(f"PRAGMA {p}")
    else:
        for p in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-2000"):
            conn.exec_driver_sql(f"PRAGMA {p}")


ATTENDANCE_SQL = """
INSERT INTO attendance_record (enrolment_id, date, status, reason, note, recorded_at)
SELECT e.id, d.date,
       CASE WHEN ((e.id % 100003) * 7919 + d.ordinal * 104729 + (e.child_id % 100003) * 31) % 1000
                 < CASE WHEN e.child_id % 10 = 0 THEN 180 ELSE 35 END
            THEN CASE WHEN d.ordinal % 3 = 0 THEN 'absent_excused' ELSE 'absent_unexcused' END
            WHEN ((e.id % 100003) * 7919 + d.ordinal * 104729 + (e.child_id % 100003) * 31) % 1000 >= 985 THEN 'late'
            ELSE 'present' END,
       '', '', :stamp
FROM enrolment e
JOIN calendar_day d ON d.date >= e.start_date AND d.date <= COALESCE(e.end_date, :data_end)
WHERE e.id BETWEEN :lo AND :hi AND d.date <= :data_end
  AND NOT EXISTS (SELECT 1 FROM non_school_day o WHERE o.school_id = e.school_id AND o.date = d.date)
  -- registers not taken: 2 % of days, a fifth of the days of one enrolment in 17
  AND (e.id * 37 + d.ordinal * 11) % 50 <> 0
  AND NOT (e.id % 17 = 0 AND (e.id + d.ordinal * 3) % 5 = 0)
ORDER BY e.id, d.date
"""


SUMMARY_SQL = """
INSERT INTO attendance_month (enrolment_id, month, recorded, present, late, absent_excused, absent_unexcused, last_date)
SELECT r.enrolment_id, {month}, COUNT(*),
       SUM(CASE WHEN r.status = 'present' THEN 1 ELSE 0 END), SUM(CASE WHEN r.status = 'late' THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.status = 'absent_excused' THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.status = 'absent_unexcused' THEN 1 ELSE 0 END), MAX(r.date)
FROM attendance_record r JOIN enrolment e ON e.id = r.enrolment_id
WHERE r.enrolment_id BETWEEN :lo AND :hi
  AND r.date >= e.start_date AND (e.end_date IS NULL OR r.date <= e.end_date)
  AND NOT EXISTS (SELECT 1 FROM non_school_day o WHERE o.date = r.date
                  AND (o.school_id IS NULL OR o.school_id = e.school_id))
GROUP BY r.enrolment_id, {month}
"""


def _summary(dialect: str) -> int:
    """attendance_month from the records, with tracker's rules (tracker.attendance.summary), in key order.

    summary.rebuild() gives the same rows, but reads every month through the date index, each
    month touching every page of the table; this reads the table once, in the order it was written.
    """
    from tracker.models import AttendanceMonth

    month = "CAST(date_trunc('month', r.date) AS DATE)" if dialect == "postgresql" else "substr(r.date, 1, 8) || '01'"
    db.session.execute(sa.delete(AttendanceMonth))
    last = db.session.scalar(sa.text("SELECT MAX(id) FROM enrolment")) or 0
    stmt = sa.text(SUMMARY_SQL.format(month=month))
    for lo in range(1, last + 1, ATTENDANCE_BATCH * 5):
        db.session.execute(stmt, {"lo": lo, "hi": lo + ATTENDANCE_BATCH * 5 - 1})
    return db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceMonth))


def build(n_children: int, n_schools: int, seed: int = 7, log=print) -> dict:
    """Build the population into the (migrated, empty) database of the app context; commit. Returns figures."""
    from tracker.models import (AcademicYear, AttendanceRecord, Centre, CentreStay, Child, Enrolment, NonSchoolDay,
                                School, UascPeriod)

    t0 = time.perf_counter()
    dialect = db.engine.dialect.name
    db.session.commit()
    db.engine.dispose()  # one pooled connection from here on, so the build's PRAGMAs stay on it
    if dialect == "sqlite":
        _sqlite_build_pragmas(True)
    rng = random.Random(seed)
    year_rows = [{"id": i + 1, "label": label, "first_day": a, "last_day": b} for i, (label, a, b) in enumerate(YEARS)]
    _insert(AcademicYear.__table__, year_rows)
    _insert(Centre.__table__, [{"id": i + 1, "code": f"CEN{i}", "name": f"Centre {i}", "kind": "asylum",
                                "municipality": f"M{i}"} for i in range(CENTRES)])
    schools = [(i + 1, i % 3 == 0) for i in range(n_schools)]
    _insert(School.__table__, [{"id": sid, "code": f"S{sid:04d}", "name": f"School {sid}",
                                "municipality": f"M{sid % CENTRES}", "offers_primary": True,
                                "offers_secondary": sec} for sid, sec in schools])
    off_rows, general = [], set()
    for y in year_rows:
        for item in GENERAL_DAYS_OFF.get(y["label"], []):
            a, b, desc = (item[0], item[1], item[2]) if len(item) == 3 else (item[0], item[0], item[1])
            for day in _days(_d(a), _d(b)):
                if day.weekday() < 5:
                    general.add(day)
                    off_rows.append({"year_id": y["id"], "date": day, "description": desc, "school_id": None})
    school_days_by_year = {y["id"]: [d for d in _days(y["first_day"], y["last_day"])
                                     if d.weekday() < 5 and d not in general] for y in year_rows}
    for sid, _sec in schools:  # the school's own day (its patron saint's day), once a year
        for y in year_rows:
            off_rows.append({"year_id": y["id"], "date": rng.choice(school_days_by_year[y["id"]]),
                             "description": "School day", "school_id": sid})
    _insert(NonSchoolDay.__table__, off_rows)
    db.session.flush()
    try:
        from tracker.schools.operations import refresh_calendar_days
    except ImportError:  # older tracker: ensure_calendar_days rebuilds it
        from tracker.schools.calendar import ensure_calendar_days as refresh_calendar_days
    refresh_calendar_days()
    years = [(y["id"], y["first_day"], y["last_day"]) for y in year_rows]
    pop = generate(n_children, schools, list(range(1, CENTRES + 1)), years, school_days_by_year, seed)
    t_gen = time.perf_counter()
    _insert(Child.__table__, pop.children)
    _insert(UascPeriod.__table__, pop.uasc)
    _insert(CentreStay.__table__, pop.stays)
    _insert(Enrolment.__table__, pop.enrolments)
    if dialect == "postgresql":  # ids were given: move the sequences past them
        for table in ("academic_year", "centre", "school", "non_school_day", "child", "uasc_period", "centre_stay",
                      "enrolment"):
            db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
    db.session.commit()
    t_rows = time.perf_counter()
    log(f"  generated {len(pop.children):,} children, {len(pop.enrolments):,} enrolments in {t_gen - t0:.1f} s, "
        f"inserted in {t_rows - t_gen:.1f} s")
    # Attendance: in key order, secondary indexes after.
    db.session.execute(sa.text("DROP INDEX IF EXISTS ix_attendance_record_date"))
    if dialect == "postgresql":
        db.session.execute(sa.text("ALTER TABLE attendance_record DROP CONSTRAINT IF EXISTS "
                                   "uq_attendance_record_enrolment_date, DROP CONSTRAINT IF EXISTS "
                                   "fk_attendance_record_enrolment_id_enrolment"))
    stmt = sa.text(ATTENDANCE_SQL).bindparams(sa.bindparam("data_end", type_=sa.Date),
                                              sa.bindparam("stamp", type_=sa.DateTime))
    n_enrol = len(pop.enrolments)
    for lo in range(1, n_enrol + 1, ATTENDANCE_BATCH):
        db.session.execute(stmt, {"lo": lo, "hi": lo + ATTENDANCE_BATCH - 1, "data_end": DATA_END, "stamp": STAMP})
    db.session.commit()
    t_att = time.perf_counter()
    if dialect == "postgresql":
        db.session.execute(sa.text("ALTER TABLE attendance_record ADD CONSTRAINT uq_attendance_record_enrolment_date "
                                   "UNIQUE (enrolment_id, date), ADD CONSTRAINT "
                                   "fk_attendance_record_enrolment_id_enrolment FOREIGN KEY (enrolment_id) "
                                   "REFERENCES enrolment (id) ON DELETE CASCADE"))
    db.session.execute(sa.text("CREATE INDEX ix_attendance_record_date ON attendance_record (date)"))
    db.session.commit()
    t_idx = time.perf_counter()
    n_summary = _summary(dialect)
    db.session.commit()
    t_sum = time.perf_counter()
    if dialect == "postgresql":  # VACUUM sets the visibility map, so index-only scans stay index-only
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        _sqlite_build_pragmas(False)
        db.session.connection().exec_driver_sql("ANALYZE")
        db.session.commit()
    t_end = time.perf_counter()
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord))
    figures = {"children": len(pop.children), "schools": n_schools, "enrolments": n_enrol, "attendance": rows,
               "summary": n_summary, "seconds": t_end - t0, "attendance_s": t_att - t_rows, "index_s": t_idx - t_att,
               "summary_s": t_sum - t_idx, "analyze_s": t_end - t_sum}
    log(f"  attendance {rows:,} rows in {t_att - t_rows:.1f} s, its indexes {t_idx - t_att:.1f} s, "
        f"summary {n_summary:,} rows {t_sum - t_idx:.1f} s, analyze {t_end - t_sum:.1f} s")
    log(f"built {len(pop.children):,} children, {n_schools} schools, {n_enrol:,} enrolments, {rows:,} attendance "
        f"rows in {t_end - t0:.0f} s")
    return figures
