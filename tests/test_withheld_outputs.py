"""Issue 12, one door: nothing a partner sees prints a figure of a withheld cell.

A population with withheld ("<5") cells, small groups and groups of nobody, is rendered for the school year
2023/24 in every format a partner (or staff preparing the report for sharing) can get: the report page, the
standalone HTML and the PDF made from it (read back with pdftotext), the charts, the CSV, the XLSX, and the
API's indicators (the partner home page: tests/test_dashboard_disclosure.py). For every withheld cell the output
carries its marker and nothing else: no count, no days, no rate, no bar. Every published count is a multiple of
5, every rate whole percent, the days behind attendance rates are never shown, and every output says how the
figures were changed.
"""
from __future__ import annotations

import csv
import io
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from flask_babel import format_decimal, format_percent
from openpyxl import load_workbook

from tests.test_indicators import D, pop, school_days  # noqa: F401  (pop is a fixture)
from tests.test_reports import (BOUND, add_user, DAY_RATES, build_population, check_published_counts, count_fields,
                                fix_record_keys, login, pdf_text)
from tracker.extensions import db
from tracker.reports import data, exports
from tracker.reports.default_sections import UASC, months_of
from tracker.types import Level, Role

PERIOD = "2023/24"  # Fri 2023-09-01 .. Thu 2024-06-20, as of its last day: it has ended
QUERY = f"?period={PERIOD}"
NUMBERS = ("numerator", "denominator", "value", "cohort", "retained", "moved_onward", "dropped_out", "children")
NOTE = "can differ from the true count by up to 4"
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
    fix_record_keys()

    def user(email, role, **kw):
        return add_user(email, role, password_hash, **kw)

    users = {"partner": user("partner@example.org", Role.partner),
             "liaison": user("liaison@example.org", Role.liaison, schools=[pop.p1, pop.s1]),
             "admin": user("admin@example.org", Role.admin)}
    db.session.commit()
    return users


# (who, query): a partner, and staff who tick "Prepare for sharing" (the liaison officer for the municipality
# whose schools are all theirs: a set of their own schools is not a place partners get).
AUDIENCES = [("partner", ""), ("liaison", "&sharing=y&municipality=Beograd"), ("admin", "&sharing=y")]


def report_for(app, user, query: str) -> data.Report:
    place = {"municipality": "Beograd"} if "municipality=Beograd" in query else {}
    with app.test_request_context():
        return data.build_report(user, period=PERIOD, sharing="sharing=y" in query, **place)


def withheld(row) -> bool:
    return bool(row and row.get("suppressed"))


def marker(report, row) -> str:
    return "<%d" % report.k


def decisive(row: dict) -> int:
    """The exact count that decides whether a row is published: the children of a day-based rate, a count's
    number, a rate's denominator."""
    name = row["indicator"]
    if name in DAY_RATES:
        return row.get("children") or 0
    if row.get("denominator") is None and not name.startswith("retention_"):
        return row.get("numerator") or 0
    return row.get("denominator") or 0


# --- what must be withheld, independently of the outputs ------------------------------------------------

def test_the_population_has_withheld_cells_and_blanks_their_figures(app, viewers):
    report = report_for(app, viewers["partner"], "")
    statuses = {r["suppressed"] for rows in report.tables.values() for r in rows}
    assert statuses == {None, "small"}  # one marker: no secondary suppression
    for by, rows in report.tables.items():
        raw = {(r["indicator"], tuple(r.get(d) for d in by)): r for r in report.raw.get(by, [])}
        for r in rows:
            if r["indicator"].startswith("gpi_"):
                continue
            exact = raw.get((r["indicator"], tuple(r.get(d) for d in by)))
            if exact is None or decisive(exact) < report.k:  # nobody, or fewer than 5: withheld
                assert r["suppressed"] == "small", (by, r, exact)
            if r["suppressed"]:
                assert all(r.get(k) is None for k in NUMBERS), (by, r)
                continue
            for field in count_fields(r):  # a published count: a multiple of 5, near the true count
                if r.get(field) is not None:
                    assert r[field] % 5 == 0 and r[field] >= 5 and abs(r[field] - exact[field]) <= BOUND, (by, r)
    # The withheld group of the population: 4 unaccompanied girls in secondary school, none attending.
    girls = report.row("attendance_rate", level="secondary", sex="female", uasc="unaccompanied")
    assert girls["suppressed"] == "small" and girls["value"] is None


