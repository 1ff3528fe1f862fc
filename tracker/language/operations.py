"""The user's language and script: stored on the user, so every device shows the same."""
from __future__ import annotations

from flask import current_app

from tracker import audit
from tracker.extensions import db


class UnknownLocale(ValueError):
    pass


def set_locale(user, locale: str) -> None:
    """Store ``locale`` (one of LANGUAGES) as the user's choice; audited without the value."""
    if locale not in current_app.config["LANGUAGES"]:
        raise UnknownLocale(locale)
    if user.locale != locale:
        user.locale = locale
        audit.record("language_changed", user)
        db.session.flush()
