"""Small pieces shared by tracker's commands: ISO dates and "--as EMAIL"."""
from __future__ import annotations

import datetime as dt

import click


def iso_date(ctx, param, value):
    """A click callback: an ISO date, or None when the option is absent."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


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