def test_one_function_formats_a_cell_for_every_output():
    published = {"indicator": "attendance_rate", "numerator": None, "denominator": None, "value": 0.9,
                 "children": 10, "suppressed": None}
    small = {"indicator": "attendance_rate", "numerator": 0, "denominator": 20, "value": 0.0, "children": 4,
             "suppressed": "small"}
    below = {"indicator": "retention_primary_180d", "numerator": 10, "denominator": 10, "value": 1.0, "cohort": 10,
             "retained": 10, "moved_onward": None, "dropped_out": None, "suppressed": None,
             "withheld": ["moved_onward", "dropped_out"]}
    assert data.cell(published, 5).number("value") == 0.9 and data.cell(published, 5).marker == ""
    # Even a row that still carried its figures gives none of them once it is withheld.
    c = data.cell(small, 5)
    assert c.withheld and c.marker == "<5"
    assert all(c.number(k) is None for k in NUMBERS)
    assert all(data.shareable(small, 5)[k] is None for k in NUMBERS if k in small)
    # A published row's count below 5 (children who dropped out of a published cohort) has the marker, no number.
    c = data.cell(below, 5)
    assert not c.withheld and c.number("value") == 1.0 and c.number("cohort") == 10
    assert c.number("dropped_out") is None and c.text("dropped_out") == "<5" and c.text("cohort") == ""
    assert "withheld" not in data.shareable(below, 5) and data.shareable(below, 5)["dropped_out"] is None
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


def expected_tables(report) -> dict[str, list[list[list[tuple]]]]:
    """Per section, in the order the templates print them: each table's lines, each line's cells as
    (row, the figure it shows, its kind: count, rate or index)."""
    ctx = report.contexts

    def kind(name):
        return "count" if name in ("enrolled", "new_enrolments") else "rate"

    def grid(lines, names, total=None):
        return [[(cell, "value", kind(n)) for cell, n in zip(line, names)]
                for line in [x["cells"] for x in lines] + ([total] if total else [])]

    ug = ctx["uasc_girls"]
    out = {"uasc_girls": [grid(ug["chart_table"], ["rate"] * 3), grid(ug["grid"], ug["names"], ug["total"]),
                          grid(ug["by_sex"], ug["names"]), grid(ug["by_uasc"], ug["names"])]}
    bd = ctx["breakdowns"]
    out["breakdowns"] = [grid(t["lines"], t["names"], t["total"]) for t in bd["tables"]] + [
        [[(p["row"], "numerator", "rate"), (p["row"], "denominator", "rate"), (p["row"], "value", "index")]
         for p in bd["parity"]]]
    ex = ctx["exits"]
    out["exits"] = [[[(i["row"], "numerator", "count")] for i in (ex["moved"], ex["dropped"], *ex["others"])]]
    months = ctx["attendance_by_month"]["months"]
    # Partners see each month's rate and the children it comes from, never the days.
    out["attendance_by_month"] = [[[(m, "value", "rate"), (m, "children", "count")] for m in months]] if months else []
    return out


def shown(report, row, key: str, kind: str) -> str | None:
    """What a cell must print, or None when it prints a published figure (checked by its kind)."""
    c = report.cell(row)
    if row is None:
        return "–"
    if c.withheld or c.text(key):
        return "<%d" % report.k
    if c.number(key) is None:
        return "–"
    return None


FIGURE = {"count": r"[1-9]\d*[05]|5", "rate": r"\d{1,3}%", "index": r"\d\.\d\d"}


def expected_charts(report) -> dict[str, list[list]]:
    """Per section, each chart's cells (rows), in drawing order."""
    ctx = report.contexts
    charts = {"uasc_girls": [[report.row("retention_secondary_180d", level="secondary", sex=sex, uasc=s)
                              for sex in ("female", "male") for s in UASC]]}
    charts["exits"] = [[i["row"] for i in ctx["exits"]["items"]]]
    months = ctx["attendance_by_month"]["months"]
    charts["attendance_by_month"] = [months] if months else []
    return charts


