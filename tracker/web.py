"""Request handling shared by every page: sign-in, session limits, security headers, errors, menu."""
from __future__ import annotations

import datetime as dt
import functools

from flask import Flask, render_template, request, session, url_for
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user, logout_user
from werkzeug.exceptions import HTTPException

from tracker.extensions import db, login_manager
from tracker.plugins import PluginError, collect, get_pm

CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


@login_manager.user_loader
def load_user(user_id: str):
    from tracker.auth.models import User

    try:
        uid, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def init_web(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @app.before_request
    def enforce_session_limits():
        if not current_user.is_authenticated:
            return None
        session.permanent = True  # idle limit: PERMANENT_SESSION_LIFETIME, refreshed on each request
        started = session.get("login_at")
        limit = app.config["SESSION_ABSOLUTE_LIFETIME"]
        now = dt.datetime.now(dt.timezone.utc).timestamp()
        if started is None or now - started > limit.total_seconds():
            logout_user()
            session.clear()
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.accept_mimetypes.best == "application/json":
            return {"error": exc.name, "message": exc.description}, exc.code
        return render_template("errors/error.html", error=exc), exc.code

    @app.context_processor
    def menu():
        def menu_items():
            if not current_user.is_authenticated:
                return []
            items = []
            for plugin, item in collect(get_pm(), "menu_items", user=current_user):
                if not isinstance(item, dict) or "endpoint" not in item or "label" not in item:
                    raise PluginError(f"plugin {plugin!r}: menu_items must return dicts with endpoint and label")
                items.append({"order": 100, **item, "url": url_for(item["endpoint"], **item.get("args", {}))})
            return sorted(items, key=lambda i: (i["order"], i["label"]))

        return {"menu_items": menu_items}

    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="short": _datetime(d, fmt, str(get_locale()),
                                                                         str(get_timezone())) if d else ""
    app.jinja_env.globals["label"] = labels.label
    app.jinja_env.globals["country_name"] = labels.country_name
    app.jinja_env.globals["language_name"] = labels.language_name


@functools.lru_cache(maxsize=4096)
def _datetime(value: dt.datetime, fmt: str, locale: str, timezone: str) -> str:
    """Stored times are naive UTC; shown in the user's time zone. Cached: a register repeats one time 35 times."""
    return format_datetime(value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value, fmt)


from tracker import labels  # noqa: E402
