"""Indicator speed at scale: tracker's queries against the best hand-written SQL, on SQLite or PostgreSQL.

Builds --children children (default 50,000) across --schools schools (default 300) over two
academic years (benchmarks/data.py: arrivals, centre stays, UASC periods, enrolments with
transfers, drop-outs, completed grades, primary to secondary, moving onward, and attendance on
most school days), into a temporary SQLite file, a server of its own (--postgres), or
--database-url. A database that already holds children (--keep FILE that exists, or a URL) is
reused as it is. Then, for the period --from..--to as of --as-of (default: the first year,
as of the last day of the second, so that every indicator has something to count: 365-day
retention, transition, exits) broken down by sex and UASC status, for each of tracker's
indicator queries and the hand-written SQL that gives the same figures (benchmarks/hand.py):

  - checks that both give the same numbers for every indicator and group (numerator,
    denominator, and the cohort/retained/moved/dropped and children counts); a mismatch is
    printed and the script exits with status 1;
  - times them alternately, tracker then hand, --rounds times (after one untimed run of each,
    which is also the one checked), and prints the median and the range (min-max) of each and
    the ratio of the medians (> 1: tracker is slower);
  - the same for every indicator at once (tracker's raw_rows against every hand query), and
    the time of tracker's whole compute() (with the parity indices);
  - with --flags, the time of `tracker flags refresh`.
It prints the machine's load average at the start and the end, the number of CPUs, and the
database engine and version: on a shared machine, read the ranges before the ratios.

    .venv/bin/python benchmarks/indicators.py [--children 50000] [--schools 300] [--rounds 5]
        [--postgres | --database-url URL | --keep FILE] [--from D --to D --as-of D] [--flags]

Figures (4 December 2026, a shared 2-CPU machine with a load average of 5 to 9 from other test
suites; docs/benchmarks.md has the method and the full output):

  build (data.py)            5,000 children   20,000          50,000 (5.8 M attendance rows)
    SQLite                   4-7 s            18-31 s         44-80 s
    PostgreSQL               7-10 s           22-32 s         53-70 s
    (the first build, with three times the attendance per child: 183 s, 1,443 s and 2,600 s,
    about 51 GB written at 50,000; here, 177 s and 3.8 GB written at 20,000 in the same hour
    in which this one built 100,000 children, 11.6 M rows, in 105 s)
  tracker / hand-written, ratio of the medians, every indicator at once:
    SQLite                   2.03             1.70            1.63
    PostgreSQL               2.35             2.13            1.50
  retention alone 1.9 to 4.6; attendance (3 indicators) 1.04 to 1.28 from 20,000 children.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import sqlalchemy as sa  # noqa: E402

import data  # noqa: E402
from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402

YEARS = data.YEARS


def build(n_children: int, n_schools: int) -> dict:
    """The benchmark population (benchmarks/data.py), for the other benchmarks too."""
    return data.build(n_children, n_schools)


def _value(x):
    x = getattr(x, "value", x)
    if x is None or isinstance(x, (int, str)):
        return x
    return int(x) if x == int(x) else float(x)


def normalise(rows: list[tuple]) -> dict[tuple, tuple]:
    """{(indicator, sex, uasc): (numerator, denominator, extras)} from raw rows of either side."""
    out = {}
    for row in rows:
        name, dims, num, den = row[:4]
        # The record-key sums (key_*, 0 unless asked for) are tracker's own: not compared.
        extra = tuple(sorted((k, _value(v)) for k, v in (row[4] if len(row) > 4 else {}).items()
                             if not k.startswith("key_")))
        key = (name, *(_value(d) for d in dims))
        if key in out:
            raise AssertionError(f"{key} appears twice")
        out[key] = (_value(num) or 0, _value(den), extra)
    return out


def compare(name: str, mine: list[tuple], theirs: list[tuple]) -> list[str]:
    a, b = normalise(mine), normalise(theirs)
    problems = []
    for key in sorted(set(a) | set(b), key=str):
        if a.get(key) != b.get(key):
            problems.append(f"  {name}: {' / '.join(map(str, key))}: tracker {a.get(key)}  hand-written {b.get(key)}")
    return problems


def engine_version() -> str:
    if db.engine.dialect.name == "sqlite":
        return "SQLite " + db.session.scalar(sa.text("SELECT sqlite_version()"))
    return db.session.scalar(sa.text("SELECT version()")).split(" on ")[0]


def machine(label: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"{label}: load average {one:.2f} {five:.2f} {fifteen:.2f}, {os.cpu_count()} CPUs"


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):7.3f} s [{min(times):.3f}-{max(times):.3f}]"


CPU = {"tracker": [], "hand": []}  # this process's CPU time per run: the whole query on SQLite


def alternate(rounds: int, a, b) -> tuple[list[float], list[float]]:
    """Run a, b, a, b, ... (rounds each); each run in its own read transaction. Returns the wall times."""
    ta, tb = [], []
    CPU["tracker"], CPU["hand"] = [], []
    for _ in range(rounds):
        for fn, times, cpu in ((a, ta, CPU["tracker"]), (b, tb, CPU["hand"])):
            c, t = time.process_time(), time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            db.session.rollback()
    return ta, tb


def cpu_note() -> str:
    """On SQLite the query runs in this process: its CPU time is what a busy machine disturbs least."""
    if db.engine.dialect.name != "sqlite":
        return ""
    mine, theirs = statistics.median(CPU["tracker"]), statistics.median(CPU["hand"])
    return f"   cpu {mine:.3f} / {theirs:.3f} s = {mine / theirs:.2f}" if theirs else ""


def load_note() -> str:
    """The 1-minute load average when a figure was taken: on a shared machine, read it with the figure."""
    return f"   load {os.getloadavg()[0]:.1f}"


def run(args) -> int:
    import hand
    from tracker.indicators import compute as compute_fn
    from tracker.indicators import Params
    import importlib

    c = importlib.import_module("tracker.indicators.compute")  # the module, not the function

    print(f"engine: {engine_version()}; Python {platform.python_version()}, SQLAlchemy {sa.__version__}")
    frm, to = args.frm or YEARS[0][1], args.to or YEARS[0][2]
    as_of = args.as_of or YEARS[-1][2]
    p = Params(frm=frm, to=to, as_of=as_of, by=["sex", "uasc"])
    units = [
        ("enrolled", lambda: c.enrolled(p), lambda: hand.enrolled(p)),
        ("new_enrolments", lambda: c.new_enrolments(p), lambda: hand.new_enrolments(p)),
        ("exits (6 reasons)", lambda: c.exits(p), lambda: hand.exits(p)),
        ("attendance (3 indicators)", lambda: c.attendance(p), lambda: hand.attendance(p)),
        ("retention (2 levels x 3)", lambda: c.retention(p),
         lambda: hand.retention(p)),
        ("transition", lambda: c.transition(p), lambda: hand.transition(p)),
        ("out_of_school", lambda: c.out_of_school(p), lambda: hand.out_of_school(p)),
    ]
    print(f"period {frm}..{to} as of {as_of}, by sex and uasc; {args.rounds} rounds, tracker and hand-written "
          f"alternately (A B A B ...), after one untimed run of each; median [min-max], ratio = tracker / hand")
    problems, groups = [], 0
    for name, mine, theirs in units:
        m, t = mine(), theirs()
        db.session.rollback()
        groups += len(normalise(m))
        problems += compare(name, m, t)
    if problems:
        print("MISMATCH between tracker and the hand-written SQL:")
        print("\n".join(problems))
        return 1
    print(f"same numbers on both sides: {groups} indicator x group rows")
    print(f"  {'':<27} {'tracker (wall)':<27} {'hand-written SQL (wall)':<27} ratio"
          + ("   in-process CPU medians, tracker / hand" if db.engine.dialect.name == "sqlite" else ""))
    mine_total, theirs_total = 0.0, 0.0
    for name, mine, theirs in units:
        ta, tb = alternate(args.rounds, mine, theirs)
        mine_total += statistics.median(ta)
        theirs_total += statistics.median(tb)
        print(f"  {name:<27} {spread(ta)}   {spread(tb)}   {statistics.median(ta) / statistics.median(tb):.2f}"
              f"{cpu_note()}{load_note()}")
    ta, tb = alternate(args.rounds, lambda: c.raw_rows(p), lambda: hand.all_rows(p))
    print(f"  {'every indicator at once':<27} {spread(ta)}   {spread(tb)}   "
          f"{statistics.median(ta) / statistics.median(tb):.2f}{cpu_note()}{load_note()}")
    print(f"  (sum of the medians above: tracker {mine_total:.3f} s, hand-written {theirs_total:.3f} s, "
          f"ratio {mine_total / theirs_total:.2f})")
    times = []
    for _ in range(args.rounds):
        t = time.perf_counter()
        rows = compute_fn(p)
        times.append(time.perf_counter() - t)
        db.session.rollback()
    print(f"  tracker compute() with the parity indices: {spread(times)} ({len(rows)} rows){load_note()}")
    if args.flags:
        from tracker.flags.operations import refresh

        t = time.perf_counter()
        counts = refresh(as_of)
        print(f"flags refresh as of {as_of}: {time.perf_counter() - t:.1f} s ({counts})")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="timed runs of each side, alternating (default 5)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an empty (or already built) database; postgresql+psycopg://... or sqlite:///...")
    where.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL server for the run")
    where.add_argument("--keep", metavar="FILE", help="SQLite file to build into and keep; reused when it exists")
    ap.add_argument("--from", dest="frm", type=dt.date.fromisoformat)
    ap.add_argument("--to", type=dt.date.fromisoformat)
    ap.add_argument("--as-of", dest="as_of", type=dt.date.fromisoformat)
    ap.add_argument("--flags", action="store_true", help="also time `tracker flags refresh`")
    ap.add_argument("--tmp", help="directory for the temporary database (default: the system's)")
    args = ap.parse_args()
    print(machine("start"))
    server, scratch = None, None
    if args.postgres:
        from pgserver import PostgresServer

        server = PostgresServer(directory=args.tmp).start()
        url = server.create_database("bench")
        print("PostgreSQL settings: " + ", ".join(f"{k}={v}" for k, v in server.settings.items()))
    elif args.keep:
        url = f"sqlite:///{os.path.abspath(args.keep)}"
    else:
        url = args.database_url
        if not url:
            scratch = tempfile.mkdtemp(prefix="tracker-bench-", dir=args.tmp)
            url = f"sqlite:///{scratch}/bench.sqlite3"
    status = 1
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            import logging

            from flask_migrate import upgrade

            upgrade()
            logging.getLogger("alembic").setLevel(logging.WARNING)
            from tracker.models import Child

            existing = db.session.scalar(sa.select(sa.func.count()).select_from(Child))
            if existing:
                print(f"reusing the {existing:,} children already in the database")
            else:
                build(args.children, args.schools)
            status = run(args)
            db.session.rollback()
            db.engine.dispose()
    finally:
        if server is not None:
            server.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        print(machine("end"))
    sys.exit(status)


if __name__ == "__main__":
    main()
