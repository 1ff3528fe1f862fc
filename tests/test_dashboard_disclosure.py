"""The partner's home page shows the report's figures for the current school year, counted to the end of last
month: the partner dimension limits, counts perturbed and rounded to a multiple of 5, small cells and groups of
nobody shown as "<k", all through tracker.reports.data."""
from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from tracker.dashboard import queries
from tracker.extensions import db
from tracker.reports import data
from tracker.types import LegalBasis, Level, Sex

pytestmark = pytest.mark.usefixtures("production_like_requests")


class Tables(HTMLParser):
    """The page's tables as lists of rows of cell texts (header row included)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables, self._cell = [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join(self._cell.split()))
            self._cell = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell += text


def add_children(world, n, sex, school, cls, level, grade, born):
    from tracker.models import Child, Enrolment

    for i in range(n):
        c = Child(code=f"C-{sex.value[0].upper()}{level.value[0].upper()}{i:04d}", given_name=f"G{i}",
                  family_name="F", name_original="", name_key="g f", sex=sex, birth_date=born, country="AFG",
                  first_language="prs", legal_basis=LegalBasis.public_task)
        db.session.add(c)
        db.session.add(Enrolment(child=c, school=school, year=world.year, level=level, grade=grade,
                                 school_class=cls, start_date=world.year.first_day))


@pytest.fixture
def crowd(world):
    """Primary: 7 boys (child A among them) and 1 girl; secondary: 7 girls (child B among them), no boys."""
    born = dt.date(world.year.first_day.year - 11, 1, 1)
    add_children(world, 6, Sex.male, world.school_a, world.class_a, Level.primary, 5, born)
    add_children(world, 1, Sex.female, world.school_a, world.class_a, Level.primary, 5, born)
    add_children(world, 6, Sex.female, world.school_b, world.class_b, Level.secondary, 1,
                 dt.date(world.year.first_day.year - 15, 1, 1))
    db.session.commit()
    return world


def page_tables(client) -> list[list[list[str]]]:
    r = client.get("/")
    assert r.status_code == 200
    return Tables(r.text).tables


def test_partner_tables_stay_within_the_partner_dimensions(client, auth, crowd, app):
    auth.login(crowd.partner)
    most = app.config["REPORT_PARTNER_MAX_DIMENSIONS"]
    tables = page_tables(client)
    assert tables
    for table in tables:
        assert len(table[0]) - 1 <= most  # dimension columns, then the figure
    app.config["REPORT_PARTNER_DIMENSIONS"] = ["sex"]
    tables = page_tables(client)
    assert [t[0] for t in tables] == [["Sex", "Enrolled"]]
    app.config["REPORT_PARTNER_DIMENSIONS"] = ["uasc", "level", "sex"]
    app.config["REPORT_PARTNER_MAX_DIMENSIONS"] = 1
    assert [t[0] for t in page_tables(client)] == [["Level", "Enrolled"]]
    app.config["REPORT_PARTNER_DIMENSIONS"] = []
    # The total alone: 8 in primary, 7 in secondary; 15 is a multiple of 5, so it is published as it is.
    assert page_tables(client) == [[["Enrolled"], ["15"]]]


def last_whole_day(today: dt.date) -> dt.date:
    return today.replace(day=1) - dt.timedelta(days=1)


TRUE = {("Primary", "Female"): 1, ("Primary", "Male"): 7, ("Secondary", "Female"): 7, ("Secondary", "Male"): 0}


def test_small_and_empty_groups_are_withheld_and_counts_are_multiples_of_five(app, client, auth, crowd):
    """Primary has 8 children, 1 of them a girl; secondary has 7 girls and no boy. The girl and the group of
    nobody are "<5"; every other figure is a multiple of 5, so no difference of two figures on the page (the
    level's total minus its boys, say) can be a number of 1-4 children."""
    auth.login(crowd.partner)
    by_level_sex = page_tables(client)[0]
    assert by_level_sex[0] == ["Level", "Sex", "Enrolled"]
    cells = {(level, sex): n for level, sex, n in by_level_sex[1:]}
    assert set(cells) == set(TRUE)  # the group of nobody is a row too
    assert cells[("Primary", "Female")] == "<5" and cells[("Secondary", "Male")] == "<5"
    for key, shown in cells.items():
        if shown != "<5":  # 7 children: 5 or 10, never 7
            assert shown.isdigit() and int(shown) % 5 == 0 and int(shown) >= 5 and abs(int(shown) - TRUE[key]) <= 4
    with app.test_request_context():
        report = data.build_report(crowd.partner, today=dt.date.today())
        levels = {r["level"]: r["numerator"] for r in report.table("level") if r["indicator"] == "enrolled"}
        # The exact figures that differencing would need are not to be had: partners get periods, not dates.
        today = dt.date.today()
        with pytest.raises(data.ReportError, match="choose a period instead of dates"):
            data.build_report(crowd.partner, frm=today, to=today, as_of=today)
    for level in ("primary", "secondary"):
        assert levels[level] is None or levels[level] % 5 == 0
        boys = cells[(level.title(), "Male")]
        if levels[level] is not None and boys.isdigit():
            assert (levels[level] - int(boys)) % 5 == 0  # never the 1 girl of primary


def test_the_dashboard_figures_are_the_reports(app, client, auth, crowd):
    auth.login(crowd.partner)
    today = dt.date.today()
    with app.test_request_context():
        shown = queries.partner_overview(crowd.partner, today)
        # The report of the same period: the current school year, up to the end of last month.
        report = data.build_report(crowd.partner, period=crowd.year.label)
    assert shown["error"] is None
    assert [t["by"] for t in shown["tables"]] == [("level", "sex"), ("level", "uasc")]
    assert report.suppressed and report.k == data.min_cell()
    assert shown["report"].period.token == report.period.token == crowd.year.label
    assert shown["report"].as_of == report.as_of == last_whole_day(today)
    for table in shown["tables"]:
        assert table["rows"] == [r for r in report.table(*table["by"]) if r["indicator"] == "enrolled"]
        assert table["rows"] and all(r["suppressed"] or (r["numerator"] >= data.min_cell() and r["numerator"] % 5 == 0)
                                     for r in table["rows"])
    # And the page prints exactly those cells, in that order, under the day they are counted on.
    r = client.get("/")
    with app.test_request_context():
        day = app.jinja_env.filters["date"](report.as_of)
    assert f"Children enrolled on {day}" in r.text
    assert "can differ from the true count by up to 4" in r.text
    page = Tables(r.text).tables
    assert len(page) == len(shown["tables"])
    for table, rows in zip(shown["tables"], page):
        printed = [row[-1] for row in rows[1:]]
        assert printed == [f"<{data.min_cell()}" if r["suppressed"] else str(r["numerator"]) for r in table["rows"]]
    # The report page of that period shows the same total.
    html = client.get(f"/reports/?period={crowd.year.label}").get_data(as_text=True)
    total = report.row("enrolled")
    assert (f"<dd>{total['numerator']}</dd>" if not total["suppressed"] else "&lt;5") in html
