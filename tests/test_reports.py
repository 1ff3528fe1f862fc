"""The retention and attendance report: page, files, scope and disclosure control, as users meet them.

Staff get exact figures for any dates. Partners (and staff who prepare a report for sharing) choose a fixed
period (here mostly February 2024, counted as of Thu 29 February like the staff queries) and see every count
perturbed and rounded to a multiple of 5, "<5" below 5, rates from those counts in whole percent.
"""
from __future__ import annotations

import csv
import io
import random
import re
import subprocess

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.test_indicators import D, Pop, pop, school_days  # noqa: F401  (pop is a fixture)
from tracker.audit.models import AuditEvent
from tracker.children.models import RECORD_KEY_MODULUS
from tracker.extensions import db
from tracker.models import Child, User
from tracker.reports import data, exports
from tracker.reports.exports import neutralise
from tracker.types import Level, Role

FROM, TO = D(2023, 9, 1), D(2024, 6, 21)
QUERY = "?frm=2023-09-01&to=2024-06-21"
# Partners choose a period: February 2024 is counted from 1 to 29 February, as of the 29th.
PERIOD = "2024-02"
PARTNER_QUERY = "?period=" + PERIOD
# What the page promises: a published count "can differ from the true count by up to 4" (a perturbation of at
# most 2, then rounding to a multiple of 5).
BOUND = 4
BASE = 5
# The counts of children in a tidy row, by kind of indicator (rates and parity indices are not counts).
DAY_RATES = ("attendance_rate", "register_completeness")
RETENTION_COUNTS = ("numerator", "denominator", "cohort", "retained", "moved_onward", "dropped_out")
NUMBERS = ("numerator", "denominator", "value", "cohort", "retained", "moved_onward", "dropped_out", "children")


def fix_record_keys(seed: int = 20240229) -> None:
    """Give every child a record key drawn from a seeded generator, so that the perturbations (and so every
    partner figure) are the same in every run; the tests' claims hold whatever the keys are."""
    rng = random.Random(seed)
    for child in db.session.scalars(sa.select(Child).order_by(Child.code)):
        child.record_key = rng.randrange(RECORD_KEY_MODULUS)
    db.session.commit()


def count_fields(row: dict) -> tuple[str, ...]:
    """The fields of a tidy row that are counts of children (published as multiples of 5)."""
    name = str(row.get("indicator") or "")
    if name.startswith("gpi_") or name.startswith("assessment_") or row.get("section") == "about":
        return ()
    if name in DAY_RATES or row.get("section") == "attendance_by_month":
        return ("children",)
    if name.startswith("retention_"):
        return RETENTION_COUNTS
    if name in ("enrolled", "new_enrolments") or name.startswith("exits_"):
        return ("numerator", "value")
    return ("numerator", "denominator")


def number(value):
    """A figure of a row, of a CSV cell (text) or an XLSX cell (a number): None when blank."""
    if value is None or value == "":
        return None
    return float(value)


def check_published_counts(rows: list[dict]) -> None:
    """Every count a partner sees is a multiple of 5 and at least 5 (or blank); a withheld row has no figure; the
    days behind attendance rates are never given; a rate has at most two decimals (whole percent)."""
    assert rows
    for r in rows:
        if r.get("section") == "about":
            continue
        if r.get("suppressed"):
            assert all(number(r.get(k)) is None for k in NUMBERS), r
            continue
        for field in count_fields(r):
            value = number(r.get(field))
            assert value is None or (value % BASE == 0 and value >= BASE), (field, r)
        name = str(r.get("indicator") or "")
        if name in DAY_RATES or r.get("section") == "attendance_by_month":
            assert number(r.get("numerator")) is None and number(r.get("denominator")) is None, r
        value = number(r.get("value"))
        if value is not None and not name.startswith("gpi_"):
            assert round(value, 2) == value, r


def headline(html: str) -> dict[str, list[str]]:
    """The headline figures of a report page: {label: the texts of its <dd>s}."""
    part = html.split('class="headline"', 1)[1].split("</dl>", 1)[0]
    out = {}
    for item in re.findall(r"<div>(.*?)</div>", part, re.S):
        label = re.search(r"<dt>(.*?)</dt>", item, re.S).group(1).strip()
        out[label] = [" ".join(re.sub(r"<[^>]+>", " ", dd).split()) for dd in re.findall(r"<dd[^>]*>(.*?)</dd>",
                                                                                          item, re.S)]
    return out


