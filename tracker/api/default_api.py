"""Default plugin: the partner API (/api/v1), the API tokens page for admins and ``tracker tokens``."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from tracker import hookimpl
from tracker.types import Role

tokens_cli = AppGroup("tokens", help="Personal API tokens for /api/v1.")


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@tokens_cli.command("issue")
@click.option("--user", "email", required=True, metavar="EMAIL", help="The user the token acts as.")
@click.option("--name", required=True, metavar="TEXT", help="What the token is for.")
@click.option("--days", type=click.IntRange(1, 365), default=90, show_default=True, help="Days until it expires.")
def issue_command(email, name, days):
    """Issue a token and print it once (on standard output; the rest goes to standard error)."""
    from tracker.api import tokens
    from tracker.errors import OperationError

    user = tokens.find_user(email)
    if user is None:
        raise click.UsageError(f"no user {email}")
    try:
        token, row = tokens.issue(user, name, days)
    except OperationError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(_("Token %(id)d for %(email)s, valid until %(when)s UTC. Copy it now: it will not be shown again.",
                 id=row.id, email=user.email, when=_when(row.expires_at)), err=True)
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def revoke_command(token_id):
    """Revoke the token with this id (see tracker tokens list)."""
    from tracker.api import tokens
    from tracker.api.models import ApiToken
    from tracker.extensions import db

    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.UsageError(f"no token {token_id}")
    if tokens.revoke(row):
        click.echo(_("Token %(id)d revoked.", id=row.id))
    else:
        click.echo(_("Token %(id)d was revoked already.", id=row.id))


@tokens_cli.command("list")
def list_command():
    """Every token: id, user, what it is for, created, expires, last used, status. Never the token itself."""
    from tracker.api import tokens
    from tracker.children.models import utcnow
    from tracker.extensions import db

    now = utcnow()
    rows = db.session.scalars(tokens.tokens()).all()
    if not rows:
        click.echo(_("No API tokens yet."))
        return
    click.echo("\t".join(["id", "user", "name", "created", "expires", "last_used", "status"]))
    for row in rows:
        status = row.status(now)
        if status == "revoked":
            status = f"revoked {_when(row.revoked_at)}"
        click.echo("\t".join([str(row.id), row.user.email, row.name, _when(row.created_at), _when(row.expires_at),
                              _when(row.last_used_at), status]))


@hookimpl
def register_blueprints(app):
    from tracker.api.admin import bp as admin
    from tracker.api.views import bp

    return [bp, admin]


@hookimpl
def register_commands(cli):
    return [tokens_cli]


@hookimpl
def menu_items(user):
    if user.role == Role.admin:
        return [{"endpoint": "api_tokens.index", "label": _("API tokens"), "order": 85}]
    return []
