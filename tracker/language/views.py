"""The language and script switch shown on every page.

A signed-in user's choice is stored on the user (tracker.language.operations); before sign-in it is
kept in a cookie, so the sign-in page itself can be read in Serbian. The choice wins over the
browser's languages (tracker.i18n.select_locale).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from tracker.auth.views import _safe_next
from tracker.i18n import NAMES
from tracker.language import operations

bp = Blueprint("language", __name__)

COOKIE = "tracker_locale"
COOKIE_AGE = 365 * 24 * 3600



@bp.route("/language", methods=["POST"])
def choose():
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        return _("Choose one of the languages offered."), 400
    if current_user.is_authenticated:
        operations.set_locale(current_user._get_current_object(), locale)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(COOKIE, locale, max_age=COOKIE_AGE, secure=current_app.config.get("SESSION_COOKIE_SECURE", True),
                        httponly=True, samesite="Lax")
    with force_locale(locale):
        flash(_("The pages are now in %(language)s.", language=NAMES.get(locale, locale)))
    return response
