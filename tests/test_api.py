"""Personal API tokens and the partner API (/api/v1) as scripts and admins meet them: tokens shown
once and stored as hashes, 401/403/400/404/405 as JSON, scope and suppression through the real
reports, the admin page, the ``tracker tokens`` command.

Every JSON answer a test receives, success or error, is validated against the schema the
OpenAPI document gives for that operation and status (JSON Schema 2020-12, ``$ref``s resolved
within the whole document).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import PASSWORD
from tracker.extensions import db
from tracker.plugins import DEFAULT_PLUGINS

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "tracker.api.default_api"
SPEC_PATH = ROOT / "tracker" / "api" / "openapi.json"
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:tracker:openapi"
REGISTRY = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012))
TOKEN_SHAPE = re.compile(r"trk_[A-Za-z0-9_-]{43}")


pytestmark = pytest.mark.usefixtures("production_like_requests")


@pytest.fixture
def app_config():
    return {} if PLUGIN in DEFAULT_PLUGINS else {"PLUGINS": [PLUGIN]}


# --- helpers ---------------------------------------------------------------------------------


def _pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def schema_for(path: str, method: str, status: int) -> dict:
    """A schema referring to the documented JSON body of this operation and status (the Error schema when the
    path or method is not an operation: unknown paths and methods)."""
    operation = SPEC["paths"].get(path, {}).get(method.lower())
    if operation is None:
        return {"$ref": f"{SPEC_URI}#/components/schemas/Error"}
    key = str(status) if str(status) in operation["responses"] else "default"
    assert key in operation["responses"], f"{method} {path}: status {status} is not documented"
    pointer = f"/paths/{_pointer(path)}/{method.lower()}/responses/{key}"
    response = operation["responses"][key]
    if "$ref" in response:
        pointer = response["$ref"][1:]
        response = SPEC["components"]["responses"][pointer.rsplit("/", 1)[1]]
    assert "application/json" in response["content"], f"{method} {path} {status}: no JSON body documented"
    return {"$ref": f"{SPEC_URI}#{pointer}/content/application~1json/schema"}


def validated(response, path: str, method: str = "get"):
    """The response's JSON, after checking it against the document (and the headers every API answer has)."""
    assert response.mimetype == "application/json", (response.status_code, response.data[:200])
    body = response.get_json()
    validator = Draft202012Validator(schema_for(path, method, response.status_code), registry=REGISTRY,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {response.status_code}: {errors[0].message} at {list(errors[0].path)}"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    if response.status_code >= 400:
        assert body["error"]["status"] == response.status_code
    return body


def api(client, path: str, token: str | None = None, method: str = "get", **params):
    """Call /api/v1<path> with the token as a bearer token; returns (response, validated JSON or None for files)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = client.open(f"/api/v1{path}", method=method.upper(), headers=headers, query_string=params)
    if r.mimetype == "application/json":
        return r, validated(r, path, method)
    return r, None


def issue(user, name="test script", days=90, by=None):
    from tracker.api import tokens

    issued = tokens.issue(user, name, days, by=by)
    db.session.commit()  # as the command or the request that issues it would
    return issued


def all_rows(*tables: str) -> list:
    with db.engine.connect() as conn:
        return [tuple(r) for t in tables for r in conn.execute(sa.text(f"SELECT * FROM {t}"))]


def period(world) -> dict:
    """Dates of the current school year: what staff may ask exact figures for."""
    today = dt.date.today()
    return {"from": world.year.first_day.isoformat(), "to": min(today, world.year.last_day).isoformat()}


def school_year(world) -> dict:
    """The current school year as a fixed period: what partners (and sharing=1) ask for. It is counted up to
    the end of last month (world's school year starts on 1 September, so from October on there is one)."""
    return {"period": world.year.label}


def end_of_last_month() -> dt.date:
    return dt.date.today().replace(day=1) - dt.timedelta(days=1)


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def once(html: str) -> str:
    m = re.search(r'name="once" type="hidden" value="([^"]+)"', html)
    assert m, "no one-time value on the form"
    return m.group(1)


# --- the document ----------------------------------------------------------------------------


def test_docs_copy_of_the_openapi_document_is_identical():
    assert (ROOT / "docs" / "openapi.json").read_bytes() == SPEC_PATH.read_bytes()


def test_openapi_document_is_served_without_a_token_and_describes_every_route(app, client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.get_json() == SPEC
    assert r.headers["Cache-Control"] == "no-store"
    assert SPEC["openapi"].startswith("3.1")
    for name, schema in SPEC["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    routes = {re.sub(r"<any\(([^)]*)\):\w+>", "{}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")}
    documented = {"/api/v1" + p for p in SPEC["paths"]}
    expanded = {r.replace("{}", ext) for r in routes for ext in ("pdf", "xlsx", "csv")}
    assert expanded == documented
    for path, item in SPEC["paths"].items():
        op = item["get"]
        if path != "/openapi.json":
            assert "401" in op["responses"], path
        for status, response in op["responses"].items():
            if "$ref" in response:
                name = response["$ref"].rsplit("/", 1)[1]
                assert name in SPEC["components"]["responses"], (path, status)


# --- tokens ----------------------------------------------------------------------------------


def test_issued_token_is_returned_once_and_only_its_hash_is_stored(app, world):
    from tracker.models import ApiToken, AuditEvent

    token, row = issue(world.partner, "UNICEF monthly", by=world.admin)
    assert TOKEN_SHAPE.fullmatch(token)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.user_id == world.partner.id and row.created_by_id == world.admin.id
    assert dt.timedelta(days=89, hours=23) < row.expires_at - row.created_at <= dt.timedelta(days=90)
    assert row.revoked_at is None and row.last_used_at is None
    stored = repr(all_rows("api_token", "audit_event"))
    assert token not in stored and token[4:] not in stored and token[4:20] not in stored
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token_issued"))
    assert (event.user_id, event.object_type, event.object_id) == (world.admin.id, "api_token", str(row.id))
    second, _ = issue(world.partner)
    assert second != token
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 2


@pytest.mark.parametrize("days", [0, -1, 366, 1000])
def test_a_token_lives_one_to_365_days(app, world, days):
    from tracker.errors import OperationError

    with pytest.raises(OperationError) as info:
        issue(world.partner, days=days)
    assert info.value.field == "days"
    _, row = issue(world.partner, days=365)
    assert row.expires_at - row.created_at == dt.timedelta(days=365)


def test_a_token_needs_a_name_and_an_active_user(app, world):
    from tracker.errors import OperationError

    for name in ("", "   ", "x" * 101, "tab\there"):
        with pytest.raises(OperationError) as info:
            issue(world.partner, name=name)
        assert info.value.field == "name", name
    world.partner.active = False
    db.session.commit()
    with pytest.raises(OperationError) as info:
        issue(world.partner)
    assert info.value.field == "user"


def test_me_answers_for_the_tokens_user_and_records_the_use(app, client, world):
    token, row = issue(world.liaison_a)
    r, body = api(client, "/me", token)
    assert r.status_code == 200
    assert body == {"email": world.liaison_a.email, "role": "liaison", "schools": [world.school_a.code]}
    db.session.refresh(row)
    assert row.last_used_at is not None
    _, body = api(client, "/me", issue(world.admin)[0])
    assert body["schools"] == sorted([world.school_a.code, world.school_b.code])
    _, body = api(client, "/me", issue(world.partner)[0])
    assert body == {"email": world.partner.email, "role": "partner", "schools": []}


def test_authenticate_operation(app, world):
    from tracker.api import tokens

    token, row = issue(world.partner)
    assert tokens.authenticate(token) == world.partner
    assert tokens.authenticate(None) is None
    assert tokens.authenticate("") is None
    assert tokens.authenticate(token + "x") is None
    assert tokens.authenticate("trk_" + "A" * 43) is None
    assert tokens.revoke(row, by=world.admin) is True
    assert tokens.revoke(row, by=world.admin) is False
    assert tokens.authenticate(token) is None


def _expire(row):
    row.expires_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
    db.session.commit()


def _revoke(row):
    from tracker.api import tokens

    tokens.revoke(row)
    db.session.commit()


def _deactivate(row):
    row.user.active = False
    db.session.commit()


@pytest.mark.parametrize("spoil", [_expire, _revoke, _deactivate], ids=["expired", "revoked", "inactive user"])
def test_expired_revoked_or_inactive_tokens_get_401(app, client, world, spoil):
    token, row = issue(world.partner)
    assert api(client, "/me", token)[0].status_code == 200
    spoil(row)
    for path in ("/me", "/indicators"):
        r, body = api(client, path, token, **period(world))
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="tracker", error="invalid_token"'
        assert body["error"]["message"]


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token trk_" + "A" * 43, "Bearer trk_short",
    "Bearer " + "A" * 47, "Bearer trk_" + "A" * 43 + " extra", "Bearer trk_" + "A" * 42 + "!",
    "Bearer trk_" + "A" * 43,  # well formed, unknown
])
def test_missing_malformed_and_unknown_tokens_get_401_json(app, client, world, header):
    headers = {} if header is None else {"Authorization": header}
    for path in ("/me", "/indicators", "/report.csv"):
        r = client.get(f"/api/v1{path}", headers=headers, query_string=period(world))
        assert r.status_code == 401, (header, path)
        body = validated(r, path)
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="tracker"')
        assert "trk_" not in r.headers["WWW-Authenticate"]
        assert body["error"]["message"]
    if not header or not header.strip():
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="tracker"'


def test_the_bearer_scheme_is_case_insensitive(app, client, world):
    token, _ = issue(world.partner)
    r = client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"})
    assert r.status_code == 200, r.text


def test_a_session_cookie_does_not_authenticate_the_api(app, client, auth, world):
    assert auth.login(world.admin).status_code == 302
    assert client.get("/").status_code == 200  # signed in on the pages
    r, body = api(client, "/me")
    assert r.status_code == 401
    token, _ = issue(world.partner)
    _, body = api(client, "/me", token)
    assert body["email"] == world.partner.email  # the token's user, not the signed-in admin


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/", "/api/v1", "/api/", "/api/v2/indicators",
                                  "/api/v1/me/", "/api/v1/report.docx", "/api/v1/indicators/x"])
