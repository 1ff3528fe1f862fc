"""The partner API at /api/v1: aggregates and report files for scripts, authenticated by personal tokens.

Only ``Authorization: Bearer <token>`` counts: a session cookie sent along is ignored. Every
answer under /api/ is JSON or a file, never an HTML page: errors are
``{"error": {"status": 4xx, "message": "..."}}``, unknown paths and methods included, and
every response is ``Cache-Control: no-store``. What a token's user may see is decided by
tracker.scope and tracker.reports, as on the pages. The document describing all this is
tracker/api/openapi.json, served at /api/v1/openapi.json.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from tracker import dates, scope
from tracker.api import tokens
from tracker.ratelimit import operations as ratelimit
from tracker.extensions import csrf, db
from tracker.schools.models import School

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies count here, so there is nothing to forge

OPENAPI = Path(__file__).with_name("openapi.json")
REALM = 'Bearer realm="tracker"'
REPORT_PARAMS = ("period", "from", "to", "as_of", "school", "municipality", "sharing")
INDICATOR_PARAMS = (*REPORT_PARAMS, "by")
MAX_VALUE = 200
MAX_SCHOOLS = 100
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no", "")


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def is_api_path() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str, headers: dict | None = None):
    response = jsonify({"error": {"status": status, "message": str(message)}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def http_error(exc: HTTPException):
    code = exc.code or 500
    if code == 404:
        message = _("There is no such API endpoint. The endpoints are listed in /api/v1/openapi.json.")
    elif code == 405:
        allowed = ", ".join(sorted(m for m in (getattr(exc, "valid_methods", None) or []) if m != "OPTIONS"))
        message = _("The method %(method)s is not allowed here. Allowed: %(allowed)s.", method=request.method,
                    allowed=allowed or "-")
    else:
        message = exc.description or exc.name
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_response(code, message, headers)


# --- every request under /api/ -------------------------------------------------------------


@bp.before_app_request
def routing_errors_as_json():
    """Unknown paths and methods under /api/ never reach a blueprint's handlers: answer them here."""
    exc = request.routing_exception
    if exc is not None and is_api_path() and isinstance(exc, HTTPException) and (exc.code or 500) >= 400:
        return http_error(exc)
    return None


@bp.after_app_request
def no_store(response):
    if is_api_path():
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.headers)


@bp.errorhandler(HTTPException)
def api_http_error(exc: HTTPException):
    return http_error(exc)


@bp.errorhandler(Exception)
def api_unexpected(exc: Exception):
    log.exception("API request %s failed", request.path)
    db.session.rollback()
    return error_response(500, _("Something went wrong on the server. Try again later."))


# --- authentication ------------------------------------------------------------------------


def _unauthorized(why: str) -> ApiError:
    messages = {
        "missing": _("Send your API token in the header Authorization: Bearer <token>."),
        "malformed": _("The Authorization header must be the word Bearer, a space and a token that starts with trk_."),
        "unknown": _("The API token is not valid."),
        "revoked": _("The API token was revoked. Ask an administrator for a new one."),
        "expired": _("The API token has expired. Ask an administrator for a new one."),
        "inactive": _("The API token's user is deactivated."),
    }
    challenge = REALM if why == "missing" else f'{REALM}, error="invalid_token"'
    return ApiError(401, messages.get(why, messages["unknown"]), {"WWW-Authenticate": challenge})