def near(shown: str, true: int) -> bool:
    """A published count: a multiple of 5, at most BOUND from the true count."""
    return shown.isdigit() and int(shown) % BASE == 0 and abs(int(shown) - true) <= BOUND


def build_population(pop: Pop) -> dict:
    """PR001 (Beograd): 12 girls and 9 boys in primary, 3 of the boys unaccompanied; SE001 (Beograd):
    6 girls in secondary; PR002 (Subotica): 2 boys. Every one present on every school day of
    February 2024 except one absence each for the girls of PR001; 2 dropped out of PR001 in March."""
    feb = school_days("PR001", D(2024, 2, 1), D(2024, 2, 29))
    kids = []
    for i in range(12):
        c = pop.child(f"C-G{i:02d}", "female", D(2013, 1, 1 + i))
        e = pop.enrol(c, pop.p1, Level.primary, 5, D(2023, 9, 1))
        pop.attend(e, feb, absent_unexcused=[feb[i % len(feb)]])
        kids.append(e)
    for i in range(9):
        uasc = [("unaccompanied", D(2023, 6, 1), None)] if i < 3 else []
        c = pop.child(f"C-B{i:02d}", "male", D(2012, 3, 1 + i), uasc=uasc)
        end, reason = (D(2024, 3, 15), "dropped_out") if i in (7, 8) else (None, None)
        e = pop.enrol(c, pop.p1, Level.primary, 6, D(2023, 9, 1), end, reason)
        pop.attend(e, feb)
        kids.append(e)
    for i in range(6):
        c = pop.child(f"C-S{i:02d}", "female", D(2008, 5, 1 + i))
        pop.enrol(c, pop.s1, Level.secondary, 1, D(2023, 9, 1))
    for i in range(2):
        c = pop.child(f"C-P{i:02d}", "male", D(2014, 5, 1 + i))
        pop.enrol(c, pop.p2, Level.primary, 3, D(2023, 9, 1))
    db.session.commit()
    return {"enrolments": kids}


def add_user(email: str, role, password_hash: str, **kw) -> User:
    """A user named after their e-mail address, added to the session."""
    u = User(email=email, name=email.split("@")[0], role=role, password_hash=password_hash, **kw)
    db.session.add(u)
    return u


@pytest.fixture
def people(app, pop, password_hash):
    build_population(pop)
    fix_record_keys()

    def user(email, role, **kw):
        return add_user(email, role, password_hash, **kw)

    users = {"admin": user("admin@example.org", Role.admin), "partner": user("partner@example.org", Role.partner),
             "liaison": user("liaison@example.org", Role.liaison, schools=[pop.p1]),
             "teacher": user("teacher@example.org", Role.teacher)}
    db.session.commit()
    return users


def login(client, user):
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code in (302, 303), r.status_code


def row(report_or_rows, indicator, **dims):
    rows = report_or_rows
    hits = [r for r in rows if r["indicator"] == indicator and all(r.get(d) == v for d, v in dims.items())
            and all(r.get(d) is None for d in ("sex", "uasc", "level", "age_band") if d not in dims)]
    assert len(hits) == 1, (indicator, dims, hits)
    return hits[0]


# --- the page ---------------------------------------------------------------------------------------

def test_admin_sees_exact_figures_for_every_school(client, people):
    login(client, people["admin"])
    page = client.get("/reports/" + QUERY + "&as_of=2024-02-29")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Enrolled on 29 February: 12 + 9 at PR001, 6 at SE001, 2 at PR002 = 29.
    assert '<dd>29</dd>' in html
    assert "UASC and girls in secondary school" in html
    assert "<svg" in html
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)  # no inline script (the menu's is a file)
    assert 'class="supp"' not in html  # exact figures, nothing hidden
    for title in ("Headline figures", "Exits by reason", "Attendance by month", "Definitions"):
        assert title in html


def test_partner_gets_rounded_counts_small_groups_as_less_than_five_and_no_sharing_box(client, people):
    login(client, people["partner"])
    r = client.get("/reports/" + PARTNER_QUERY)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    figures = headline(html)
    # 29 children enrolled on 29 February, published as a multiple of 5 at most 4 away.
    assert near(figures["Enrolled"][0], 29), figures["Enrolled"]
    assert re.fullmatch(r"\d+%", figures["Attendance rate"][0])  # a rate in whole percent
    assert len(figures["Attendance rate"]) == 1  # and not the days it comes from
    # There are no boys in secondary school: a group of nobody is withheld like a small one.
    assert 'class="supp"' in html and "&lt;5</span>" in html  # and the 3 unaccompanied boys
    assert ">x<" not in html  # one marker only
    assert "can differ from the true count by up to 4" in html
    assert "Prepare for sharing" not in html
    assert 'name="period"' in html and 'name="frm"' not in html and 'name="as_of"' not in html  # periods only
    assert "C-G00" not in html  # no child is ever named


