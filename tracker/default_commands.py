"""Default plugin: the ``create-user`` and ``plugins`` commands."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker import hookimpl
from tracker.types import Role


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="What the user may do.")
@click.option("--name", default="", help="Display name (default: the part of the email before @).")
@click.option("--school", "schools", multiple=True, metavar="CODE", help="A school a liaison officer covers (repeat).")
@click.option("--class", "classes", multiple=True, type=int, metavar="ID", help="A class a teacher teaches (repeat).")
@click.option("--password-file", type=click.File("r"), help="Read the password from this file (first line).")
@with_appcontext
def create_user_command(email, role, name, schools, classes, password_file):
    """Create a user. Asks for the password unless --password-file is given."""
    from tracker.auth.operations import UserError, create_user

    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(email, role, password, name=name, school_codes=schools, class_ids=classes)
    except UserError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Created {user.role.value} {user.email}")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@with_appcontext
def plugins_command(as_json):
    """List each loaded plugin, where it came from and the hooks it implements."""
    import json

    from tracker.plugins import describe

    rows = describe(current_app.extensions["tracker_plugins"])
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']}  [{row['source']}]")
        click.echo(f"    hooks: {', '.join(row['hooks']) or '-'}")


@hookimpl
def register_commands(cli):
    return [create_user_command, plugins_command]
