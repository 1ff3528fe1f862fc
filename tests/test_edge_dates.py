"""Dates at the edges and malformed input, wherever a user's date reaches the indicators and reports:
the API's query parameters, the reports page and its downloads, ``tracker indicators`` and
``tracker report``, and the register's day in the URL. Every bad value is a 4xx (the commands: a
usage error, exit code 2) whose message names the parameter, never a 500 or a traceback; and every
example the OpenAPI document gives works. Dates are for staff's exact figures: partners choose a fixed
period, so any valid dates from a partner are a 400 that says so.
"""
from __future__ import annotations

import datetime as dt
import html
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_api import SPEC, validated
from tracker import dates
from tracker.extensions import db
from tracker.plugins import DEFAULT_PLUGINS

PLUGIN = "tracker.api.default_api"
REPORT_PATHS = ["/report.csv", "/report.xlsx", "/report.pdf"]

pytestmark = pytest.mark.usefixtures("production_like_requests")


@pytest.fixture
def app_config():
    return {} if PLUGIN in DEFAULT_PLUGINS else {"PLUGINS": [PLUGIN]}


def token_for(user) -> str:
    from tracker.api import tokens

    token, _row = tokens.issue(user, "edge dates", 30)
    db.session.commit()
    return token


def get(client, path: str, query: str | list, token: str):
    """GET /api/v1<path> with a raw query string (or a list of pairs, repeated names allowed)."""
    return client.get(f"/api/v1{path}", query_string=query, headers={"Authorization": f"Bearer {token}"})


LATEST = dates.latest()
TOO_LATE = dates.years_after(LATEST, 1).isoformat()
OK = "from=2026-01-01&to=2026-06-30"

# (query, words the message must contain: the parameter's name and what is wrong)
BAD_QUERIES = [
    ("from=0001-01-01&to=2026-06-30", "from must be between 2000-01-01 and"),
    ("from=0001-01-01&to=0001-01-31", "from must be between"),
    ("from=1999-12-31&to=2000-06-30", "from must be between"),
    ("from=2026-01-01&to=9999-12-31", "to must be between"),
    ("from=9999-01-01&to=9999-12-31", "from must be between"),
    (f"from=2026-01-01&to={TOO_LATE}", "to must be between"),
    (OK + "&as_of=0001-01-01", "as_of must be between"),
    (OK + "&as_of=9999-12-31", "as_of must be between"),
    (OK + "&as_of=", "as_of is empty"),
    (OK + "&as_of=%20", "as_of is empty"),
    ("from=2025-02-30&to=2026-06-30", "from must be a date like 2026-06-30"),
    ("from=2026-01-01&to=2026-02-30", "to must be a date like 2026-06-30"),
    ("from=&to=2026-06-30", "from is empty"),
    ("from=2026-01-01&to=", "to is empty"),
    ("from=2026-06-30&to=2026-01-01", "(to) is before its start (from)"),
    ("from=2020-01-01&to=2026-06-30", "to is more than 3 years after from"),
    ("from=2026-01-01&from=2026-02-01&to=2026-06-30", "from is given more than once"),
    (OK + "&as_of=2026-03-01&as_of=2026-04-01", "as_of is given more than once"),
    ("from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01&to=2026-06-30", "from must be a date"),  # full-width digits
    ("from=2026-01-01&to=%D1%98%D1%83%D1%87%D0%B5", "to must be a date"),  # "јуче"
    ("from=%2B2026-01-01&to=2026-06-30", "from must be a date"),
    ("from=20260101&to=2026-06-30", "from must be a date"),
    ("from=2026-01-01T00:00&to=2026-06-30", "from must be a date"),
    ("from=-2026-01-01&to=2026-06-30", "from must be a date"),
    ("from=99999-01-01&to=2026-06-30", "from must be a date"),
    (OK + "&fr%C3%B6m=2026-01-01", "Unknown parameter fröm"),
]


