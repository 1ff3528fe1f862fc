"""Bundled plugin: OneRoster 1.1 CSV, the roster format of many school information systems.

Export: one school's classes, students, teachers and enrolments as a bulk OneRoster zip
(children's names and demographics only as an administrator allows). Import: a school's
OneRoster zip creates its homeroom classes and enrols the students tracker can match; the rest
waits for a person. See README.md.
"""
from __future__ import annotations

from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from plugins.oneroster import export as _export
from plugins.oneroster import importer as _importer
from plugins.oneroster.forms import OneRosterSettingsForm
from tracker import hookimpl
from tracker.imports.importer import limits
from tracker.integrations.types import Integration, RunResult, Scope


class OneRoster(Integration):
    slug = _importer.SLUG
    label = _l("OneRoster 1.1 (CSV)")
    description = _l("Exchange a school's classes, students and enrolments with its school information system as a "
                     "OneRoster 1.1 CSV zip.")
    can_import = True
    can_export = True
    settings_form = OneRosterSettingsForm
    personal_fields = ("names", "birth_date", "sex", "country")

    def export(self, scope: Scope, params: dict) -> tuple[str, str, bytes]:
        return _export.build(scope, params or {})

    def import_file(self, stream: BinaryIO, scope: Scope, dry_run: bool) -> RunResult:
        result = RunResult(ok=True, dry_run=dry_run)
        max_bytes, _max_rows = limits()
        data = stream.read(max_bytes + 1)  # one byte over the limit is enough to refuse it
        _importer.import_zip(data, scope, result)
        return result


@hookimpl
def register_integrations():
    return [OneRoster]