def test_unknown_paths_under_api_are_json_404(app, client, world, path):
    token, _ = issue(world.partner)
    for headers in ({}, {"Authorization": f"Bearer {token}"}, {"Accept": "text/html"}):
        r = client.get(path, headers=headers)
        assert r.status_code == 404, path
        body = validated(r, path.removeprefix("/api/v1"))
        assert "<html" not in r.text.lower()
        assert body["error"]["message"]


def test_wrong_method_is_json_405(app, client, world):
    token, _ = issue(world.partner)
    for method in ("post", "put", "delete", "patch"):
        r, body = api(client, "/me", token, method=method)
        assert r.status_code == 405
        assert "GET" in r.headers["Allow"]
        assert "GET" in body["error"]["message"]
    r, body = api(client, "/indicators", method="post")  # no token, no CSRF token: still a clean 405
    assert r.status_code == 405


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True, **({} if PLUGIN in DEFAULT_PLUGINS else {"PLUGINS": [PLUGIN]})}

    def test_a_post_to_the_api_is_a_json_405_not_a_csrf_page(self, client, world):
        r, body = api(client, "/indicators", issue(world.partner)[0], method="post")
        assert r.status_code == 405

    def test_the_admin_page_refuses_a_post_without_the_csrf_token(self, client, world):
        from tracker.models import ApiToken

        login = client.get("/login").text
        client.post("/login", data={"email": world.admin.email, "password": PASSWORD,
                                    "csrf_token": csrf_token(login)})
        page = client.get("/admin/api-tokens/").text
        form = {"user": str(world.partner.id), "name": "csrf test", "days": "30", "once": once(page)}
        assert client.post("/admin/api-tokens/", data=form).status_code == 400
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
        r = client.post("/admin/api-tokens/", data={**form, "csrf_token": csrf_token(page)})
        assert r.status_code == 200 and TOKEN_SHAPE.search(r.text)
        row = db.session.scalar(sa.select(ApiToken))
        assert client.post(f"/admin/api-tokens/{row.id}/revoke").status_code == 400
        db.session.refresh(row)
        assert row.revoked_at is None
        page = client.get("/admin/api-tokens/").text
        assert client.post(f"/admin/api-tokens/{row.id}/revoke",
                           data={"csrf_token": csrf_token(page)}).status_code == 302
        db.session.refresh(row)
        assert row.revoked_at is not None


