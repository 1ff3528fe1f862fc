"""Default plugin: CSV import, as the ``tracker import`` command and the /import page."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.clitools import user_by_email
from tracker.imports.formats import KINDS
from tracker.types import Role


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and count the changes; save nothing.")
@click.option("--as", "as_email", metavar="EMAIL", help="Import as this user, within their scope (default: as an "
                                                        "administrator).")
@with_appcontext
def import_command(kind, file, dry_run, as_email):
    """Import FILE, a KIND.csv file: every row or none of them."""
    from tracker.imports.importer import limits, run_import, too_large

    user = user_by_email(as_email)
    max_bytes, _rows = limits()
    size = file.stat().st_size
    if size > max_bytes:
        click.echo(too_large(size, max_bytes), err=True)
        sys.exit(1)

    def progressbar(label, length):
        return click.progressbar(length=length, label=label, file=sys.stderr)

    result = run_import(kind, file.read_bytes(), user=user, dry_run=dry_run, progressbar=progressbar)
    if not result.ok:
        for error in result.errors:
            click.echo(str(error), err=True)
        if result.more_errors:
            click.echo(_("… and %(n)d more errors.", n=result.more_errors), err=True)
        click.echo(_("Nothing was saved: %(n)d errors in %(rows)d rows.", n=result.error_count,
                     rows=result.error_rows), err=True)
        sys.exit(1)
    click.echo(f"{kind}: {result.rows} rows: {result.summary()}")
    for line, code in result.codes:
        click.echo(_("line %(n)d: new child %(code)s", n=line, code=code))
    if dry_run:
        click.echo(_("Dry run: nothing was saved."))


@hookimpl
def startup(app):
    from tracker.imports import importer

    app.config.setdefault("IMPORT_MAX_BYTES", importer.MAX_BYTES)
    app.config.setdefault("IMPORT_MAX_ROWS", importer.MAX_ROWS)


@hookimpl
def register_commands(cli):
    return [import_command]


@hookimpl
def register_blueprints(app):
    from tracker.imports.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison):
        return [{"endpoint": "imports.index", "label": _("Import"), "order": 80}]
    return []
