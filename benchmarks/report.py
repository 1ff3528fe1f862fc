"""Speed of the national retention and attendance report at scale.

Builds --children children (default 50,000) across --schools schools (default 300) with two
academic years of enrolments and attendance, with benchmarks/indicators.py's build (about 8
minutes at the defaults), or reuses the SQLite file given with --keep. For the last academic
year of the build as the period, it then prints:
  - the time to build the report's data for every school (build_report with no user), exact and
    prepared for sharing (perturbed and rounded, as a partner sees it), and where the first,
    cold run spent its time;
  - the time to render the standalone HTML, the PDF (with its page count and size), the XLSX
    and the CSV files;
  - the time for the whole PDF from nothing (data + PDF), exact and for sharing. Aim: under 5 s.
Every step after the cold run is the best of --repeat runs (default 3).

    .venv/bin/python benchmarks/report.py [--children 50000] [--schools 300] [--postgres | --database-url URL
                                          [--reuse] | --keep FILE] [--repeat 3] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tracker import create_app  # noqa: E402


def _load_indicators_benchmark():
    """benchmarks/indicators.py as a module (benchmarks/ is not a package): its build() and YEARS."""
    spec = importlib.util.spec_from_file_location("bench_indicators", os.path.join(HERE, "indicators.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_of(n: int, fn):
    """(fastest time in seconds, result of the last run) over n runs."""
    times, result = [], None
    for _ in range(n):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def pages_of(pdf: bytes) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:  # a rough count without pypdf
        return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    return len(PdfReader(io.BytesIO(pdf)).pages)


def size(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--database-url", help="a database to build into (postgresql+psycopg://... or sqlite:///...)")
    ap.add_argument("--postgres", action="store_true", help="build into a throwaway PostgreSQL server of its own")
    ap.add_argument("--reuse", action="store_true", help="with --database-url: the database is built already")
    ap.add_argument("--keep", metavar="FILE",
                    help="SQLite file to build into and keep; when it exists already, it is reused (migrated, not rebuilt)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timed step after the warm-up (default 3)")
    ap.add_argument("--out-dir", metavar="DIR", help="also write the report's files there")
    args = ap.parse_args()
    bench = _load_indicators_benchmark()
    reuse = bool(args.keep and os.path.exists(args.keep)) or (args.reuse and bool(args.database_url))
    server = None
    if args.postgres:
        sys.path.insert(0, HERE)
        from pgserver import PostgresServer

        server = PostgresServer().start()
        url = server.create_database("bench")
    elif args.keep:
        url = f"sqlite:///{os.path.abspath(args.keep)}"
    else:
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='tracker-bench-')}/bench.sqlite3"
    try:
        run(args, bench, url, reuse)
    finally:
        if server is not None:
            server.stop()


def run(args, bench, url: str, reuse: bool) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    n = max(1, args.repeat)
    # Rendering uses url_for and the locale: a request context (which brings an app context).
    with app.test_request_context():
        from flask_migrate import upgrade

        upgrade()
        if reuse:
            print(f"reusing {args.keep or 'the database'}")
        else:
            bench.build(args.children, args.schools)

        from tracker.extensions import db
        from tracker.reports import exports
        from tracker.reports.data import build_report

        year_label, frm, to = bench.YEARS[-1]

        def data(sharing: bool = False):
            # Shared figures cover a fixed period: the same school year, as a partner asks for it.
            report = (build_report(None, period=year_label, sharing=True) if sharing
                      else build_report(None, frm=frm, to=to))
            db.session.rollback()  # end the read transaction, as a request would
            return report

        # The cold run, step by step (warms the calendar table and the page cache).
        laps: list[tuple[str, float]] = []
        marks = [time.perf_counter()]

        def lap(step: str) -> None:
            now = time.perf_counter()
            if laps:
                laps[-1] = (laps[-1][0], now - marks[-1])
            laps.append((step, 0.0))
            marks.append(now)

        t = time.perf_counter()
        report = build_report(None, frm=frm, to=to, progress=lap)
        end = time.perf_counter()
        laps[-1] = (laps[-1][0], end - marks[-1])
        db.session.rollback()
        print(f"report {frm}..{to}, {report.scope_label}: cold run {end - t:.2f} s "
              f"({len(report.tables)} breakdowns, {sum(len(r) for r in report.tables.values()):,} rows)")
        print("  " + ", ".join(f"{step} {secs:.2f} s" for step, secs in laps))
        data(sharing=True)  # warm the sharing path too

        print(f"best of {n}:")
        t_exact, report = best_of(n, data)
        print(f"  data, exact                  {t_exact:6.2f} s")
        t_shared, shared = best_of(n, lambda: data(sharing=True))
        print(f"  data, for sharing (k={shared.k})     {t_shared:6.2f} s")

        files = {}
        for fmt, what in (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "XLSX"), ("csv", "CSV")):
            exports.render(fmt, report)  # warm-up (templates, fonts)
            secs, (body, _mimetype, name) = best_of(n, lambda fmt=fmt: exports.render(fmt, report))
            files[fmt] = (body, name)
            extra = f", {pages_of(body)} pages" if fmt == "pdf" else ""
            print(f"  render {what:<5} (exact)         {secs:6.2f} s   {size(len(body))}{extra}")
        secs, (body, _m, _n) = best_of(n, lambda: exports.render("pdf", shared))
        print(f"  render PDF   (for sharing)   {secs:6.2f} s   {size(len(body))}, {pages_of(body)} pages")

        def whole_pdf(sharing: bool):
            return exports.render("pdf", data(sharing))[0]

        t_whole, _ = best_of(n, lambda: whole_pdf(False))
        t_whole_shared, _ = best_of(n, lambda: whole_pdf(True))
        aim = 5.0
        for label, secs in (("exact", t_whole), ("for sharing", t_whole_shared)):
            verdict = "ok" if secs < aim else "OVER"
            print(f"whole PDF from nothing (data + PDF), {label:<11}: {secs:6.2f} s   (aim < {aim:.0f} s: {verdict})")

        if args.out_dir:
            os.makedirs(args.out_dir, exist_ok=True)
            for fmt, (body, name) in files.items():
                path = os.path.join(args.out_dir, name)
                with open(path, "wb") as fh:
                    fh.write(body)
                print(f"wrote {path} ({len(body):,} bytes)")


if __name__ == "__main__":
    main()
