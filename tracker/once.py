"""Forms that act once: a form that shows a secret when sent (a new API token, a one-time password) carries a
single-use value kept in the session, so sending it again (a reload, the back button) does nothing.

The session keeps the last ``keep`` values per ``key``: a few tabs open at once still work.
"""
from __future__ import annotations

import secrets

from flask import session

KEEP = 5


def new_once(form, key: str, keep: int = KEEP) -> None:
    """Give ``form.once`` a fresh value and remember it under ``key``."""
    value = secrets.token_urlsafe(16)
    session[key] = [*session.get(key, [])[-(keep - 1):], value]
    form.once.data = value


def use_once(value: str | None, key: str) -> bool:
    """Whether ``value`` was given under ``key`` and not used yet; using it forgets it."""
    pending = session.get(key, [])
    if not value or value not in pending:
        return False
    session[key] = [v for v in pending if v != value]
    return True
