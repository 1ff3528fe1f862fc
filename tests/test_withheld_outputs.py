"""Issue 12, one door: nothing a partner sees prints a figure of a withheld cell.

A population with small ("<5") and secondary ("x") cells is rendered in every format a partner (or a
liaison officer preparing the report for sharing) can get: the report page, the standalone HTML and the PDF
made from it (read back with pdftotext), the charts, the CSV, the XLSX, and the API's indicators (the partner home page:
tests/test_dashboard_disclosure.py). For every withheld cell the output carries its marker and nothing else: no count, no days, no rate,
no bar. Every output also says that small numbers are withheld.
"""
from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from flask_babel import format_decimal, format_percent
from openpyxl import load_workbook

from tests.test_indicators import D, pop, school_days  # noqa: F401  (pop is a fixture)
from tests.test_reports import FROM, TO, build_population, login, pdf_text
from tracker.extensions import db
from tracker.models import User
from tracker.reports import data, exports
from tracker.reports.default_sections import UASC, months_of
from tracker.types import Level, Role

AS_OF = D(2024, 2, 29)
QUERY = f"?frm={FROM.isoformat()}&to={TO.isoformat()}&as_of={AS_OF.isoformat()}"
NUMBERS = ("numerator", "denominator", "value", "cohort", "retained", "moved_onward", "dropped_out", "children")
NOTE = "are withheld so that they cannot be worked out from the totals"
DIMS = ("level", "sex", "uasc", "age_band", "municipality", "school", "country", "centre", "month")


def extra_population(pop) -> None:
    """On top of tests.test_reports' population: 4 unaccompanied girls in secondary school at SE001, absent on
    every school day of February (a withheld group whose exact attendance rate is 0.0%)."""
    feb = school_days("SE001", D(2024, 2, 1), D(2024, 2, 29))
    for i in range(4):
        c = pop.child(f"C-U{i:02d}", "female", D(2008, 9, 1 + i), uasc=[("unaccompanied", D(2023, 6, 1), None)])
        e = pop.enrol(c, pop.s1, Level.secondary, 1, D(2023, 9, 1))
        pop.attend(e, feb, "absent_unexcused")
    db.session.commit()


@pytest.fixture
def viewers(app, pop, password_hash):
    build_population(pop)
    extra_population(pop)

    def user(email, role, **kw):
        u = User(email=email, name=email.split("@")[0], role=role, password_hash=password_hash, **kw)
        db.session.add(u)
        return u

    users = {"partner": user("partner@example.org", Role.partner),
             "liaison": user("liaison@example.org", Role.liaison, schools=[pop.p1, pop.s1]),
             "admin": user("admin@example.org", Role.admin)}
    db.session.commit()
    return users


# (who, query): a partner, and staff who tick "Prepare for sharing".
AUDIENCES = [("partner", ""), ("liaison", "&sharing=y"), ("admin", "&sharing=y")]


def report_for(app, user, sharing: bool) -> data.Report:
    with app.test_request_context():
        return data.build_report(user, frm=FROM, to=TO, as_of=AS_OF, sharing=sharing)


def withheld(row) -> bool:
    return bool(row and row.get("suppressed"))


def marker(report, row) -> str:
    return "<%d" % report.k if row["suppressed"] == "small" else "x"


# --- what must be withheld, independently of the outputs ------------------------------------------------

def test_the_population_has_small_and_secondary_cells_and_blanks_their_figures(app, viewers):
    report = report_for(app, viewers["partner"], False)
    statuses = {r["suppressed"] for rows in report.tables.values() for r in rows}
    assert {"small", "secondary"} <= statuses
    for by, rows in report.tables.items():
        raw = {(r["indicator"], tuple(r.get(d) for d in by)): r for r in report.raw.get(by, [])}
        for r in rows:
            exact = raw.get((r["indicator"], tuple(r.get(d) for d in by)))
            if not r["indicator"].startswith("gpi_") and (exact is None or min(data.counts_of(exact)) < report.k):
                assert r["suppressed"] == "small", (by, r)
            if r["suppressed"]:
                assert all(r.get(k) is None for k in NUMBERS), (by, r)
    # The withheld group of the population: 4 unaccompanied girls in secondary school, none attending.
    girls = report.row("attendance_rate", level="secondary", sex="female", uasc="unaccompanied")
    assert girls["suppressed"] == "small"


