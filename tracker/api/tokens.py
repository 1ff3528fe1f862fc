"""Issuing, revoking and checking personal API tokens: every write about tokens.

A token is ``trk_`` followed by 32 random bytes in URL-safe base64 (43 characters). Only its
SHA-256 is stored; the token itself is returned once by :func:`issue` and kept nowhere.
The audit trail records who issued or revoked which token id, never the token.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit
from tracker.api.models import ApiToken
from tracker.auth.models import User
from tracker.children.models import utcnow
from tracker.errors import OperationError
from tracker.extensions import db

PREFIX = "trk_"
DEFAULT_DAYS = 90
MAX_DAYS = 365
NAME_MAX = 100
# How stale last_used_at may get before a request writes it again (one write a minute at most).
LAST_USED_PRECISION = dt.timedelta(minutes=1)
TOKEN_PATTERN = re.compile(r"trk_[A-Za-z0-9_-]{43}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token_string() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def issue(user: User, name: str, days: int | None = DEFAULT_DAYS, by: User | None = None) -> tuple[str, ApiToken]:
    """Issue a token for ``user``, valid ``days`` days (1 to 365, default 90).

    Returns (the token string, the saved row); the string is never shown again.
    """
    name = (name or "").strip()
    if not name:
        raise OperationError("name", _("Say what the token is for."))
    if len(name) > NAME_MAX:
        raise OperationError("name", _("At most %(n)d characters.", n=NAME_MAX))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise OperationError("name", _("Remove the invisible control characters from this field."))
    days = DEFAULT_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise OperationError("days", _("A token is valid for 1 to %(max)d days.", max=MAX_DAYS))
    if user is None or not user.active:
        raise OperationError("user", _("This user is deactivated."))
    token = new_token_string()
    now = utcnow()
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=now,
                   created_by_id=getattr(by, "id", None), expires_at=now + dt.timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record("api_token_issued", row, user=by, object_id=str(row.id))
    db.session.flush()
    return token, row


def revoke(token: ApiToken, by: User | None = None) -> bool:
    """Revoke a token from now on. False (and nothing written) when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record("api_token_revoked", token, user=by, object_id=str(token.id))
    db.session.flush()
    return True


def check(token_string: str | None) -> tuple[User | None, str]:
    """(user, "ok"), or (None, why): "missing", "malformed", "unknown", "revoked", "expired" or "inactive".

    A successful check records the time of use (at most once a minute per token).
    """
    if not token_string:
        return None, "missing"
    if not TOKEN_PATTERN.fullmatch(token_string):
        return None, "malformed"
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token_string)))
    if row is None:
        return None, "unknown"
    now = utcnow()
    if row.revoked_at is not None:
        return None, "revoked"
    if row.expires_at <= now:
        return None, "expired"
    user = row.user
    if user is None or not user.active:
        return None, "inactive"
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
        db.session.flush()
    return user, "ok"


def authenticate(token_string: str | None) -> User | None:
    """The token's user, or None for a missing, malformed, unknown, revoked or expired token or an inactive user."""
    return check(token_string)[0]


def tokens() -> sa.Select:
    """Every token, grouped by user (by email), newest first."""
    return (sa.select(ApiToken).join(User, User.id == ApiToken.user_id)
            .order_by(User.email, ApiToken.created_at.desc(), ApiToken.id.desc()))


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == (email or "").strip().lower()))
