"""Default plugin: the follow-up page and ``tracker flags refresh``."""
import datetime as dt
import sys

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.clitools import iso_date
from tracker.locks import single_run
from tracker.types import Role

flags_cli = AppGroup("flags", help="Early-warning flags.")


@single_run("flags refresh")
@flags_cli.command("refresh")
@click.option("--as-of", "as_of", callback=iso_date, metavar="YYYY-MM-DD", help="Evaluate as of this date (default today).")
def refresh_command(as_of):
    """Evaluate every risk rule for every child; raise, update and clear flags.

    Exit code 0 on success, 1 when a rule or the database failed (nothing is half-written).
    """
    from tracker.flags.operations import refresh

    day = as_of or dt.date.today()
    try:
        with click.progressbar(length=1, label=f"Evaluating risk rules as of {day}", file=sys.stderr) as bar:
            counts = refresh(day, progress=lambda slug: bar.update(0))
            bar.update(1)
    except Exception as exc:  # noqa: BLE001 - a scheduler needs an exit code and a one-line reason
        click.echo(f"flags refresh failed: {exc}", err=True)
        sys.exit(1)
    click.echo(", ".join(f"{k} {v}" for k, v in counts.items()))


@hookimpl
def register_commands(cli):
    return [flags_cli]


@hookimpl
def register_blueprints(app):
    from tracker.flags.views import bp

    return [bp]


@hookimpl
def menu_items(user):
    if user.role in (Role.admin, Role.liaison, Role.teacher):
        return [{"endpoint": "flags.index", "label": _("Follow up"), "order": 3}]
    return []