@pytest.mark.parametrize("query, message", [
    (QUERY + "&as_of=2024-02-29", "choose a period instead of dates"),
    ("?as_of=2024-02-29", "choose a period instead of dates"),
    (PARTNER_QUERY + "&schools=PR001&schools=SE001", "not a set of schools"),
    # SE001 has 6 children: too few to be shown alone; the message names its municipality.
    (PARTNER_QUERY + "&school=SE001", "too few to be shown alone: choose its municipality, Beograd"),
    ("?period=2031/32", "There are no figures for 2031/32 yet"),
    ("?period=last-year", "is not a period"),
])
def test_partner_dates_sets_of_schools_and_small_schools_are_a_clear_400(client, people, query, message):
    login(client, people["partner"])
    for path in ("/reports/", "/reports/report.csv"):
        r = client.get(path + query, headers={"Accept": "application/json"})
        assert r.status_code == 400, (path, query)
        text = r.get_data(as_text=True)
        assert message in (r.get_json()["message"] if r.is_json else html_text(text)), (path, text[-400:])


def html_text(html: str) -> str:
    import html as html_module

    return html_module.unescape(html)


def test_partner_dates_without_as_of_are_a_400_too(client, people):
    login(client, people["partner"])
    r = client.get("/reports/" + QUERY)
    assert r.status_code == 400
    assert "choose a period instead of dates" in html_text(r.get_data(as_text=True))


def test_partner_may_choose_a_school_large_enough_to_be_shown_alone(client, people):
    login(client, people["partner"])
    html = client.get("/reports/" + PARTNER_QUERY).get_data(as_text=True)
    select = html.split('name="school"', 1)[1].split("</select>", 1)[0]
    assert 'value="PR001"' in select  # 21 children
    assert 'value="SE001"' not in select and 'value="PR002"' not in select  # 6 and 2: only in their municipality
    r = client.get("/reports/" + PARTNER_QUERY + "&school=PR001")
    assert r.status_code == 200
    assert near(headline(r.get_data(as_text=True))["Enrolled"][0], 21)


def test_liaison_sees_only_their_school_and_may_prepare_for_sharing(client, people):
    login(client, people["liaison"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29").get_data(as_text=True)
    assert '<dd>21</dd>' in html  # PR001 only: 12 girls and 9 boys
    assert "Prepare for sharing" in html
    refused = client.get("/reports/" + QUERY + "&as_of=2024-02-29&sharing=y")
    assert refused.status_code == 400 and "choose a period instead of dates" in refused.get_data(as_text=True)
    # Their schools are a set of their own choosing: sharing takes one school (or a whole municipality).
    unplaced = client.get("/reports/" + PARTNER_QUERY + "&sharing=y")
    assert unplaced.status_code == 400 and "choose one school or one municipality" in unplaced.get_data(as_text=True)
    shared = client.get("/reports/" + PARTNER_QUERY + "&sharing=y&schools=PR001")
    assert shared.status_code == 200
    html = shared.get_data(as_text=True)
    assert "As partners see it:" in html
    assert near(headline(html)["Enrolled"][0], 21)
    # Exactly what a partner gets for that school: the same children give the same figures.
    client.post("/logout")
    login(client, people["partner"])
    partner = client.get("/reports/" + PARTNER_QUERY + "&school=PR001").get_data(as_text=True)
    assert headline(partner) == headline(html)


def test_teacher_has_no_report(client, people):
    login(client, people["teacher"])
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/report.pdf").status_code == 403


@pytest.mark.parametrize("query, message", [
    ("?frm=2024-06-01&to=2024-01-01", "before its start"),
    ("?frm=2024-13-01&to=2024-06-01", "Not a valid date"),
    (QUERY + "&schools=SU999", "No school with the code SU999"),
    (QUERY + "&schools=PR001&municipality=Beograd", "not both"),
])
def test_bad_requests_get_a_clear_400(client, people, query, message):
    login(client, people["admin"])
    r = client.get("/reports/" + query)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)


def test_liaison_cannot_name_a_school_outside_their_scope(client, people):
    login(client, people["liaison"])
    r = client.get("/reports/" + QUERY + "&schools=PR002")
    assert r.status_code == 400
    assert "No school with the code PR002 in your scope" in r.get_data(as_text=True)


def test_a_period_with_no_data_shows_useful_empty_states(client, people):
    login(client, people["admin"])
    html = client.get("/reports/?frm=2030-09-01&to=2030-10-01").get_data(as_text=True)
    assert "No registers were recorded in this period." in html


# --- the files ----------------------------------------------------------------------------------------

def test_csv_has_the_tidy_rows_and_the_suppression_marker(client, people):
    login(client, people["partner"])
    r = client.get("/reports/report.csv" + PARTNER_QUERY)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    enrolled = [x for x in rows if x["section"] == "headline" and x["indicator"] == "enrolled"]
    assert near(enrolled[0]["numerator"], 29) and enrolled[0]["suppressed"] == ""
    small = [x for x in rows if x["suppressed"] == "<5"]
    assert small and all(x["numerator"] == "" and x["value"] == "" for x in small)
    assert {x["suppressed"] for x in rows if x["section"] != "about"} <= {"", "<5"}  # no "x" any more
    check_published_counts(rows)
    assert {"indicator", "numerator", "denominator", "value", "suppressed"} <= set(rows[0])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "report_exported")) == 1


