"""The retention and attendance report: page, files, scope and small-cell suppression, as users meet them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.test_indicators import D, Pop, pop, school_days  # noqa: F401  (pop is a fixture)
from tracker.audit.models import AuditEvent
from tracker.extensions import db
from tracker.models import User
from tracker.reports import data, exports
from tracker.reports.exports import neutralise
from tracker.types import Level, Role

FROM, TO = D(2023, 9, 1), D(2024, 6, 21)
QUERY = "?frm=2023-09-01&to=2024-06-21"


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


@pytest.fixture
def people(app, pop, password_hash):
    build_population(pop)

    def user(email, role, **kw):
        u = User(email=email, name=email.split("@")[0], role=role, password_hash=password_hash, **kw)
        db.session.add(u)
        return u

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
    assert "<svg" in html and "<script" not in html
    assert 'class="supp"' not in html  # exact figures, nothing hidden
    for title in ("Headline figures", "Exits by reason", "Attendance by month", "Definitions"):
        assert title in html


def test_partner_gets_small_groups_as_less_than_five_and_no_sharing_box(client, people):
    login(client, people["partner"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29").get_data(as_text=True)
    assert '<dd>29</dd>' in html  # the total is large enough
    assert 'class="supp"' in html and "&lt;5</span>" in html  # the 3 unaccompanied boys
    assert "Prepare for sharing" not in html
    assert "C-G00" not in html  # no child is ever named


def test_liaison_sees_only_their_school_and_may_prepare_for_sharing(client, people):
    login(client, people["liaison"])
    html = client.get("/reports/" + QUERY + "&as_of=2024-02-29").get_data(as_text=True)
    assert '<dd>21</dd>' in html  # PR001 only: 12 girls and 9 boys
    assert "Prepare for sharing" in html
    shared = client.get("/reports/" + QUERY + "&as_of=2024-02-29&sharing=y").get_data(as_text=True)
    assert "&lt;5</span>" in shared


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
    r = client.get("/reports/report.csv" + QUERY + "&as_of=2024-02-29")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    enrolled = [x for x in rows if x["section"] == "headline" and x["indicator"] == "enrolled"]
    assert enrolled[0]["numerator"] == "29" and enrolled[0]["suppressed"] == ""
    small = [x for x in rows if x["suppressed"] == "<5"]
    assert small and all(x["numerator"] == "" and x["value"] == "" for x in small)
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
    r = client.get("/reports/report.pdf" + QUERY + "&as_of=2024-02-29")
    text = pdf_text(r.data, tmp_path)
    assert "<5" in text and "C-G00" not in text


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
                data.indicator_rows(people["partner"], frm=FROM, to=TO, by=by)
        with pytest.raises(data.ReportError, match="at most 2"):
            data.indicator_rows(people["partner"], frm=FROM, to=TO, by=["sex", "uasc", "level"])
        exact = data.indicator_rows(people["admin"], frm=FROM, to=TO, by=["country"])
        assert exact["suppressed"] is False and exact["min_cell"] is None


def test_every_published_partner_cell_is_at_least_k_children(app, people):
    with app.test_request_context():
        out = data.indicator_rows(people["partner"], frm=FROM, to=TO, as_of=D(2024, 2, 29), by=["sex", "uasc"])
    assert out["suppressed"] is True and out["min_cell"] == 5
    for r in out["rows"]:
        if r["suppressed"] or r["indicator"].startswith("gpi_"):
            continue
        assert min(data.counts_of(r)) >= 5, r
    boys_uasc = row(out["rows"], "enrolled", sex="male", uasc="unaccompanied")
    assert boys_uasc["suppressed"] == "small" and boys_uasc["numerator"] is None
    # 6 boys accompanied would give the 3 away (9 - 6): it is hidden too.
    assert row(out["rows"], "enrolled", sex="male", uasc="accompanied")["suppressed"] == "secondary"


def test_the_same_cell_gets_the_same_answer_in_every_request(app, people):
    """A total or a one-way table looks the same whatever finer breakdown is asked for with it."""
    with app.test_request_context():
        alone = data.indicator_rows(people["partner"], frm=FROM, to=TO, as_of=D(2024, 2, 29), by=["sex"])["rows"]
        finer = data.build_report(people["partner"], frm=FROM, to=TO, as_of=D(2024, 2, 29))
    for r in alone:
        other = finer.row(r["indicator"], sex=r["sex"]) if r["sex"] is not None else None
        if other is not None:
            assert (other["suppressed"], other["numerator"]) == (r["suppressed"], r["numerator"]), r


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


def test_loading_another_table_later_keeps_hidden_cells_as_they_were(app, people):
    """A cell withheld so a small group cannot be worked out stays "x" (not "<5") when a section loads more tables."""
    with app.test_request_context():
        report = data.build_report(people["partner"], frm=FROM, to=TO, as_of=D(2024, 2, 29))
        before = {(r["indicator"], r.get("uasc")): r["suppressed"] for r in report.table("uasc")}
        report.table("age_band", "sex")  # a later load, as a plugin's section might do
        after = {(r["indicator"], r.get("uasc")): r["suppressed"] for r in report.table("uasc")}
    assert before == after
    assert after[("enrolled", "accompanied")] == "secondary" and after[("enrolled", "unaccompanied")] == "small"