def withheld_figures(report) -> set[str]:
    """The exact figures of the withheld cells, as the page would print them (rates, "n of d")."""
    out = set()
    for by, rows in report.tables.items():
        raw = {(r["indicator"], tuple(r.get(d) for d in by)): r for r in report.raw.get(by, [])}
        for r in rows:
            exact = raw.get((r["indicator"], tuple(r.get(d) for d in by)))
            if r["suppressed"] and exact is not None:
                if exact.get("value") is not None and r["indicator"] not in ("enrolled", "new_enrolments") \
                        and not r["indicator"].startswith("exits_"):
                    out.add(format_percent(exact["value"], "#,##0%"))
                if exact.get("denominator") is not None and exact.get("numerator") is not None:
                    out.add(f"{format_decimal(exact['numerator'], '#,##0.##')} of "
                            f"{format_decimal(exact['denominator'], '#,##0.##')}")
    return out


def published_figures(report) -> set[str]:
    return {format_percent(r[key], "#,##0%") for rows in report.tables.values() for r in rows
            for key in ("value", "numerator", "denominator")
            if not r["suppressed"] and isinstance(r.get(key), float)}


def check_page(report, html: str) -> None:
    page = Page(html)
    assert NOTE in html, "the page says how the figures were changed"
    for slug, tables in expected_tables(report).items():
        found = page.sections[slug]["tables"]
        assert len(found) >= len(tables), slug
        for t, (want, got) in enumerate(zip(tables, found)):
            got = [line for line in got if line]  # the header row has no <td>
            assert len(got) == len(want), (slug, t)
            for i, (cells, texts) in enumerate(zip(want, got)):
                assert len(texts) == len(cells), (slug, t, i, texts)
                for j, ((row, key, kind), text) in enumerate(zip(cells, texts)):
                    must = shown(report, row, key, kind)
                    if must is not None:
                        assert text == must, (slug, t, i, j, text, row)
                    else:  # a published figure: a count a multiple of 5, a rate in whole percent
                        assert re.fullmatch(FIGURE[kind], text), (slug, t, i, j, text, row)
    items = report.contexts["headline"]["items"]
    for item, dds in zip(items, page.sections["headline"]["headline"]):
        row = item["row"]
        if item.get("not_yet"):  # a horizon the period has not reached: a date, and no figure at all
            assert len(dds) == 1 and ("Not yet measurable" in dds[0] or "Beyond this period" in dds[0]) and not re.search(r"\d+ ?%|<5", dds[0]), dds
            continue
        must = shown(report, row, "value", "rate" if item["rate"] else "count")
        if withheld(row):
            assert dds == [marker(report, row)], (item["name"], dds)
        elif must is None:
            assert re.fullmatch(FIGURE["rate" if item["rate"] else "count"], dds[0]), (item["name"], dds)
        if item["name"] in DAY_RATES:
            assert len(dds) == 1, (item["name"], dds)  # no days
        elif len(dds) > 1:  # "n of d": published counts
            assert re.fullmatch(rf"(<5|{FIGURE['count']}) of ({FIGURE['count']})", dds[1]), (item["name"], dds)
    for slug, charts in expected_charts(report).items():
        drawn = page.sections[slug]["charts"]
        assert len(drawn) == len(charts), slug
        for cells, svg in zip(charts, drawn):
            shown_cells = [c for c in cells if not withheld(c) and c is not None]
            # A withheld cell draws the withheld mark, no bar and no value label.
            assert svg["withheld"] == len(cells) - len(shown_cells), (slug, svg)
            assert len(svg["values"]) == len(shown_cells), (slug, svg)
    leaks = withheld_figures(report) - published_figures(report)
    visible = re.sub(r"<[^>]+>", " ", html)
    assert not [f for f in leaks if re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d/])", visible)]
    # The months table has no columns for the days.
    assert '<th scope="col">Days attended</th>' not in html and '<th scope="col">Days recorded</th>' not in html


@pytest.mark.parametrize("who, query", AUDIENCES)
def test_the_report_page_shows_only_markers_for_withheld_cells(app, client, viewers, who, query):
    login(client, viewers[who])
    r = client.get("/reports/" + QUERY + query)
    assert r.status_code == 200
    check_page(report_for(app, viewers[who], query), r.get_data(as_text=True))


