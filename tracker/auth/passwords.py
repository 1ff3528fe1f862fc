"""Password policy: long enough, not a common password, no composition rules."""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

_COMMON: frozenset[str] | None = None


def common_passwords() -> frozenset[str]:
    global _COMMON
    if _COMMON is None:
        text = (Path(__file__).parent / "common_passwords.txt").read_text(encoding="utf-8")
        _COMMON = frozenset(line.strip().lower() for line in text.splitlines() if line.strip())
    return _COMMON


def password_problem(password: str, email: str = "") -> str | None:
    """Why this password is refused, or None when it is acceptable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(n)d characters.", n=minimum)
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return _("This password is too common. Choose a longer phrase of your own.")
    if email and lowered in (email.lower(), email.split("@")[0].lower()):
        return _("The password must not be your email address.")
    return None