@pytest.mark.parametrize("path", ["/indicators", *REPORT_PATHS])
def test_api_refuses_bad_dates_with_a_400_naming_the_parameter(client, world, path):
    token = token_for(world.partner)
    for query, words in BAD_QUERIES:
        r = get(client, path, query, token)
        body = validated(r, path)
        assert r.status_code == 400, (query, body)
        assert words in body["error"]["message"], (query, body)


def test_api_refuses_huge_and_repeated_breakdowns(client, world):
    token = token_for(world.admin)
    base = [("from", "2026-01-01"), ("to", "2026-06-30")]
    cases = [
        (base + [("by", "sex")] * 2000, "repeated"),
        (base + [("by", f"d{i}") for i in range(1000)], "unknown dimension d0"),
        (base + [("by", ",".join(["sex"] * 500))], "by is too long"),
        (base + [("by", "sex,sex")], "repeated"),
        (base + [("by", "séx")], "unknown dimension séx"),
        (base + [("school", f"S{i}") for i in range(101)], "At most 100"),
    ]
    for query, words in cases:
        r = get(client, "/indicators", query, token)
        body = validated(r, "/indicators")
        assert r.status_code == 400, (words, body)
        assert words in body["error"]["message"], body
    r = get(client, "/report.csv", base + [("by", "sex")] * 2000, token)
    assert r.status_code == 400 and "Unknown parameter by" in r.get_json()["error"]["message"]


EDGES = [
    f"from={dates.EARLIEST}&to={dates.years_after(dates.EARLIEST, 1)}",
    f"from={dates.years_after(LATEST, -1)}&to={LATEST}&as_of={LATEST}",
    "from=2023-09-01&to=2026-09-01",  # exactly three years
    "from=2024-02-29&to=2027-02-28",  # three years from a leap day
    "from=2026-06-30&to=2026-06-30&as_of=2000-01-01",
]


def test_api_accepts_the_edges_of_the_range(client, world):
    token = token_for(world.admin)  # exact figures: any dates in the range
    for query in EDGES:
        r = get(client, "/indicators", query, token)
        body = validated(r, "/indicators")
        assert r.status_code == 200, (query, body)
        assert body["period"] is None and body["suppressed"] is False
    r = get(client, "/indicators", "from=2023-09-01&to=2026-09-02", token)  # three years and a day
    assert r.status_code == 400 and "more than 3 years" in r.get_json()["error"]["message"]


def test_api_answers_a_partners_good_dates_with_a_400_asking_for_a_period(client, world):
    token = token_for(world.partner)
    for path in ("/indicators", *REPORT_PATHS):
        for query in EDGES:
            r = get(client, path, query, token)
            body = validated(r, path)
            assert r.status_code == 400, (path, query, body)
            assert "choose a period instead of dates" in body["error"]["message"], (path, query, body)


def test_messages_are_translated(client, world):
    token = token_for(world.partner)
    r = client.get("/api/v1/indicators?from=0001-01-01&to=2026-06-30",
                   headers={"Authorization": f"Bearer {token}", "Accept-Language": "sr-Latn"})
    assert r.status_code == 400
    assert r.get_json()["error"]["message"].startswith("„from“ mora biti između 2000-01-01 i ")
    r = client.get("/api/v1/indicators?from=2026-06-30&to=2026-01-01",
                   headers={"Authorization": f"Bearer {token}", "Accept-Language": "sr"})
    assert r.get_json()["error"]["message"] == "Крај периода (to) је пре његовог почетка (from)."