def test_teachers_have_no_reports(app, client, world):
    token, _ = issue(world.teacher_a)
    for path in ("/indicators", "/report.pdf", "/report.xlsx", "/report.csv"):
        r, body = api(client, path, token, **period(world))
        assert r.status_code == 403, path
        assert body["error"]["message"]
    r, body = api(client, "/me", token)
    assert r.status_code == 200 and body["role"] == "teacher"


@pytest.mark.parametrize("params, words", [
    ({"from": "2026-01-01"}, "to"),
    ({"from": "2026-6-30", "to": "2026-07-01"}, "from must be a date like 2026-06-30"),
    ({"from": "20260630", "to": "2026-07-01"}, "from must be a date like 2026-06-30"),
    ({"from": "2026-02-30", "to": "2026-07-01"}, "from must be a date like 2026-06-30"),
    ({"from": "2026-01-01", "to": "soon"}, "to must be a date"),
    ({"from": "2026-01-01", "to": "2026-07-01", "as_of": "yesterday"}, "as_of must be a date"),
    ({"from": "2026-07-01", "to": "2026-01-01"}, "before"),
    ({"from": "2026-01-01", "to": "2026-07-01", "form": "2026-01-01"}, "form"),
    ({"from": ["2026-01-01", "2026-02-01"], "to": "2026-07-01"}, "more than once"),
    ({"from": "2026-01-01", "to": "2026-07-01", "by": "sex,shoe_size"}, "shoe_size"),
    ({"from": "2026-01-01", "to": "2026-07-01", "by": "sex,sex"}, "repeated"),
    ({"from": "2026-01-01", "to": "2026-07-01", "sharing": "maybe"}, "sharing"),
    ({"from": "2026-01-01", "to": "2026-07-01", "municipality": "Beo\x00grad"}, "control"),
    ({"from": "2026-01-01", "to": "2026-07-01", "school": "S" * 500}, "too long"),
    # Partners choose a fixed period: any two dates are a clear 400, and so is a period that is not one.
    ({"from": "2026-01-01", "to": "2026-07-01"}, "choose a period instead of dates"),
    ({"as_of": "2026-06-30"}, "choose a period instead of dates"),
    ({"period": "2025/26-3"}, "is not a period"),
    ({"period": "2031/32"}, "There are no figures for 2031/32 yet"),
    ({"period": "2025/26", "from": "2026-01-01", "to": "2026-07-01"}, "not both"),
    # One place at a time, and a school only with enough children (world's schools have one child each).
    ({"school": ["SA001", "SB002"]}, "not a set of schools"),
    ({"school": "SA001"}, "too few to be shown alone: choose its municipality, Beograd"),
    ({"municipality": "Beograd"}, "too few to be shown alone"),
])
def test_bad_parameters_are_a_clear_400(app, client, world, params, words):
    token, _ = issue(world.partner)
    r, body = api(client, "/indicators", token, **params)
    assert r.status_code == 400, params
    assert words in body["error"]["message"], body
    if "by" not in params:
        r, body = api(client, "/report.csv", token, **params)
        assert r.status_code == 400, params
        assert words in body["error"]["message"]