def bearer_token() -> tuple[str | None, str]:
    """(token, "ok") from the Authorization header, else (None, "missing" or "malformed")."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return None, "missing"
    scheme, _sep, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        return None, "malformed"
    return value, "ok"


@bp.before_request
def authenticate():
    if request.endpoint in ("api.openapi",):
        return None
    token, why = bearer_token()
    if token is None:
        raise _unauthorized(why)
    user, why = tokens.check(token)
    if user is None:
        raise _unauthorized(why)
    g.api_user = user
    g.api_token_hash = tokens.hash_token(token)
    count = ratelimit.api_check(g.api_token_hash)
    if count.used_up:
        raise ApiError(429, _("Too many requests with this API token. Try again in %(seconds)d seconds.",
                              seconds=count.retry_after),
                       {"Retry-After": str(count.retry_after)})
    return None


@bp.after_request
def count_request(response):
    """Count a signed request as it ends (so the counter row is written only for the moment of the commit, not
    held locked while a report is computed); the count stands whatever the answer (``keep``)."""
    token_hash = g.pop("api_token_hash", None)
    if token_hash is not None and response.status_code != 429:
        try:
            ratelimit.api_request(token_hash)
        except Exception:  # noqa: BLE001 - an answer already computed is not turned into an error by its count
            log.exception("the API request could not be counted")
            db.session.rollback()
    return response


def api_user():
    return g.api_user


def require_reports(user) -> None:
    from tracker.reports.data import may_report

    if not may_report(user):
        raise ApiError(403, _("Your role has no access to reports."))


# --- parameters ----------------------------------------------------------------------------


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _check_params(allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise _bad(_("Unknown parameter %(name)s. Allowed: %(allowed)s.", name=unknown[0], allowed=", ".join(allowed)))
    for name, value in request.args.items(multi=True):
        if len(value) > MAX_VALUE:
            raise _bad(_("%(name)s is too long.", name=name))
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise _bad(_("%(name)s contains control characters.", name=name))


def _single(name: str) -> str:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise _bad(_("%(name)s is given more than once.", name=name))
    return values[0].strip() if values else ""


def _date(name: str, *, required: bool) -> dt.date | None:
    """A date parameter, in the range tracker.dates accepts; absent is None, empty is an error."""
    value = _single(name)
    if not value:
        if required:
            raise _bad(_("%(name)s is required: a date like 2026-06-30.", name=name))
        if name in request.args:  # "as_of=": a script that meant to send a date and sent nothing
            raise _bad(dates.empty_date(name).message)
        return None
    try:
        return dates.parse_iso(value, name)
    except dates.DateInputError as exc:
        raise _bad(exc.message) from None


def _by() -> list[str]:
    from tracker.indicators.dimensions import DIMENSIONS

    names = [n.strip() for v in request.args.getlist("by") for n in v.split(",") if n.strip()]
    for name in names:
        if name not in DIMENSIONS:
            raise _bad(_("by: unknown dimension %(name)s. Choose from %(choices)s.", name=name,
                         choices=", ".join(DIMENSIONS)))
    if len(set(names)) != len(names):
        raise _bad(_("by: a dimension is repeated."))
    return names


def _sharing() -> bool:
    value = _single("sharing").lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise _bad(_("sharing must be 1 or 0."))


def report_params() -> dict:
    """The parameters shared by /indicators and /report.*, checked; a clear 400 otherwise."""
    period = _single("period") or None
    frm = _date("from", required=False)
    to = _date("to", required=False)
    as_of = _date("as_of", required=False)
    if period is None and (frm is None) != (to is None):
        raise _bad(_("Send both from and to, or a period (2025/26, 2025/26-1 or 2025-09)."))
    if frm is not None and to is not None:
        try:
            dates.check_period(frm, to, as_of)
        except dates.DateInputError as exc:
            raise _bad(exc.message) from None
    schools = list(dict.fromkeys(s.strip() for s in request.args.getlist("school") if s.strip()))
    if len(schools) > MAX_SCHOOLS:
        raise _bad(_("At most %(n)d schools at a time.", n=MAX_SCHOOLS))
    return {"period": period, "frm": frm, "to": to, "as_of": as_of, "school_codes": schools,
            "municipality": _single("municipality") or None, "sharing": _sharing()}


def jsonable(value):
    """Dates as ISO strings (Flask would write HTTP dates), decimals as numbers, enums as their values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _report_error(exc: Exception, status: int = 400) -> ApiError:
    db.session.rollback()
    return ApiError(status, getattr(exc, "message", None) or str(exc))


# --- endpoints -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def openapi_document() -> bytes:
    return OPENAPI.read_bytes()


@bp.get("/openapi.json")
def openapi():
    return current_app.response_class(openapi_document(), mimetype="application/json")


@bp.get("/me")
def me():
    user = api_user()
    codes = db.session.scalars(sa.select(School.code).where(School.id.in_(scope.school_ids(user)))
                               .order_by(School.code)).all()
    return jsonify({"email": user.email, "role": user.role.value, "schools": list(codes)})


@bp.get("/indicators")
def indicators():
    user = api_user()
    require_reports(user)
    _check_params(INDICATOR_PARAMS)
    params = report_params()
    by = _by()
    from tracker.reports import data

    try:
        result = data.indicator_rows(user, by=by, **params)
    except data.ReportError as exc:
        raise _report_error(exc) from None
    except data.ReportForbidden as exc:
        raise _report_error(exc, 403) from None
    if not isinstance(result, dict):  # a bare list of rows
        result = {"rows": result}
    body = {"by": by, **result}
    return jsonify(jsonable(body))


@bp.get("/report.<any(pdf, xlsx, csv):fmt>")
def report(fmt):
    user = api_user()
    require_reports(user)
    _check_params(REPORT_PARAMS)
    params = report_params()
    from tracker.reports import data, exports

    try:
        built = data.build_report(user, **params)
        body, mimetype, filename = exports.render(fmt, built)
    except data.ReportError as exc:
        raise _report_error(exc) from None
    except data.ReportForbidden as exc:
        raise _report_error(exc, 403) from None
    if isinstance(body, str):
        body = body.encode("utf-8")
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response
