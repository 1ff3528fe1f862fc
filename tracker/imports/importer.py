"""Run an import: read the file, check every row, then write all of it in one transaction or none of it.

Both the ``tracker import`` command and the upload page call ``run_import``; a dry run checks
and counts without writing. The writes go through the operations' batch functions (children,
enrolments, attendance, the calendar), flushed; the request or command commits them once.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from tracker import audit
from tracker.extensions import db
from tracker.imports import attendance, children, enrolments, reference
from tracker.imports.context import ImportContext, Progressbar
from tracker.imports.formats import FORMATS, FileRefused, decode, read_table
from tracker.imports.report import ImportResult, PreviewRow, Report
from tracker.types import Role

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
PREVIEW_ROWS = 20

VALIDATORS = {
    "schools": reference.schools,
    "centres": reference.centres,
    "academic_years": reference.academic_years,
    "non_school_days": reference.non_school_days,
    "children": children.validate,
    "enrolments": enrolments.validate,
    "attendance": attendance.validate,
}


def kinds_for(user) -> list[str]:
    """The kinds this user may import (user None: the command line, acting as an administrator)."""
    if user is None or user.role == Role.admin:
        return list(FORMATS)
    if user.role == Role.liaison:
        return [k for k, f in FORMATS.items() if not f.reference]
    return []


def limits() -> tuple[int, int]:
    cfg = current_app.config
    return int(cfg.get("IMPORT_MAX_BYTES") or MAX_BYTES), int(cfg.get("IMPORT_MAX_ROWS") or MAX_ROWS)


def too_large(size: int, max_bytes: int) -> str:
    return _("The file is %(size)s; at most %(limit)s may be imported at once. Split it into smaller files.",
             size=_megabytes(size), limit=_megabytes(max_bytes))


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 100 * 1024 else f"{n / 1024:.0f} KB"


def run_import(kind: str, data: bytes, *, user=None, dry_run: bool = False, progressbar: Progressbar | None = None,
               today: dt.date | None = None) -> ImportResult:
    """Check ``data`` as a ``kind`` file and, unless ``dry_run`` or any row is wrong, save all of it."""
    result = ImportResult(kind=kind, dry_run=dry_run)
    report = Report()
    max_bytes, max_rows = limits()
    ctx = ImportContext(kind=kind, user=user, report=report, today=today or dt.date.today(), progressbar=progressbar)
    try:
        _check_allowed(kind, ctx)
        if len(data) > max_bytes:
            raise FileRefused(too_large(len(data), max_bytes))
        table = read_table(decode(data), kind, report, max_rows=max_rows)
    except FileRefused as exc:
        report.add(None, None, exc.message)
        return _finish(result, report)
    if table is None:
        return _finish(result, report)
    result.columns, result.rows = table.columns, len(table.rows)
    if not table.rows:
        report.add(None, None, _("The file has a header but no rows."))
        return _finish(result, report)
    plan = VALIDATORS[kind](table, ctx)
    result.counts.update(plan.counts)
    result.preview = [PreviewRow(line, cells, "error" if line in report.bad_lines else plan.actions.get(line, ""))
                      for line, cells in table.rows[:PREVIEW_ROWS]]
    if report or dry_run:
        db.session.rollback()  # nothing is pending; ends the read transaction
        return _finish(result, report)
    try:
        plan.write(ctx)
        audit.record("imported", user=user, object_type=kind, object_id=str(len(table.rows)))
        db.session.flush()
    except sa.exc.DBAPIError:
        db.session.rollback()
        current_app.logger.exception("import of %s failed while saving", kind)  # no row values: personal data
        report.add(None, None, _("The data changed while importing, or the database was busy; nothing was saved. "
                                 "Try again."))
        return _finish(result, report)
    except BaseException:
        db.session.rollback()
        raise
    result.counts.update(plan.counts)
    result.codes = list(getattr(plan, "codes", []))
    result.saved = True
    return _finish(result, report)


def _check_allowed(kind: str, ctx: ImportContext) -> None:
    if kind not in FORMATS:
        raise FileRefused(_("Unknown kind of file “%(kind)s”: one of %(kinds)s.", kind=kind, kinds=", ".join(FORMATS)))
    if kind not in kinds_for(ctx.user):
        if FORMATS[kind].reference and ctx.user is not None and ctx.user.role == Role.liaison:
            raise FileRefused(_("Only administrators import %(kind)s.csv.", kind=kind))
        raise FileRefused(_("You may not import data."))
    if not ctx.is_admin and not ctx.school_scope():
        raise FileRefused(_("You have no schools assigned; ask an administrator."))


def _finish(result: ImportResult, report: Report) -> ImportResult:
    result.errors = list(report.errors)
    result.error_count = report.count
    result.error_rows = len(report.bad_lines)
    return result