DATE_TEXT = st.one_of(st.dates().map(str), st.dates(dates.EARLIEST, LATEST).map(str), st.text(max_size=14),
                      st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"))
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def partner_token(world):
    return token_for(world.partner)


@pytest.fixture
def signed_in_admin(auth, world):
    auth.login(world.admin)


@FUZZ
@given(frm=DATE_TEXT, to=DATE_TEXT, as_of=st.one_of(st.none(), DATE_TEXT))
def test_any_text_as_dates_gets_a_200_or_a_400_from_the_api(client, partner_token, frm, to, as_of):
    token = partner_token
    query = [("from", frm), ("to", to)] + ([("as_of", as_of)] if as_of is not None else [])
    r = get(client, "/indicators", query, token)
    body = validated(r, "/indicators")
    assert r.status_code in (200, 400), (query, body)


@FUZZ
@given(frm=DATE_TEXT, to=DATE_TEXT, as_of=DATE_TEXT)
def test_any_text_as_dates_gets_a_200_or_a_400_from_the_reports_page(client, signed_in_admin, frm, to, as_of):
    r = client.get("/reports/", query_string={"frm": frm, "to": to, "as_of": as_of})
    assert r.status_code in (200, 400), (frm, to, as_of)


# --- the OpenAPI document's own examples ----------------------------------------------------


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _examples(param: dict) -> list:
    """A parameter's examples: its ``example``, its ``examples`` (Example Objects) and its schema's."""
    schema = _resolve(param.get("schema", {}))
    found = [holder["example"] for holder in (param, schema) if "example" in holder]
    found += [_resolve(e)["value"] for e in (param.get("examples") or {}).values()]
    found += list(schema.get("examples") or [])
    return found


def _schema_values(param: dict) -> list:
    """Values the schema allows by name (enum, default): they must never give a 5xx."""
    schema = _resolve(param.get("schema", {}))
    values = list(schema.get("enum", []))
    if "default" in schema:
        values.append(schema["default"])
    items = _resolve(schema.get("items", {}))
    values += [[v] for v in items.get("enum", [])]
    return values


def _pairs(param: dict, value) -> list[tuple[str, str]]:
    name = param["name"]
    if isinstance(value, list):
        explode = param.get("explode", param.get("style", "form") == "form")
        return [(name, str(v)) for v in value] if explode else [(name, ",".join(map(str, value)))]
    return [(name, str(value))]


def _operations():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, op


def test_the_document_has_examples_for_every_required_parameter():
    for path, method, op in _operations():
        for param in map(_resolve, op.get("parameters", [])):
            if param.get("required"):
                assert _examples(param), f"{method} {path}: {param['name']} has no example"


DATE_PARAMS = ("from", "to", "as_of")


def _known_year(label: str) -> None:
    """The school year of the document's period example (2025/26), so that the example has figures."""
    import sqlalchemy as sa

    from tracker.models import AcademicYear

    if db.session.scalar(sa.select(AcademicYear).where(AcademicYear.label == label)) is None:
        start = int(label[:4])
        db.session.add(AcademicYear(label=label, first_day=dt.date(start, 9, 1), last_day=dt.date(start + 1, 6, 30)))
        db.session.commit()


def _enough_children(world, school, n: int = 20) -> None:
    """Children enough for the school's municipality to be shown alone (DISCLOSURE_MIN_SCHOOL_CHILDREN)."""
    from tracker.models import Child, Enrolment
    from tracker.types import LegalBasis, Level

    for i in range(n):
        c = Child(code=f"C-EX{i:04d}", given_name=f"G{i}", family_name="F", name_original="", name_key="g f",
                  sex="female" if i % 2 else "male", birth_date=dt.date(world.year.first_day.year - 10, 1, 1),
                  country="AFG", first_language="prs", legal_basis=LegalBasis.public_task)
        db.session.add(c)
        db.session.add(Enrolment(child=c, school=school, year=world.year, level=Level.primary, grade=4,
                                 school_class=world.class_a, start_date=world.year.first_day))
    db.session.commit()


def test_every_example_in_the_openapi_document_works(client, world):
    """Each operation with its required parameters' examples, then each parameter's examples (200) and the
    values its schema names (enum, default: never a 5xx), then every example at once (never a 5xx).

    Each example is tried by the user it is written for: the period, the breakdown, the place and sharing as a
    partner (the default period is the current school year); the dates (only staff send dates, and only both
    from and to) and the list of schools (partners choose one school at most) as an admin, with the dates'
    examples for the others; a partner sending them gets a 400, never a 5xx. The world has the school year of
    the period example and enough children in the municipality of the example to show it alone."""
    period_example = _examples(SPEC["components"]["parameters"]["period"])[0]
    _known_year(period_example.split("-")[0])
    municipality = _examples(SPEC["components"]["parameters"]["municipality"])[0]
    assert municipality == world.school_a.municipality
    _enough_children(world, world.school_a)  # Beograd, large enough to be shown alone
    tokens = {"partner": token_for(world.partner), "admin": token_for(world.admin)}
    for path, method, op in _operations():
        params = [_resolve(p) for p in op.get("parameters", [])]
        base = [pair for p in params if p.get("required") for pair in _pairs(p, _examples(p)[0])]
        dated = base + [pair for p in params if p["name"] in ("from", "to") for pair in _pairs(p, _examples(p)[0])]
        seen = {}

        def call(query, who="partner"):
            key = (who, tuple(sorted(query)))
            if key not in seen:
                r = client.open(f"/api/v1{path}", method=method.upper(), query_string=query,
                                headers={"Authorization": f"Bearer {tokens[who]}"})
                if r.mimetype == "application/json":
                    validated(r, path, method)
                seen[key] = (r.status_code, r.data[:300])
            return seen[key]

        assert call(base)[0] == 200, (path, base, call(base))
        for p in params:
            staff = p["name"] in (*DATE_PARAMS, "school")
            who, others = ("admin", [pair for pair in dated if pair[0] != p["name"]]) if staff else \
                ("partner", [pair for pair in base if pair[0] != p["name"]])
            for example in _examples(p):
                status, data = call(others + _pairs(p, example), who)
                assert status == 200, (path, who, p["name"], example, data)
                if staff:  # from a partner: a clear 400 (choose a period; one school), never a 5xx
                    status, data = call(others + _pairs(p, example), "partner")
                    assert status == 400, (path, p["name"], example, data)
            for value in _schema_values(p):
                for user in tokens:
                    status, data = call(others + _pairs(p, value), user)
                    assert status < 500, (path, user, p["name"], value, data)
        if any(p["name"] == "period" for p in params):  # a period instead of dates is for staff too
            assert call(base + [("period", period_example)], "admin")[0] == 200, path
        # every example at once (some exclude each other, e.g. school and municipality: a 400 then)
        together = [pair for p in params if _examples(p) for pair in _pairs(p, _examples(p)[0])]
        for user in tokens:
            assert call(together, user)[0] < 500, (path, user, together)


def test_the_documents_error_example_is_a_real_answer(client, world):
    example = SPEC["components"]["schemas"]["Error"]["example"]
    r = get(client, "/indicators", "from=2026-02-30&to=2026-06-30", token_for(world.partner))
    assert r.get_json() == example


def test_the_document_states_the_range_tracker_dates_defines():
    params = SPEC["components"]["parameters"]
    words = {5: "five"}
    for name in ("from", "to", "as_of"):
        text = params[name]["description"]
        assert dates.EARLIEST.isoformat() in text and f"{words[dates.YEARS_AHEAD]} years after today" in text, name
    assert {3: "three"}[dates.MAX_PERIOD_YEARS] + " years" in params["to"]["description"]
    assert "empty" in params["as_of"]["description"]


# --- the reports page and its downloads -------------------------------------------------------


PAGE_BAD = [
    ("frm=0001-01-01&to=2026-06-30", "From must be between 2000-01-01 and"),
    ("frm=0001-01-01&to=0001-01-31", "From must be between"),
    ("frm=2026-01-01&to=9999-12-31", "To must be between"),
    (f"frm=2026-01-01&to={TOO_LATE}", "To must be between"),
    ("to=9999-12-31", "To must be between"),
    ("frm=2026-01-01&to=2026-06-30&as_of=0001-01-01", "As of must be between"),
    ("frm=2026-01-01&to=2026-06-30&as_of=9999-12-31", "As of must be between"),
    ("frm=2025-02-30&to=2026-06-30", "Not a valid date"),
    ("frm=2026-06-30&to=2026-01-01", "The end of the period (To) is before its start (From)."),
    ("frm=2020-01-01&to=2026-06-30", "To is more than 3 years after From."),
    ("frm=2026-01-01&frm=2026-02-01&to=2026-06-30", "Not a valid date"),
    ("frm=%D1%98%D1%83%D1%87%D0%B5&to=2026-06-30", "Not a valid date"),
    ("frm=2026-01-01&to=2026-06-30&" + "&".join(f"schools=S{i}" for i in range(101)), "At most 100 schools"),
]


def test_reports_page_refuses_bad_dates_beside_the_field(client, auth, world):
    auth.login(world.admin)
    for query, words in PAGE_BAD:
        r = client.get("/reports/?" + query)
        assert r.status_code == 400, query
        page = html.unescape(r.get_data(as_text=True))
        assert words in page, query
        assert "Please correct the fields marked below." in page


@pytest.mark.parametrize("who", ["admin", "partner"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_report_downloads_refuse_bad_dates_naming_the_field(client, auth, world, fmt, who):
    """Bad dates are a 400 naming the field; a partner's dates, good or bad, are a 400 as well (partners ask for a
    period): the bad ones name the field, the good ones ask for a period."""
    auth.login(getattr(world, who))
    for query, words in PAGE_BAD:
        r = client.get(f"/reports/report.{fmt}?" + query, headers={"Accept": "application/json"})
        assert r.status_code == 400, query
        message = r.get_json()["message"]
        if who == "partner":
            assert words in message or "choose a period instead of dates" in message, (query, message)
            continue
        assert words in message and "Please correct the report's dates." in message, (query, message)
        if "Not a valid date" in words:
            assert "From: Not a valid date" in message


def test_reports_page_accepts_an_empty_as_of_and_the_edges(client, auth, world):
    auth.login(world.admin)
    assert client.get("/reports/?frm=2026-01-01&to=2026-06-30&as_of=").status_code == 200
    assert client.get(f"/reports/?frm={dates.EARLIEST}&to=2000-12-31").status_code == 200
    assert client.get(f"/reports/?frm={dates.years_after(LATEST, -1)}&to={LATEST}&as_of={LATEST}").status_code == 200
    assert client.get("/reports/?frm=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01&to=2026-06-30").status_code < 500


def test_reports_page_speaks_serbian_about_bad_dates(client, auth, world):
    auth.login(world.admin)
    r = client.get("/reports/?frm=2026-06-30&to=2026-01-01", headers={"Accept-Language": "sr-Latn"})
    assert r.status_code == 400
    assert "Kraj perioda (Do) je pre njegovog početka (Od)." in html.unescape(r.get_data(as_text=True))
    r = client.get("/reports/?frm=2020-01-01&to=2026-06-30", headers={"Accept-Language": "sr-Latn"})
    assert "„Do“ je više od 3 godine posle „Od“." in html.unescape(r.get_data(as_text=True))


# --- the commands -----------------------------------------------------------------------------


CLI_BAD = [
    (["--from", "0001-01-01", "--to", "2026-06-30"], "--from must be between 2000-01-01 and"),
    (["--from", "0001-01-01", "--to", "0001-01-31"], "--from must be between"),
    (["--from", "2026-01-01", "--to", "9999-12-31"], "--to must be between"),
    (["--from", "2026-01-01", "--to", TOO_LATE], "--to must be between"),
    (["--from", "2026-01-01", "--to", "2026-06-30", "--as-of", "0001-01-01"], "--as-of must be between"),
    (["--from", "2026-01-01", "--to", "2026-06-30", "--as-of", "9999-12-31"], "--as-of must be between"),
    (["--from", "2026-01-01", "--to", "2026-06-30", "--as-of", ""], "--as-of is empty"),
    (["--from", "2025-02-30", "--to", "2026-06-30"], "--from must be a date like 2026-06-30"),
    (["--from", "", "--to", "2026-06-30"], "--from is empty"),
    (["--from", "２０２６-01-01", "--to", "2026-06-30"], "--from must be a date"),
    (["--from", "јуче", "--to", "2026-06-30"], "--from must be a date"),
    (["--from", "2026-06-30", "--to", "2026-01-01"], "The end of the period (--to) is before its start (--from)."),
    (["--from", "2020-01-01", "--to", "2026-06-30"], "--to is more than 3 years after --from."),
]


@pytest.mark.parametrize("command", [["indicators"], ["report", "--format", "csv", "--out", "-"]])
def test_commands_stop_with_a_usage_error_naming_the_option(runner, world, command):
    for args, words in CLI_BAD:
        result = runner.invoke(args=[*command, *args])
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert words in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_indicators_command_accepts_the_edges(runner, world):
    result = runner.invoke(args=["indicators", "--from", str(dates.EARLIEST), "--to", "2000-12-31"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["indicators", "--from", str(dates.years_after(LATEST, -1)), "--to", str(LATEST),
                                 "--as-of", str(LATEST)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["as_of"] == LATEST.isoformat()


# --- the register's day in the URL -------------------------------------------------------------


def test_a_register_day_outside_the_range_has_no_page(client, auth, world):
    auth.login(world.liaison_a)
    for day in ["0001-01-01", "1999-12-31", "9999-12-31", TOO_LATE, "2026-02-30", "today"]:
        assert client.get(f"/registers/{world.class_a.id}/{day}").status_code == 404, day
    assert client.get(f"/registers/{world.class_a.id}/{world.year.first_day.isoformat()}").status_code == 200


# --- tracker.dates itself ---------------------------------------------------------------------


def test_the_range_and_the_period_rules(app):
    today = dt.date(2028, 2, 29)
    assert dates.latest(today) == dt.date(2033, 2, 28)
    assert dates.in_range(dates.EARLIEST, today) and not dates.in_range(dt.date(1999, 12, 31), today)
    assert dates.in_range(dt.date(2033, 2, 28), today) and not dates.in_range(dt.date(2033, 3, 1), today)
    assert dates.years_after(dt.date(2024, 2, 29), 3) == dt.date(2027, 2, 28)
    dates.check_period(dt.date(2024, 2, 29), dt.date(2027, 2, 28))
    with pytest.raises(dates.DateInputError) as err:
        dates.check_period(dt.date(2024, 2, 29), dt.date(2027, 3, 1))
    assert err.value.param == "to"
    with pytest.raises(dates.DateInputError) as err:
        dates.check_period(dt.date(2026, 1, 1), dt.date(2026, 6, 1), dt.date(1, 1, 1), names=("a", "b", "c"))
    assert err.value.param == "c" and err.value.message.startswith("c must be between")
    for text in ("2026-1-01", "2026/01/01", "", "２０２６-01-01", "2026-02-30", "0001-01-01"):
        with pytest.raises(dates.DateInputError):
            dates.parse_iso(text, "x")
    assert dates.parse_iso(" 2026-01-01 ", "x") == dt.date(2026, 1, 1)


def test_the_report_forms_date_pickers_offer_the_range(client, auth, world):
    auth.login(world.admin)
    before = dates.latest()
    page = client.get("/reports/").get_data(as_text=True)
    latest = {before, dates.latest()}  # the same day, unless the request ran across midnight
    for name in ("frm", "to", "as_of"):
        tag = next(t for t in page.split("<input")[1:] if f'name="{name}"' in t)
        assert f'min="{dates.EARLIEST}"' in tag and any(f'max="{day}"' in tag for day in latest), tag


def test_a_month_far_outside_the_range_has_no_page(client, auth, world):
    auth.login(world.teacher_a)
    for month in ("0001-01", "9999-12", "1999-12"):
        assert client.get(f"/registers/{world.class_a.id}/month/{month}").status_code == 404, month


@pytest.mark.parametrize("args", [["flags", "refresh", "--as-of", "9999-12-31"],
                                  ["flags", "refresh", "--as-of", "0001-01-01"],
                                  ["centres", "--date", "0001-01-01"]])
def test_commands_refuse_dates_far_outside_the_range(runner, world, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "between 2000-01-01 and" in result.output
