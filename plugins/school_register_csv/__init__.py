"""Bundled plugin: a school's own register spreadsheet (CSV), in and out.

Import: the school's CSV layout, mapped per school (columns, date format, the register's words
for present, late and absent, separator, encoding), becomes tracker's attendance.csv and goes
through ``run_import``: the same checks, all or nothing, errors given with the school's own
line numbers and column names. Export: the month's attendance summary per class, as one CSV
for Excel. See README.md.
"""
from __future__ import annotations

import os
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from plugins.school_register_csv.export import monthly_summary, parse_month, previous_month
from plugins.school_register_csv.reading import Translation, translate
from plugins.school_register_csv.settings import (SchoolRegisterSettingsForm, SettingsProblem, parse_settings,
                                                  parse_status_map)
from tracker import hookimpl
from tracker.imports.formats import FileRefused
from tracker.imports.importer import limits, run_import, too_large
from tracker.integrations.types import Integration, RunResult, Scope

__all__ = ["SchoolRegisterCsv", "SchoolRegisterSettingsForm", "parse_month", "parse_settings", "parse_status_map",
           "previous_month"]

SLUG = "school_register_csv"


def _file_name(stream) -> str | None:
    name = getattr(stream, "filename", None) or getattr(stream, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else None


class SchoolRegisterCsv(Integration):
    """Attendance from a school's own register CSV; the month's summary per class back to the school."""

    slug = SLUG
    label = _l("School register (CSV)")
    description = _l("Imports attendance from the school's own register spreadsheet, saved as CSV, after you map "
                     "its columns and words once; exports the month's attendance per class for the school "
                     "secretary.")
    can_import = True
    can_export = True
    settings_form = SchoolRegisterSettingsForm
    personal_fields = ("names",)

    def export(self, scope: Scope, params: dict) -> tuple[str, str, bytes]:
        """``params``: ``{"month": "YYYY-MM"}`` (default the previous month). A bad month raises OperationError."""
        return monthly_summary(scope, params)

    def import_file(self, stream: BinaryIO, scope: Scope, dry_run: bool) -> RunResult:
        file = _file_name(stream)
        result = RunResult(ok=True, dry_run=dry_run, counts={"created": 0, "updated": 0, "unchanged": 0})
        try:
            mapping = parse_settings(scope.settings)
        except SettingsProblem as exc:
            for name, message in exc.problems:
                result.error(message, file=file, column=name)
            result.message = _("The school's register settings are incomplete; an administrator sets them "
                               "on the integration's page.")
            return result
        max_bytes, _rows = limits()
        data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            result.error(too_large(len(data), max_bytes), file=file)
            return _nothing_saved(result, 1, 0)
        try:
            t = translate(data, mapping, scope.school, scope.user)
        except FileRefused as exc:
            result.error(exc.message, file=file)
            return _nothing_saved(result, 1, 0)
        if not t.report and t.source_rows == 0:
            result.error(_("The file has a header but no rows."), file=file)
            return _nothing_saved(result, 1, 0)
        return self._run(t, scope, dry_run, result, file)

    @staticmethod
    def _run(t: Translation, scope: Scope, dry_run: bool, result: RunResult, file: str | None) -> RunResult:
        mine = t.report
        for e in mine.errors:
            result.error(e.message, file=file, line=e.line, column=e.column)
        count, rows = mine.count, len(mine.bad_lines)
        if t.rows:
            # With rows already wrong, a dry run still checks the others, so every error shows at once.
            imported = run_import("attendance", t.csv_bytes(), user=scope.user, dry_run=dry_run or bool(mine))
            for e in imported.errors:
                result.error(e.message, file=file, line=t.source_line(e.line), column=t.source_column(e.column))
            count += imported.error_count
            rows += imported.error_rows
            result.counts = dict(imported.counts)
            if count == 0:
                result.message = imported.summary()
                if dry_run:
                    result.message += ". " + _("Dry run: nothing was saved.")
                return result
        if count:
            return _nothing_saved(result, count, rows)
        return result


def _nothing_saved(result: RunResult, count: int, rows: int) -> RunResult:
    result.ok = False
    result.message = _("Nothing was saved: %(n)d errors in %(rows)d rows.", n=count, rows=rows)
    return result


@hookimpl
def register_integrations():
    return [SchoolRegisterCsv]