def test_one_function_formats_a_cell_for_every_output():
    published = {"indicator": "attendance_rate", "numerator": 9, "denominator": 10, "value": 0.9, "suppressed": None}
    small = {"indicator": "attendance_rate", "numerator": 0, "denominator": 20, "value": 0.0, "suppressed": "small"}
    hidden = {**small, "suppressed": "secondary"}
    assert data.cell(published, 5).number("value") == 0.9 and data.cell(published, 5).marker == ""
    # Even a row that still carried its figures gives none of them once it is withheld.
    for row, mark in ((small, "<5"), (hidden, "x")):
        c = data.cell(row, 5)
        assert c.withheld and c.marker == mark
        assert all(c.number(k) is None for k in NUMBERS)
        assert all(data.shareable(row, 5)[k] is None for k in ("numerator", "denominator", "value"))
    assert data.cell(None, 5).missing and data.cell(None, 5).number() is None


# --- the page, the standalone HTML and the PDF ----------------------------------------------------------

class Page(HTMLParser):
    """Per section: its report tables (rows of <td> texts), its headline items and its charts' markup."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, dict] = {}
        self._section = None
        self._cell = None
        self._dd = None
        self._svg_depth = 0
        self.feed(html)

    def _here(self) -> dict:
        return self.sections.setdefault(self._section, {"tables": [], "headline": [], "charts": []})

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and (attrs.get("id") or "").startswith("section-"):
            self._section = attrs["id"][len("section-"):]
        if self._section is None:
            return
        here = self._here()
        if tag == "table" and "report" in (attrs.get("class") or ""):
            here["tables"].append([])
        elif tag == "tr" and here["tables"]:
            here["tables"][-1].append([])
        elif tag == "td":
            self._cell = ""
        elif tag == "div" and self._section == "headline":
            here["headline"].append([])
        elif tag == "dd":
            self._dd = ""
        elif tag == "svg":
            here["charts"].append({"bars": 0, "withheld": 0, "values": [], "desc": ""})
            self._svg_depth += 1
        elif self._svg_depth and tag == "rect" and attrs.get("class") == "bar":
            here["charts"][-1]["bars"] += 1
        elif self._svg_depth and tag == "text":
            self._svg_text = attrs.get("class")
            self._cell_svg = ""
        elif self._svg_depth and tag == "desc":
            self._svg_text = "desc"
            self._cell_svg = ""

    def handle_endtag(self, tag):
        if self._section is None:
            return
        here = self._here()
        if tag == "td" and self._cell is not None:
            here["tables"][-1][-1].append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "dd" and self._dd is not None:
            if here["headline"]:
                here["headline"][-1].append(" ".join(self._dd.split()))
            self._dd = None
        elif tag == "svg":
            self._svg_depth -= 1
        elif self._svg_depth and tag in ("text", "desc") and getattr(self, "_cell_svg", None) is not None:
            chart = here["charts"][-1]
            if self._svg_text == "withheld":
                chart["withheld"] += 1
            elif self._svg_text == "value":
                chart["values"].append(self._cell_svg)
            elif self._svg_text == "desc":
                chart["desc"] = self._cell_svg
            self._cell_svg = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell += text
        if self._dd is not None:
            self._dd += text
        if self._svg_depth and getattr(self, "_cell_svg", None) is not None:
            self._cell_svg += text


def expected_tables(report) -> dict[str, list[list[list]]]:
    """Per section, in the order the templates print them: each table's lines, each line's cells as rows."""
    ctx = report.contexts

    def grid(lines, total=None):
        return [line["cells"] for line in lines] + ([total] if total else [])

    ug = ctx["uasc_girls"]
    out = {"uasc_girls": [grid(ug["chart_table"]), grid(ug["grid"], ug["total"]), grid(ug["by_sex"]),
                          grid(ug["by_uasc"])]}
    bd = ctx["breakdowns"]
    out["breakdowns"] = [grid(t["lines"], t["total"]) for t in bd["tables"]] + [[[p["row"]] * 3 for p in bd["parity"]]]
    ex = ctx["exits"]
    out["exits"] = [[[ex["moved"]["row"]], [ex["dropped"]["row"]], *[[i["row"]] for i in ex["others"]]]]
    out["attendance_by_month"] = [[[m] * 4 for m in ctx["attendance_by_month"]["months"]]] \
        if ctx["attendance_by_month"]["months"] else []
    return out


def expected_charts(report) -> dict[str, list[list]]:
    """Per section, each chart's cells (rows), in drawing order."""
    ctx = report.contexts
    charts = {"uasc_girls": [[report.row(f"retention_{level}_180d", level=level, sex=sex, uasc=s)
                              for sex in ("female", "male") for s in UASC] for level in ("primary", "secondary")]}
    charts["exits"] = [[i["row"] for i in ctx["exits"]["items"]]]
    months = ctx["attendance_by_month"]["months"]
    charts["attendance_by_month"] = [months] if months else []
    return charts


