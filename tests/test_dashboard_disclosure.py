"""The partner's home page shows the report's figures: the partner dimension limits, small cells shown as
"<k" with secondary suppression, zero groups kept, all through tracker.reports.data."""
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
    assert page_tables(client) == [[["Enrolled"], ["15"]]]  # the total alone: 8 in primary, 7 in secondary


def test_small_cells_have_secondary_suppression_and_zero_groups_stay(client, auth, crowd):
    """Primary has 8 children, 1 of them a girl: showing the 7 boys beside the level's 8 would give her away.
    Secondary has 7 girls and no boy: the zero is a small group, and the 7 would tell it."""
    auth.login(crowd.partner)
    by_level_sex = page_tables(client)[0]
    assert by_level_sex[0] == ["Level", "Sex", "Enrolled"]
    cells = {(level, sex): n for level, sex, n in by_level_sex[1:]}
    assert cells == {("Primary", "Female"): "<5", ("Primary", "Male"): "x",
                     ("Secondary", "Female"): "x", ("Secondary", "Male"): "<5"}
    today = dt.date.today()
    levels = data.build_report(crowd.partner, frm=today, to=today, as_of=today).table("level")
    assert [(r["level"], r["numerator"]) for r in levels if r["indicator"] == "enrolled"] == [
        ("primary", 8), ("secondary", 7)]  # what the figures above would have been worked out from


def test_the_dashboard_figures_are_the_reports(client, auth, crowd):
    auth.login(crowd.partner)
    today = dt.date.today()
    shown = queries.partner_overview(crowd.partner, today)
    assert [t["by"] for t in shown] == [("level", "sex"), ("level", "uasc")]
    report = data.build_report(crowd.partner, frm=today, to=today, as_of=today)
    assert report.suppressed and report.k == data.min_cell()
    for table in shown:
        assert table["rows"] == [r for r in report.table(*table["by"]) if r["indicator"] == "enrolled"]
        assert table["rows"] and all(r["suppressed"] or r["numerator"] >= data.min_cell() for r in table["rows"])
    # And the page prints exactly those cells, in that order.
    page = page_tables(client)
    assert len(page) == len(shown)
    for table, rows in zip(shown, page):
        printed = [row[-1] for row in rows[1:]]
        assert printed == [f"<{data.min_cell()}" if r["suppressed"] == "small" else "x" if r["suppressed"]
                           else str(r["numerator"]) for r in table["rows"]]