def test_staff_send_a_period_or_both_dates(app, client, world):
    token, _ = issue(world.admin)
    r, body = api(client, "/indicators", token)
    assert r.status_code == 400 and "Choose a period, or the first and the last day" in body["error"]["message"]
    r, body = api(client, "/indicators", token, **{"to": "2026-07-01"})
    assert r.status_code == 400 and "Send both from and to" in body["error"]["message"]
    r, body = api(client, "/indicators", token, **school_year(world))
    assert r.status_code == 200, body
    assert (body["period"], body["from"], body["min_cell"], body["note"]) == (
        world.year.label, world.year.first_day.isoformat(), None, None)


def test_reports_do_not_take_by(app, client, world):
    r, body = api(client, "/report.pdf", issue(world.partner)[0], by="sex", **period(world))
    assert r.status_code == 400 and "by" in body["error"]["message"]


# --- the view's use of tracker.reports, with a stand-in ---------------------------------------


@pytest.fixture
def fake_reports(monkeypatch):
    """Stand-ins for tracker.reports.data and .exports that record their calls."""
    import tracker.reports

    calls = []

    class ReportError(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.message = message

    def indicator_rows(user, *, period, frm, to, as_of, by, school_codes, municipality, sharing):
        calls.append(("indicator_rows", user, dict(period=period, frm=frm, to=to, as_of=as_of, by=by,
                                                   school_codes=school_codes, municipality=municipality,
                                                   sharing=sharing)))
        if "XX999" in school_codes:
            raise ReportError("unknown school XX999")
        if "BOOM" in school_codes:
            raise RuntimeError("a bug")
        if period:  # the period's dates, as the real function settles them
            frm, to = dt.date(2025, 9, 1), dt.date(2026, 6, 30)
        return {"from": frm, "to": to, "as_of": as_of or to, "period": period, "by": by, "min_cell": 5,
                "suppressed": True, "note": "Counts are perturbed and rounded.",
                "rows": [{"indicator": "enrolled", **{d: "female" for d in by}, "numerator": None,
                          "denominator": None, "value": None, "children": None, "suppressed": "small"},
                         {"indicator": "attendance_rate", **{d: "male" for d in by}, "numerator": 90,
                          "denominator": 100, "value": 0.9, "children": 12, "suppressed": None}]}

    def build_report(user, *, period, frm, to, as_of, school_codes, municipality, sharing):
        calls.append(("build_report", user, dict(period=period, frm=frm, to=to, as_of=as_of,
                                                 school_codes=school_codes, municipality=municipality,
                                                 sharing=sharing)))
        return {"report": True}

    def render(fmt, report):
        calls.append(("render", fmt, report))
        return ("a,b\n1,2\n" if fmt == "csv" else b"%PDF-1.7 fake"), {"csv": "text/csv", "pdf": "application/pdf",
                                                                     "xlsx": "application/vnd.openxmlformats-"
                                                                             "officedocument.spreadsheetml.sheet"}[fmt], \
            f"tracker-report-{fmt}.{fmt}"

    class ReportForbidden(PermissionError):
        pass

    data = types.ModuleType("tracker.reports.data")
    data.ReportError, data.ReportForbidden = ReportError, ReportForbidden
    data.indicator_rows, data.build_report = indicator_rows, build_report
    data.may_report = lambda user: user.role.value in ("admin", "liaison", "partner")
    exports = types.ModuleType("tracker.reports.exports")
    exports.render = render
    monkeypatch.setitem(sys.modules, "tracker.reports.data", data)
    monkeypatch.setitem(sys.modules, "tracker.reports.exports", exports)
    monkeypatch.setattr(tracker.reports, "data", data, raising=False)
    monkeypatch.setattr(tracker.reports, "exports", exports, raising=False)
    return calls


def test_indicators_pass_the_parameters_on_and_answer_with_iso_dates(app, client, world, fake_reports):
    token, _ = issue(world.partner)
    r, body = api(client, "/indicators", token, **{"from": "2026-01-01", "to": "2026-06-30", "by": ["sex", "uasc"],
                                                   "school": ["SA001", " SB002 ", "SA001", ""],
                                                   "municipality": " Beograd ", "sharing": "1"})
    assert r.status_code == 200, body
    assert (body["from"], body["to"], body["as_of"], body["by"]) == ("2026-01-01", "2026-06-30", "2026-06-30",
                                                                     ["sex", "uasc"])
    name, user, kwargs = fake_reports[-1]
    assert name == "indicator_rows" and user == world.partner
    assert kwargs == {"period": None, "frm": dt.date(2026, 1, 1), "to": dt.date(2026, 6, 30), "as_of": None,
                      "by": ["sex", "uasc"], "school_codes": ["SA001", "SB002"], "municipality": "Beograd",
                      "sharing": True}
    api(client, "/indicators", token, **{"from": "2026-01-01", "to": "2026-06-30", "as_of": "2026-08-31",
                                         "by": "age_band,level"})
    assert fake_reports[-1][2]["as_of"] == dt.date(2026, 8, 31)
    assert fake_reports[-1][2]["by"] == ["age_band", "level"]
    assert fake_reports[-1][2]["sharing"] is False
    # A period is passed on as it is (the reports settle it), with no dates.
    r, body = api(client, "/indicators", token, period=" 2025/26 ", by="sex")
    assert r.status_code == 200, body
    assert (body["period"], body["from"], body["to"]) == ("2025/26", "2025-09-01", "2026-06-30")
    assert {k: fake_reports[-1][2][k] for k in ("period", "frm", "to", "as_of")} == {
        "period": "2025/26", "frm": None, "to": None, "as_of": None}


def test_a_report_error_is_a_400_with_its_message(app, client, world, fake_reports):
    r, body = api(client, "/indicators", issue(world.liaison_a)[0], school="XX999", **period(world))
    assert r.status_code == 400
    assert body["error"]["message"] == "unknown school XX999"


def test_a_bug_is_still_a_json_answer(app, client, world, fake_reports, caplog):
    r, body = api(client, "/indicators", issue(world.partner)[0], school="BOOM", **period(world))
    assert r.status_code == 500
    assert "a bug" not in body["error"]["message"]
    assert "a bug" in caplog.text
    assert api(client, "/me", issue(world.partner)[0])[0].status_code == 200  # the session is usable again


@pytest.mark.parametrize("fmt, mimetype", [("pdf", "application/pdf"), ("csv", "text/csv"),
                                           ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
def test_report_files_are_attachments(app, client, world, fake_reports, fmt, mimetype):
    r, _ = api(client, f"/report.{fmt}", issue(world.partner)[0], school="SA001", **school_year(world))
    assert r.status_code == 200
    assert r.mimetype == mimetype
    assert r.headers["Content-Disposition"] == f"attachment; filename=tracker-report-{fmt}.{fmt}"
    assert r.headers["Cache-Control"] == "no-store"
    assert mimetype in SPEC["paths"][f"/report.{fmt}"]["get"]["responses"]["200"]["content"]
    assert [c[0] for c in fake_reports] == ["build_report", "render"]
    assert fake_reports[0][2]["school_codes"] == ["SA001"]
    assert fake_reports[0][2]["period"] == world.year.label
    assert fake_reports[1][1] == fmt


# --- the real reports ------------------------------------------------------------------------


def test_partner_pulls_indicators_with_small_cells_suppressed(app, client, world):
    token, _ = issue(world.partner)
    r, body = api(client, "/indicators", token, by="level,sex", **school_year(world))
    assert r.status_code == 200, body
    assert body["suppressed"] is True and body["min_cell"] == 5
    assert "rounded to a multiple of 5" in body["note"]
    # The school year, counted up to the end of last month and as of that day.
    assert (body["period"], body["from"], body["to"], body["as_of"]) == (
        world.year.label, world.year.first_day.isoformat(), end_of_last_month().isoformat(),
        end_of_last_month().isoformat())
    enrolled = [row for row in body["rows"] if row["indicator"] == "enrolled"]
    # One boy in primary, one girl in secondary, nobody else: every group is withheld, the empty ones too.
    assert {(row["level"], row["sex"]) for row in enrolled} == {(lv, sx) for lv in ("primary", "secondary")
                                                               for sx in ("female", "male")}
    assert all(row["suppressed"] == "small" for row in enrolled)
    assert all(row["value"] is None and row["numerator"] is None for row in enrolled)
    for row in body["rows"]:
        if row["indicator"] in ("attendance_rate", "register_completeness"):
            assert row["numerator"] is None and row["denominator"] is None  # no days, ever
    # The same request gives the same answer: nothing to average away.
    assert api(client, "/indicators", token, by="level,sex", **school_year(world))[1] == body


def test_partner_without_a_period_gets_the_current_school_year(app, client, world):
    r, body = api(client, "/indicators", issue(world.partner)[0])
    assert r.status_code == 200, body
    assert body["period"] == world.year.label and body["to"] == end_of_last_month().isoformat()


@pytest.mark.parametrize("by", ["country", "centre", "sex,country", "centre,uasc"])
def test_partner_may_not_break_down_by_country_or_centre(app, client, world, by):
    r, body = api(client, "/indicators", issue(world.partner)[0], by=by, **school_year(world))
    assert r.status_code == 400
    assert ("country" if "country" in by else "centre") in body["error"]["message"]


def test_partner_combines_at_most_the_allowed_number_of_dimensions(app, client, world):
    token, _ = issue(world.partner)
    most = app.config["REPORT_PARTNER_MAX_DIMENSIONS"]
    allowed = app.config["REPORT_PARTNER_DIMENSIONS"]
    r, body = api(client, "/indicators", token, by=",".join(allowed[:most]), **school_year(world))
    assert r.status_code == 200, body
    r, body = api(client, "/indicators", token, by=",".join(allowed[:most + 1]), **school_year(world))
    assert r.status_code == 400 and str(most) in body["error"]["message"]


def test_liaison_token_sees_only_its_schools(app, client, world):
    token, _ = issue(world.liaison_a)
    r, body = api(client, "/indicators", token, school=world.school_b.code, **period(world))
    assert r.status_code == 400 and body["error"]["message"]
    r, body = api(client, "/indicators", token, school=world.school_a.code, by="school", **period(world))
    assert r.status_code == 200, body
    assert {row["school"] for row in body["rows"] if row.get("school")} <= {world.school_a.code}
    r, body = api(client, "/indicators", token, by="school", **period(world))
    assert r.status_code == 200
    assert world.school_b.code not in {row.get("school") for row in body["rows"]}
    r, body = api(client, "/indicators", token, municipality=world.school_b.municipality, **period(world))
    assert r.status_code == 400
    r, body = api(client, "/report.csv", token, school=world.school_b.code, **period(world))
    assert r.status_code == 400 and body["error"]["message"]


def test_admin_sees_unsuppressed_numbers_unless_sharing(app, client, world):
    token, _ = issue(world.admin)
    _, body = api(client, "/indicators", token, **period(world))
    enrolled = next(row for row in body["rows"] if row["indicator"] == "enrolled")
    assert enrolled["value"] == 2 and body["suppressed"] is False and body["period"] is None
    # Sharing is exactly what partners get: a period, not dates.
    r, refused = api(client, "/indicators", token, sharing="1", **period(world))
    assert r.status_code == 400 and "choose a period instead of dates" in refused["error"]["message"]
    _, shared = api(client, "/indicators", token, sharing="1", **school_year(world))
    assert shared["suppressed"] is True and shared["min_cell"] == 5 and shared["period"] == world.year.label
    enrolled = next(row for row in shared["rows"] if row["indicator"] == "enrolled")
    assert enrolled["suppressed"] == "small" and enrolled["value"] is None  # 2 children: fewer than 5
    # And with the partners' breakdown limits.
    r, body = api(client, "/indicators", token, sharing="1", by="country", **school_year(world))
    assert r.status_code == 400 and "country" in body["error"]["message"]


@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "csv"])
def test_partner_downloads_the_report(app, client, world, fmt):
    r, _ = api(client, f"/report.{fmt}", issue(world.partner)[0], **school_year(world))
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.mimetype in SPEC["paths"][f"/report.{fmt}"]["get"]["responses"]["200"]["content"]
    assert r.data
    for child in (world.child_a, world.child_b):
        assert child.code.encode() not in r.data and child.family_name.encode() not in r.data
    r, body = api(client, f"/report.{fmt}", issue(world.partner)[0], **period(world))
    assert r.status_code == 400 and "choose a period instead of dates" in body["error"]["message"]


# --- the admin page --------------------------------------------------------------------------


def test_admin_issues_a_token_that_is_shown_once(app, client, auth, world):
    from tracker.models import ApiToken

    auth.login(world.admin)
    page = client.get("/admin/api-tokens/")
    assert page.status_code == 200
    assert "No API tokens yet." in page.text
    form = {"user": str(world.partner.id), "name": "Partner dashboard", "days": "30", "once": once(page.text)}
    r = client.post("/admin/api-tokens/", data=form)
    assert r.status_code == 200
    assert "It will not be shown again" in r.text
    token = TOKEN_SHAPE.search(r.text).group(0)
    assert r.headers["Cache-Control"] == "no-store"
    row = db.session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (row.user_id, row.created_by_id, row.name) == (world.partner.id, world.admin.id, "Partner dashboard")
    assert row.expires_at - row.created_at == dt.timedelta(days=30)
    assert token not in repr(all_rows("api_token", "audit_event"))
    # the token works
    assert api(client, "/me", token)[1]["email"] == world.partner.email

    # a reload sends the same form again: no new token, nothing shown
    again = client.post("/admin/api-tokens/", data=form, follow_redirects=True)
    assert again.status_code == 200
    assert "sent already" in again.text
    assert not TOKEN_SHAPE.search(again.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    listing = client.get("/admin/api-tokens/").text
    assert token not in listing and not TOKEN_SHAPE.search(listing)
    assert "Partner dashboard" in listing and world.partner.email in listing and "Never" not in listing


def test_admin_page_rejects_bad_input(app, client, auth, world):
    from tracker.models import ApiToken

    auth.login(world.admin)
    value = once(client.get("/admin/api-tokens/").text)
    for data in ({"user": str(world.partner.id), "name": "", "days": "30"},
                 {"user": str(world.partner.id), "name": "x", "days": "366"},
                 {"user": str(world.partner.id), "name": "x", "days": "0"},
                 {"user": str(world.partner.id), "name": "x", "days": "ninety"},
                 {"user": "999999", "name": "x", "days": "30"},
                 {"user": "", "name": "x", "days": "30"}):
        r = client.post("/admin/api-tokens/", data={**data, "once": value})
        assert r.status_code == 400, data
        assert not TOKEN_SHAPE.search(r.text)
        value = once(r.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_admin_revokes_a_token(app, client, auth, world):
    from tracker.models import AuditEvent

    token, row = issue(world.partner, "to be revoked", by=world.admin)
    assert api(client, "/me", token)[0].status_code == 200
    auth.login(world.admin)
    page = client.get("/admin/api-tokens/").text
    assert f"/admin/api-tokens/{row.id}/revoke" in page and "to be revoked" in page
    r = client.post(f"/admin/api-tokens/{row.id}/revoke", follow_redirects=True)
    assert r.status_code == 200 and "is revoked" in r.text
    assert f"/admin/api-tokens/{row.id}/revoke" not in r.text
    db.session.refresh(row)
    assert row.revoked_at is not None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api_token_revoked"))
    assert (event.user_id, event.object_id) == (world.admin.id, str(row.id))
    assert api(client, "/me", token)[0].status_code == 401
    r = client.post(f"/admin/api-tokens/{row.id}/revoke", follow_redirects=True)
    assert "revoked already" in r.text
    assert client.post("/admin/api-tokens/999999/revoke").status_code == 404


def test_menu_entry_for_admins_only(app, client, auth, world):
    auth.login(world.admin)
    assert 'href="/admin/api-tokens/"' in client.get("/").text
    auth.logout()
    for user in (world.liaison_a, world.teacher_a, world.partner):
        auth.login(user)
        assert 'href="/admin/api-tokens/"' not in client.get("/").text
        auth.logout()


@pytest.mark.parametrize("who", ["liaison_a", "teacher_a", "partner"])
def test_non_admins_cannot_reach_the_admin_page(app, client, auth, world, who):
    from tracker.models import ApiToken

    _, row = issue(world.partner, by=world.admin)
    auth.login(getattr(world, who))
    assert client.get("/admin/api-tokens/").status_code == 404
    assert client.post("/admin/api-tokens/", data={"user": str(getattr(world, who).id), "name": "mine",
                                                   "days": "30"}).status_code == 404
    assert client.post(f"/admin/api-tokens/{row.id}/revoke").status_code == 404
    db.session.refresh(row)
    assert row.revoked_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_signed_out_visitors_are_sent_to_sign_in(app, client, world):
    r = client.get("/admin/api-tokens/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- the command line ------------------------------------------------------------------------


def test_cli_issue_list_revoke(app, runner, client, world):
    from tracker.models import ApiToken

    r = runner.invoke(args=["tokens", "issue", "--user", "PARTNER@example.org", "--name", "nightly sync",
                            "--days", "7"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert TOKEN_SHAPE.fullmatch(token)
    assert "will not be shown again" in r.stderr
    row = db.session.scalar(sa.select(ApiToken))
    assert row.user_id == world.partner.id and row.name == "nightly sync" and row.created_by_id is None
    assert row.expires_at - row.created_at == dt.timedelta(days=7)
    assert api(client, "/me", token)[1]["email"] == world.partner.email

    r = runner.invoke(args=["tokens", "list"])
    assert r.exit_code == 0, r.output
    assert token not in r.output and token[4:12] not in r.output
    line = next(line for line in r.output.splitlines() if line.startswith(f"{row.id}\t"))
    assert world.partner.email in line and "nightly sync" in line and line.endswith("active")

    r = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert r.exit_code == 0 and "revoked" in r.output
    assert api(client, "/me", token)[0].status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output.splitlines()[-1]
    assert "already" in runner.invoke(args=["tokens", "revoke", str(row.id)]).output


def test_cli_refuses_bad_input(app, runner, world):
    from tracker.models import ApiToken

    assert "No API tokens yet." in runner.invoke(args=["tokens", "list"]).output
    for args in (["--user", "nobody@example.org", "--name", "x"],
                 ["--user", world.partner.email, "--name", "x", "--days", "366"],
                 ["--user", world.partner.email, "--name", "x", "--days", "0"],
                 ["--user", world.partner.email, "--name", "  "],
                 ["--user", world.partner.email]):
        r = runner.invoke(args=["tokens", "issue", *args])
        assert r.exit_code == 2, (args, r.output)
        assert not TOKEN_SHAPE.search(r.output)
    assert runner.invoke(args=["tokens", "revoke", "12345"]).exit_code == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_deleting_a_user_deletes_their_tokens(app, world):
    from tracker.models import ApiToken, User

    _, row = issue(world.partner, by=world.admin)
    db.session.execute(sa.delete(User).where(User.id == world.partner.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