def withheld_figures(report) -> set[str]:
    """The exact figures of the withheld cells, as the page would print them (rates, counts, "n of d")."""
    out = set()
    for by, rows in report.tables.items():
        raw = {(r["indicator"], tuple(r.get(d) for d in by)): r for r in report.raw.get(by, [])}
        for r in rows:
            exact = raw.get((r["indicator"], tuple(r.get(d) for d in by)))
            if r["suppressed"] and exact is not None:
                if exact.get("value") is not None and r["indicator"] not in ("enrolled", "new_enrolments") \
                        and not r["indicator"].startswith("exits_"):
                    out.add(format_percent(exact["value"], "#,##0.0%"))
                if exact.get("denominator") is not None and exact.get("numerator") is not None:
                    out.add(f"{format_decimal(exact['numerator'], '#,##0.##')} of "
                            f"{format_decimal(exact['denominator'], '#,##0.##')}")
    return out


def published_figures(report) -> set[str]:
    return {format_percent(r["value"], "#,##0.0%") for rows in report.tables.values() for r in rows
            if not r["suppressed"] and r.get("value") is not None}


def check_page(report, html: str) -> None:
    page = Page(html)
    assert NOTE in html, "the page says that small numbers are withheld"
    for slug, tables in expected_tables(report).items():
        found = page.sections[slug]["tables"]
        assert len(found) >= len(tables), slug
        for t, (want, got) in enumerate(zip(tables, found)):
            got = [line for line in got if line]  # the header row has no <td>
            assert len(got) == len(want), (slug, t)
            for i, (cells, texts) in enumerate(zip(want, got)):
                for j, (row, text) in enumerate(zip(cells, texts)):
                    if withheld(row):
                        assert text == marker(report, row), (slug, t, i, j, text, row)
    items = report.contexts["headline"]["items"]
    for item, dds in zip(items, page.sections["headline"]["headline"]):
        if withheld(item["row"]):
            assert dds == [marker(report, item["row"])], (item["name"], dds)
    for slug, charts in expected_charts(report).items():
        drawn = page.sections[slug]["charts"]
        assert len(drawn) == len(charts), slug
        for cells, svg in zip(charts, drawn):
            shown = [c for c in cells if not withheld(c) and c is not None]
            # A withheld cell draws the withheld mark, no bar and no value label.
            assert svg["withheld"] == len(cells) - len(shown), (slug, svg)
            assert len(svg["values"]) == len(shown), (slug, svg)
    leaks = withheld_figures(report) - published_figures(report)
    visible = re.sub(r"<[^>]+>", " ", html)
    assert not [f for f in leaks if re.search(r"(?<![\d.,])" + re.escape(f), visible)]


@pytest.mark.parametrize("who, query", AUDIENCES)
def test_the_report_page_shows_only_markers_for_withheld_cells(app, client, viewers, who, query):
    login(client, viewers[who])
    r = client.get("/reports/" + QUERY + query)
    assert r.status_code == 200
    check_page(report_for(app, viewers[who], bool(query)), r.get_data(as_text=True))


