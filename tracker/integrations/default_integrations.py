"""Default plugin: the integrations pages and ``tracker integrations``."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.clitools import user_by_email
from tracker.locks import single_run
from tracker.types import Role

integrations_cli = AppGroup("integrations", help="School integrations: enable them per school and run them.")


def _school(code):
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.schools.models import School

    school = db.session.scalar(sa.select(School).where(School.code == (code or "").strip()))
    if school is None:
        raise click.BadParameter(f"no school with the code {code!r}", param_hint="--school")
    return school


@integrations_cli.command("list")
def list_command():
    """The integrations the plugins offer, and where they are enabled."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.integrations.models import SchoolIntegration
    from tracker.integrations.types import all_integrations

    enabled = db.session.scalars(sa.select(SchoolIntegration).where(SchoolIntegration.enabled.is_(True))).all()
    for slug, integration in sorted(all_integrations().items()):
        what = "/".join(w for w, on in (("import", integration.can_import), ("export", integration.can_export)) if on)
        schools = ", ".join(sorted(e.school.code for e in enabled if e.slug == slug)) or "-"
        click.echo(f"{slug:<22} {what:<14} [{integration.plugin}]  enabled for: {schools}")


@integrations_cli.command("enable")
@click.argument("slug")
@click.option("--school", "code", required=True, metavar="CODE")
@click.option("--allow", "allow", multiple=True, metavar="FIELD",
              help="A personal field exports may carry (names, birth_date, sex, country); repeatable.")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE", help="A setting of the integration.")
def enable_command(slug, code, allow, settings):
    """Enable SLUG for a school (as an administrator)."""
    from tracker.errors import OperationError
    from tracker.integrations import operations as ops

    school = _school(code)
    pairs = {}
    for item in settings:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--setting")
        key, value = item.split("=", 1)
        pairs[key.strip()] = value
    try:
        integration = ops.get_integration(slug)
        values = ops.validate_settings(integration, pairs) if (pairs or integration.settings_form) else None
        ops.enable(slug, school, None, settings=values, allowed_fields=list(allow))
    except OperationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{slug} enabled for {school.code}" + (f" (exports may carry: {', '.join(allow)})" if allow else ""))


@integrations_cli.command("disable")
@click.argument("slug")
@click.option("--school", "code", required=True, metavar="CODE")
def disable_command(slug, code):
    """Disable SLUG for a school."""
    from tracker.integrations import operations as ops

    school = _school(code)
    ops.disable(slug, school, None)
    click.echo(f"{slug} disabled for {school.code}")


@single_run("integrations run", per=("slug", "code"))
@integrations_cli.command("run")
@click.argument("slug")
@click.option("--school", "code", required=True, metavar="CODE")
@click.option("--export", "export_to", type=click.Path(dir_okay=False, writable=True), help="Write the export here.")
@click.option("--import", "import_from", type=click.Path(exists=True, dir_okay=False), help="Import this file.")
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="An export parameter (e.g. month=2025-11).")
@click.option("--as", "as_email", metavar="EMAIL", help="Run as this user, within their scope.")
def run_command(slug, code, export_to, import_from, dry_run, params, as_email):
    """Run SLUG for a school: --export FILE or --import FILE [--dry-run]. Exit code 1 when the import is refused."""
    from tracker.errors import OperationError
    from tracker.integrations import operations as ops

    if bool(export_to) == bool(import_from):
        raise click.UsageError("give exactly one of --export FILE and --import FILE")
    school, user = _school(code), user_by_email(as_email)
    try:
        if export_to:
            values = dict(p.split("=", 1) for p in params if "=" in p)
            filename, _mimetype, body = ops.run_export(slug, school, user, values)
            with open(export_to, "wb") as fh:
                fh.write(body)
            click.echo(f"wrote {export_to} ({filename}, {len(body):,} bytes)")
            return
        with open(import_from, "rb") as fh:
            data = fh.read()
        with click.progressbar(length=1, label=f"Importing {import_from}", file=sys.stderr) as bar:
            result, _run = ops.run_import(slug, school, user, data, dry_run=dry_run)
            bar.update(1)
    except OperationError as exc:
        raise click.ClickException(exc.message) from None
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
    for e in result.errors[:50]:
        where = ":".join(str(x) for x in (e.get("file"), e.get("line"), e.get("column")) if x not in (None, ""))
        click.echo(f"{where or 'file'}: {e['message']}", err=True)
    if len(result.errors) > 50:
        click.echo(f"... and {len(result.errors) - 50} more", err=True)
    if not result.ok:
        click.echo("nothing was saved", err=True)
        sys.exit(1)
    click.echo(("dry run, nothing saved: " if dry_run else "saved: ") + (counts or "no changes"))
    if result.pending:
        click.echo(f"{len(result.pending)} waiting for a person: see /integrations/pending")


@hookimpl
def register_commands(cli):
    return [integrations_cli]


@hookimpl
def register_blueprints(app):
    from tracker.integrations.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison):
        return [{"endpoint": "integrations.index", "label": _("Integrations"), "order": 7}]
    return []
