"""Small pieces shared by tracker's commands: ISO dates, periods and "--as EMAIL"."""
from __future__ import annotations

import datetime as dt

import click

from tracker import dates


def iso_date(ctx, param, value):
    """A click callback: an ISO date in the range tracker.dates accepts, or None when the option is absent.

    A bad date is a usage error (exit code 2) naming the option."""
    if value is None:
        return None
    name = param.opts[0] if param is not None and param.opts else "date"
    if not value.strip():
        raise click.UsageError(dates.empty_date(name).message, ctx)
    try:
        return dates.parse_iso(value, name)
    except dates.DateInputError as exc:
        raise click.UsageError(exc.message, ctx) from None


def check_period(frm: dt.date, to: dt.date, as_of: dt.date | None = None,
                 names: tuple[str, str, str] = ("--from", "--to", "--as-of")) -> None:
    """The period rules of tracker.dates for a command's options; a usage error (exit code 2) otherwise."""
    try:
        dates.check_period(frm, to, as_of, names=names)
    except dates.DateInputError as exc:
        raise click.UsageError(exc.message, click.get_current_context(silent=True)) from None


def user_by_email(email: str | None, param_hint: str = "--as"):
    """The active user with this email (any case), None when no email is given; else a usage error."""
    if not email:
        return None
    import sqlalchemy as sa

    from tracker.auth.models import User
    from tracker.extensions import db

    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise click.BadParameter(f"no active user {email!r}", param_hint=param_hint)
    return user