def test_xlsx_opens_with_an_about_sheet_and_one_sheet_per_section(client, people):
    login(client, people["admin"])
    r = client.get("/reports/report.xlsx" + QUERY + "&as_of=2024-02-29")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames[0] == "About"
    assert {"headline", "uasc_girls", "breakdowns", "exits", "attendance_by_month"} <= set(book.sheetnames)
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert about["Period"] == "2023-09-01 – 2024-06-21"
    sheet = book["headline"]
    header = [c.value for c in sheet[1]]
    values = {r[header.index("indicator")]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["enrolled"][header.index("numerator")] == 29  # a number, not text


def pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_pdf_figures_match_the_page(client, people, tmp_path):
    login(client, people["admin"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29").get_data(as_text=True)
    r = client.get("/reports/report.pdf" + QUERY + "&as_of=2024-02-29")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    text = pdf_text(r.data, tmp_path)
    assert "Retention and attendance report" in text
    assert "2023-09-01 – 2024-06-21" in text
    report = data.build_report(people["admin"], frm=FROM, to=TO, as_of=D(2024, 2, 29))
    # The headline figures of the page, formatted as the page shows them, are in the PDF.
    rate = report.row("attendance_rate")["value"]
    shown = f"{rate * 100:.1f}%"
    assert shown in html and shown in text
    assert "29" in text.split("Enrolled", 1)[1][:80]
    for title in ("UASC and girls in secondary school", "Exits by reason", "Attendance by month", "Definitions"):
        assert title in text
    assert re.search(r"\b2\s*/\s*\d+\b", text)  # page numbers "n / N"


def test_pdf_for_a_partner_hides_small_groups(client, people, tmp_path):
    login(client, people["partner"])
    r = client.get("/reports/report.pdf" + PARTNER_QUERY)
    assert r.status_code == 200
    text = pdf_text(r.data, tmp_path)
    assert "<5" in text and "C-G00" not in text
    assert "rounded to a multiple of 5" in " ".join(text.split())
    assert "2024-02-01 – 2024-02-29" in text  # the period, up to its end


def test_command_writes_each_format(runner, people, tmp_path):
    for fmt in ("html", "csv", "xlsx", "pdf"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(args=["report", "--from", "2023-09-01", "--to", "2024-06-21", "--as-of", "2024-02-29",
                                     "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 500
    assert "<dd>29</dd>" in (tmp_path / "report.html").read_text(encoding="utf-8")
    bad = runner.invoke(args=["report", "--from", "2024-06-01", "--to", "2024-01-01", "--format", "csv",
                              "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0 and "before its start" in bad.output
    assert not (tmp_path / "x.csv").exists()
    school = runner.invoke(args=["report", "--from", "2023-09-01", "--to", "2024-06-21", "--as-of", "2024-02-29",
                                 "--school", "PR001", "--format", "html", "--out", str(tmp_path / "p.html")])
    assert school.exit_code == 0, school.output
    assert "<dd>21</dd>" in (tmp_path / "p.html").read_text(encoding="utf-8")
    # A period instead of dates: exact figures from the command line, as of the period's last day.
    month = runner.invoke(args=["report", "--period", PERIOD, "--format", "html", "--out", str(tmp_path / "m.html")])
    assert month.exit_code == 0, month.output
    assert "<dd>29</dd>" in (tmp_path / "m.html").read_text(encoding="utf-8")
    neither = runner.invoke(args=["report", "--format", "csv", "--out", str(tmp_path / "n.csv")])
    assert neither.exit_code == 2 and "Give --period, or both --from and --to." in neither.output


def test_command_prepares_for_sharing_only_for_a_period(runner, people, tmp_path):
    out = tmp_path / "shared.csv"
    result = runner.invoke(args=["report", "--period", PERIOD, "--sharing", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    enrolled = next(x for x in rows if x["section"] == "headline" and x["indicator"] == "enrolled")
    assert near(enrolled["numerator"], 29)
    check_published_counts(rows)
    refused = runner.invoke(args=["report", "--from", "2023-09-01", "--to", "2024-06-21", "--sharing", "--format",
                                  "csv", "--out", str(tmp_path / "x.csv")])
    assert refused.exit_code != 0 and "choose a period instead of dates" in refused.output
    assert not (tmp_path / "x.csv").exists()
    two = runner.invoke(args=["report", "--period", PERIOD, "--sharing", "--school", "PR001", "--school", "SE001",
                              "--format", "csv", "--out", str(tmp_path / "y.csv")])
    assert two.exit_code != 0 and "not a set of schools" in two.output


@pytest.mark.parametrize("value, expected", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("|x", "'|x"), ("%x", "'%x"),
    ("\tx", "'\tx"), ("Beograd", "Beograd"), (12, 12), (None, None),
])
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_a_municipality_name_starting_with_a_formula_sign_is_neutralised_in_the_files(app, people, pop):
    pop.p2.municipality = "=HYPERLINK(1)"
    db.session.commit()
    report = data.build_report(people["admin"], frm=FROM, to=TO, as_of=D(2024, 2, 29))
    report.load([("municipality",)])
    report.sections[0].rows = lambda r: [{"indicator": "enrolled", **x} for x in r.table("municipality")
                                         if x["indicator"] == "enrolled"]
    with app.test_request_context():
        body, _m, _f = exports.render("csv", report)
    assert "'=HYPERLINK(1)" in body.decode("utf-8") and ",=HYPERLINK" not in body.decode("utf-8")


# --- disclosure control on the report's numbers -----------------------------------------------------------

def test_partner_breakdowns_are_limited_to_what_the_deployment_allows(app, people):
    with app.test_request_context():
        for by in (["country"], ["centre"], ["school"]):
            with pytest.raises(data.ReportError, match="not available to partners"):
                data.indicator_rows(people["partner"], period=PERIOD, by=by)
        with pytest.raises(data.ReportError, match="at most 2"):
            data.indicator_rows(people["partner"], period=PERIOD, by=["sex", "uasc", "level"])
        exact = data.indicator_rows(people["admin"], frm=FROM, to=TO, by=["country"])
        assert exact["suppressed"] is False and exact["min_cell"] is None and exact["period"] is None


def key_of(r: dict, by) -> tuple:
    return (r["indicator"], *(r.get(d) for d in by))


def test_every_published_partner_count_is_a_multiple_of_five_near_the_true_count(app, people):
    by = ["sex", "uasc"]
    with app.test_request_context():
        out = data.indicator_rows(people["partner"], period=PERIOD, by=by)
        exact = data.indicator_rows(people["admin"], period=PERIOD, by=by)
    assert out["suppressed"] is True and out["min_cell"] == 5
    assert (out["period"], out["from"], out["to"], out["as_of"]) == (PERIOD, "2024-02-01", "2024-02-29", "2024-02-29")
    assert (exact["from"], exact["to"], exact["as_of"]) == (out["from"], out["to"], out["as_of"])
    assert exact["suppressed"] is False and exact["period"] == PERIOD
    assert {r["suppressed"] for r in out["rows"]} <= {None, "small"}  # no secondary suppression any more
    check_published_counts(out["rows"])
    true = {key_of(r, by): r for r in exact["rows"]}
    for r in out["rows"]:
        if r["indicator"].startswith("gpi_"):
            continue
        real = true.get(key_of(r, by))
        if real is None:  # a group of nobody: shown, withheld
            assert r["suppressed"] == "small", r
            continue
        if r["suppressed"]:
            continue
        for field in count_fields(r):
            if r.get(field) is not None:
                assert abs(r[field] - real[field]) <= BOUND, (field, r, real)
        if r["indicator"] not in DAY_RATES and r["denominator"] is not None and "numerator" in count_fields(r) \
                and r["indicator"] not in ("enrolled", "new_enrolments") and not r["indicator"].startswith("exits_"):
            # A rate from the published counts (a count below 5 counted as 0), in whole percent.
            assert r["value"] == round(min(1.0, (r["numerator"] or 0) / r["denominator"]), 2), r
    # No girl is unaccompanied: that group of nobody is withheld, with no figure.
    girls_uasc = row(out["rows"], "enrolled", sex="female", uasc="unaccompanied")
    assert girls_uasc["suppressed"] == "small" and girls_uasc["numerator"] is None and girls_uasc["value"] is None
    # The 3 unaccompanied boys are fewer than 5: withheld, whatever their cell key.
    boys_uasc = row(out["rows"], "enrolled", sex="male", uasc="unaccompanied")
    assert boys_uasc["suppressed"] == "small" and boys_uasc["numerator"] is None
    # Every published count rests on at least 5 children.
    for r in out["rows"]:
        real = true.get(key_of(r, by))
        if real is not None and not r["suppressed"] and not r["indicator"].startswith("gpi_"):
            assert all(real[f] >= 5 for f in count_fields(r) if r.get(f) is not None), (r, real)


def test_the_same_cell_gets_the_same_answer_in_every_request(app, people):
    """A total or a one-way table looks the same whatever finer breakdown is asked for with it, and asking
    again gives exactly the same answer (nothing to average away)."""
    with app.test_request_context():
        alone = data.indicator_rows(people["partner"], period=PERIOD, by=["sex"])
        again = data.indicator_rows(people["partner"], period=PERIOD, by=["sex"])
        total = data.indicator_rows(people["partner"], period=PERIOD)["rows"]
        finer = data.build_report(people["partner"], period=PERIOD)
    assert alone == again
    compared = 0
    for r in alone["rows"]:
        other = finer.row(r["indicator"], sex=r["sex"]) if r["sex"] is not None else None
        if other is not None:
            compared += 1
            assert {k: other.get(k) for k in ("suppressed", *NUMBERS)} == \
                {k: r.get(k) for k in ("suppressed", *NUMBERS)}, r
    assert compared
    for r in total:
        if not r["indicator"].startswith("gpi_"):
            other = finer.row(r["indicator"])
            assert other is not None and (other["suppressed"], other["numerator"], other["value"]) == \
                (r["suppressed"], r["numerator"], r["value"]), r


def test_pdf_renders_latin_cyrillic_and_arabic_place_names(app, people, pop, tmp_path):
    pop.p1.name = "ОШ Вук Караџић"
    pop.p2.name = "مدرسة الأمل"
    pop.s1.name = "Gimnazija Šabac"
    db.session.commit()
    with app.test_request_context():
        report = data.build_report(people["admin"], frm=FROM, to=TO, school_codes=["PR001", "PR002", "SE001"])
        body = exports.to_pdf(report)
    text = pdf_text(body, tmp_path)
    assert "ОШ Вук Караџић" in text and "Gimnazija Šabac" in text
    assert "مدرسة" in text  # (the lam-alef ligature of the second word comes back decomposed)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True).stdout
    assert "DejaVu-Sans" in fonts or "Noto" in fonts, fonts  # installed fonts with Arabic glyphs, embedded


def test_loading_another_table_later_keeps_every_cell_as_it_was(app, people):
    """A cell keeps its published value, or stays withheld, when a section loads more tables later."""
    def figures(report, *by):
        return {key_of(r, by): {k: r.get(k) for k in ("suppressed", *NUMBERS)} for r in report.table(*by)}

    with app.test_request_context():
        report = data.build_report(people["partner"], period=PERIOD)
        before = figures(report, "level", "sex"), figures(report)
        report.table("age_band", "sex")  # a later load, as a plugin's section might do
        after = figures(report, "level", "sex"), figures(report)
    assert before == after
    # There are no boys in secondary school: withheld before and after, never a zero.
    boys = after[0][("enrolled", "secondary", "male")]
    assert boys["suppressed"] == "small" and boys["numerator"] is None