@pytest.mark.parametrize("who, query", AUDIENCES[:2])
def test_the_pdf_shows_only_markers_for_withheld_cells(app, client, viewers, who, query, tmp_path):
    report = report_for(app, viewers[who], bool(query))
    with app.test_request_context():
        check_page(report, exports.to_html(report))
    login(client, viewers[who])
    r = client.get("/reports/report.pdf" + QUERY + query)
    assert r.status_code == 200
    text = " ".join(pdf_text(r.data, tmp_path).split())
    assert NOTE in text
    assert "<5" in text and " x " in text
    with app.test_request_context():
        leaks = withheld_figures(report) - published_figures(report)
    assert not [f for f in leaks if re.search(r"(?<![\d.,])" + re.escape(f), text)], leaks


def test_the_withheld_girls_attendance_is_not_printed_as_zero(app, client, viewers, tmp_path):
    """The issue's example: a withheld group whose exact rate is 0.0% shows "<5", never "0.0%"."""
    login(client, viewers["partner"])
    html = client.get("/reports/" + QUERY).get_data(as_text=True)
    text = " ".join(pdf_text(client.get("/reports/report.pdf" + QUERY).data, tmp_path).split())
    for out in (re.sub(r"<[^>]+>", " ", html), text):
        assert not re.search(r"(?<![\d.,])0\.0%", out)


# --- the files ------------------------------------------------------------------------------------------

def status_of(report, row: dict) -> str | None:
    if row.get("section") == "attendance_by_month":
        return next(m["suppressed"] for m in months_of(report) if m["month"] == row["month"])
    if str(row.get("indicator")).startswith("assessment_"):
        return None
    by = data.canonical([d for d in (row.get("breakdown") or "").split(",") if d])
    if by not in report.tables:
        return None
    for r in report.tables[by]:
        if r["indicator"] == row["indicator"] and all(str(r.get(d) if r.get(d) is not None else "")
                                                      == str(row.get(d) or "") for d in by):
            return r["suppressed"]
    return None


def check_tidy(report, rows: list[dict]) -> None:
    assert rows
    assert any(r["suppressed"] == "<5" for r in rows) and any(r["suppressed"] == "x" for r in rows)
    for r in rows:
        if r.get("section") == "about":
            continue
        if r["suppressed"]:
            assert all(r.get(k) in (None, "") for k in NUMBERS), r
        status = status_of(report, r)
        if status:
            assert r["suppressed"] == ("<%d" % report.k if status == "small" else "x"), r


@pytest.mark.parametrize("who, query", AUDIENCES[:2])
def test_csv_rows_of_withheld_cells_have_the_marker_and_no_figure(app, client, viewers, who, query):
    login(client, viewers[who])
    r = client.get("/reports/report.csv" + QUERY + query)
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    check_tidy(report_for(app, viewers[who], bool(query)), rows)
    assert rows[-1]["section"] == "about" and NOTE in rows[-1]["measure"]


@pytest.mark.parametrize("who, query", AUDIENCES[:2])
def test_xlsx_rows_of_withheld_cells_have_the_marker_and_no_figure(app, client, viewers, who, query):
    login(client, viewers[who])
    book = load_workbook(io.BytesIO(client.get("/reports/report.xlsx" + QUERY + query).data))
    about = {row[0].value: row[1].value for row in book["About"].iter_rows()}
    assert NOTE in about["Small numbers"]
    rows = []
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        rows += [dict(zip(header, values)) for values in sheet.iter_rows(min_row=2, values_only=True)]
    check_tidy(report_for(app, viewers[who], bool(query)), rows)


# --- the API and the home page --------------------------------------------------------------------------

def test_api_rows_of_withheld_cells_have_no_figure(app, client, viewers):
    from tracker.api import tokens

    token, _ = tokens.issue(viewers["partner"], "script", 30)
    db.session.commit()
    for by in ("sex,uasc", "level,sex", "uasc"):
        r = client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {token}"},
                       query_string={"from": FROM.isoformat(), "to": TO.isoformat(), "as_of": AS_OF.isoformat(),
                                     "by": by})
        body = r.get_json()
        assert r.status_code == 200 and body["suppressed"] is True and body["min_cell"] == 5
        hidden = [row for row in body["rows"] if row["suppressed"]]
        assert {row["suppressed"] for row in hidden} == {"small", "secondary"}
        for row in hidden:
            assert all(row.get(k) is None for k in NUMBERS), row

