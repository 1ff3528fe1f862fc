"""Request handling shared by every page: sign-in, session limits, security headers, errors, menu."""
from __future__ import annotations

import datetime as dt
import functools

from flask import Flask, current_app, render_template, request, session, url_for
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user, logout_user
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from tracker.extensions import db, login_manager
from tracker.plugins import PluginError, collect, get_pm
from tracker.types import Role

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
        if (response.mimetype == "text/html" and not response.direct_passthrough
                and str(get_locale() or "").startswith("sr")):
            from tracker.i18n import one_full_stop

            response.set_data(one_full_stop(response.get_data(as_text=True)))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.accept_mimetypes.best == "application/json":
            return {"error": exc.name, "message": exc.description}, exc.code
        return render_template("errors/error.html", error=exc), exc.code

    @app.context_processor
    def menu():
        return {"menu_items": lambda: menu_entries(current_user) if current_user.is_authenticated else []}

    app.jinja_env.globals["url_for_if"] = url_for_if
    app.jinja_env.globals["link_if"] = link_if
    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="short": _datetime(d, fmt, str(get_locale()),
                                                                         str(get_timezone())) if d else ""
    app.jinja_env.globals["label"] = labels.label
    # BCP 47 for <html lang>: "sr-Latn", "sr-Cyrl", "en" (screen readers and WeasyPrint's PDF language read it).
    app.jinja_env.globals["html_lang"] = lambda: str(get_locale() or "en").replace("_", "-")
    app.jinja_env.globals["language_choices"] = language_choices
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.globals["country_name"] = labels.country_name
    app.jinja_env.globals["language_name"] = labels.language_name


def url_for_if(endpoint: str, **values) -> str | None:
    """The URL of ``endpoint``, or None when no loaded plugin serves it (its plugin is blocked).

    For a page's links to another plugin's pages: ``{% if url_for_if('attendance.today') %}…{% endif %}``.
    """
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def link_if(text, endpoint: str, **values) -> Markup:
    """``<a href="…">text</a>`` to ``endpoint``, or the text alone when no loaded plugin serves it."""
    href = url_for_if(endpoint, **values)
    return Markup('<a href="{}">{}</a>').format(href, text) if href else escape(text)


def menu_entries(user) -> list[dict]:
    """The navigation menu of ``user``: what the loaded plugins' ``menu_items`` return, in order.

    One ordinary pluggy call (the page renders the menu once). The entries were checked at start-up
    (``check_menu_items``); here an entry naming a page no loaded plugin serves is only left out.
    """
    entries = []
    for result in get_pm().hook.menu_items(user=user):
        for item in result or ():
            if isinstance(item, dict) and item.get("endpoint") in current_app.view_functions:
                entries.append({"order": 100, **item, "url": url_for(item["endpoint"], **item.get("args", {}))})
    return sorted(entries, key=lambda e: (e["order"], str(e["label"])))


def check_menu_items() -> None:
    """At start-up: every plugin's ``menu_items``, for a stand-in user of each role, gives entries that build.

    The stand-in has a role and nothing else (no id, schools or classes): ``menu_items`` decides
    on the role. A broken entry raises ``PluginError`` naming the plugin.
    """
    from tracker.auth.models import User

    for role in Role:
        user = User(email=f"{role.value}@startup.invalid", name=role.value, role=role, active=True)
        for plugin, item in collect(get_pm(), "menu_items", user=user):
            problem = _menu_item_problem(item)
            if problem:
                raise PluginError(f"plugin {plugin!r}: menu_items (for the {role.value} role) {problem}")


def _menu_item_problem(item) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("endpoint"), str) or not item.get("label"):
        return f"must return dicts with endpoint and label, got {item!r}"
    if not isinstance(item.get("order", 100), int) or not isinstance(item.get("args", {}), dict):
        return f"gave {item!r}: order must be an int and args a dict"
    if item["endpoint"] not in current_app.view_functions:
        return (f"names endpoint {item['endpoint']!r}, which no loaded plugin serves (misspelt, or the plugin "
                f"serving it is blocked)")
    try:
        url_for(item["endpoint"], **item.get("args", {}))
    except BuildError as exc:
        return f"gave an entry whose URL cannot be built: {exc}"
    return None


@functools.lru_cache(maxsize=4096)
def _datetime(value: dt.datetime, fmt: str, locale: str, timezone: str) -> str:
    """Stored times are naive UTC; shown in the user's time zone. Cached: a register repeats one time 35 times."""
    return format_datetime(value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value, fmt)


from tracker import labels  # noqa: E402
from tracker.i18n import language_choices  # noqa: E402