@pytest.mark.parametrize("who, query", AUDIENCES[:2])
def test_the_pdf_shows_only_markers_for_withheld_cells(app, client, viewers, who, query, tmp_path):
    report = report_for(app, viewers[who], query)
    with app.test_request_context():
        check_page(report, exports.to_html(report))
    login(client, viewers[who])
    r = client.get("/reports/report.pdf" + QUERY + query)
    assert r.status_code == 200
    text = " ".join(pdf_text(r.data, tmp_path).split())
    assert NOTE in text
    assert "<5" in text and " x " not in text  # one marker: "x" is gone
    with app.test_request_context():
        leaks = withheld_figures(report) - published_figures(report)
    assert not [f for f in leaks if re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d/])", text)], leaks


def test_the_same_request_gives_the_same_page_twice(client, viewers):
    """Perturbations are fixed by the children: asking again (to average them away) shows the same figures."""
    login(client, viewers["partner"])
    first = Page(client.get("/reports/" + QUERY).get_data(as_text=True)).sections
    second = Page(client.get("/reports/" + QUERY).get_data(as_text=True)).sections
    assert first == second


def test_the_withheld_girls_attendance_is_not_printed_as_zero(app, client, viewers, tmp_path):
    """The issue's example: a withheld group whose exact rate is 0% (4 unaccompanied girls in secondary school,
    absent every day) shows "<5" in every column, never "0%"."""
    login(client, viewers["partner"])
    html = client.get("/reports/" + QUERY).get_data(as_text=True)
    line = re.search(r'<th scope="row">Female · Unaccompanied</th>(.*?)</tr>', html, re.S).group(1)
    cells = [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in re.findall(r"<td>(.*?)</td>", line, re.S)]
    assert cells and set(cells) <= {"<5", "–"} and "<5" in cells, cells
    text = pdf_text(client.get("/reports/report.pdf" + QUERY).data, tmp_path)
    assert pdf_line(text, "Female ·", "Unaccompanied") == cells  # the same cells, in the same order


def pdf_line(text: str, first: str, second: str) -> list[str]:
    """The cells of the PDF's table line labelled ``first second`` (a label pdftotext may wrap around the
    figures: "Female ·" above them, "Unaccompanied" below)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if f"{first} {second}" in " ".join(line.split()):
            return line.split(second, 1)[1].split()
        if line.strip() == first and i + 2 < len(lines) and lines[i + 2].strip() == second:
            return lines[i + 1].split()
    raise AssertionError(f"no line {first} {second} in the PDF")


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
    markers = {r["suppressed"] or "" for r in rows if r.get("section") != "about"}
    assert markers == {"", "<5"}  # one marker: "x" is gone
    for r in rows:
        if r.get("section") == "about":
            continue
        if r["suppressed"]:
            assert all(r.get(k) in (None, "") for k in NUMBERS), r
        status = status_of(report, r)
        if status:
            assert r["suppressed"] == "<%d" % report.k, r
    check_published_counts(rows)  # every count a multiple of 5, no days, rates to two decimals


@pytest.mark.parametrize("who, query", AUDIENCES[:2])
def test_csv_rows_of_withheld_cells_have_the_marker_and_no_figure(app, client, viewers, who, query):
    login(client, viewers[who])
    r = client.get("/reports/report.csv" + QUERY + query)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    check_tidy(report_for(app, viewers[who], query), rows)
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
    check_tidy(report_for(app, viewers[who], query), rows)


# --- the API and the home page --------------------------------------------------------------------------

def test_api_rows_of_withheld_cells_have_no_figure(app, client, viewers):
    from tracker.api import tokens

    token, _ = tokens.issue(viewers["partner"], "script", 30)
    db.session.commit()
    for by in ("sex,uasc", "level,sex", "uasc"):
        ask = lambda: client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {token}"},  # noqa: E731
                                 query_string={"period": PERIOD, "by": by})
        r = ask()
        body = r.get_json()
        assert r.status_code == 200 and body["suppressed"] is True and body["min_cell"] == 5
        assert body["period"] == PERIOD and NOTE in body["note"]
        hidden = [row for row in body["rows"] if row["suppressed"]]
        assert hidden and {row["suppressed"] for row in hidden} == {"small"}
        for row in hidden:
            assert all(row.get(k) is None for k in NUMBERS), row
        check_published_counts(body["rows"])
        assert ask().get_json() == body  # the same answer every time
