"""A partner's first report, in a real phone-sized Chromium: signed in, the partner opens the report from the menu
and chooses nothing. The current school year has no retention cohort yet (nobody enrolled 90 days before the end
of last month), so the report opens on last school year, with retention in the headline as a published percentage
(never "–") and the note on how figures are protected. The downloads are tap-sized, the page is
no wider than the phone (wide tables scroll inside their own frame), the charts fit its width, and the page breaks
no rule of the Content Security Policy. (tests/browser/test_report_flow.py chooses a period; this one does not.)"""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.browser.conftest import main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PARTNER_EMAIL = "partner@example.org"
TITLE = "Retention and attendance report"
PHONE_WIDTH = 390
STUDENTS = [("Amina", "Haddad", "female"), ("Zahra", "Hosseini", "female"), ("Mariam", "Nazari", "female"),
            ("Fatemeh", "Sadeghi", "female"), ("Leila", "Jafari", "female"), ("Shirin", "Mohammadi", "female"),
            ("Nargis", "Popal", "female"), ("Soraya", "Wardak", "female"), ("Yasmin", "Khalil", "female"),
            ("Rana", "Darwish", "female"), ("Omid", "Karimi", "male"), ("Yusuf", "Ahmadi", "male"),
            ("Bilal", "Qaderi", "male"), ("Farid", "Noori", "male"), ("Jawad", "Rezaei", "male"),
            ("Karim", "Barakzai", "male"), ("Samir", "Hashimi", "male"), ("Tariq", "Mansouri", "male"),
            ("Hadia", "Stanekzai", "female"), ("Parwana", "Sultani", "female")]
DROPPED_OUT = 3  # of them, left school two months into the year


def _seed_last_year(live_server, password_hash) -> str:
    """A partner, and last school year: 20 students enrolled in a secondary school in its first week, 3 of whom
    dropped out two months later. Returns the label of last year ("School year 2025/26")."""
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, User
    from tracker.types import Level, Role

    with live_server.app.app_context():
        current = db.session.scalar(sa.select(AcademicYear))
        first = current.first_day.replace(year=current.first_day.year - 1)
        last_year = AcademicYear(label=f"{first.year}/{str(first.year + 1)[2:]}", first_day=first,
                                 last_day=current.first_day - dt.timedelta(days=1))
        school = School(code="BG101", name="Prva beogradska gimnazija", municipality="Beograd",
                        offers_secondary=True)
        centre = db.session.scalar(sa.select(Centre))
        db.session.add_all([last_year, school, User(email=PARTNER_EMAIL, name="UNICEF Serbia office",
                                                    role=Role.partner, password_hash=password_hash)])
        db.session.commit()
        start = first + dt.timedelta(days=3)
        for i, (given, family, sex) in enumerate(STUDENTS):
            child = child_ops.register_child(given_name=given, family_name=family, sex=sex,
                                             birth_date=dt.date(first.year - 15 - i % 3, 1 + i % 12, 12),
                                             country="AFG", first_language="prs", centre=centre,
                                             centre_since=start - dt.timedelta(days=60))
            enrol_ops.enrol(child, school, Level.secondary.value, 1 + i % 4, start)
            if i < DROPPED_OUT:
                enrol_ops.exit_enrolment(child, start + dt.timedelta(days=60), "dropped_out")
        db.session.commit()  # as the requests that register, enrol and record the exits would
        label = f"School year {last_year.label}"
        db.session.remove()
    return label


@pytest.fixture
def last_year(live_server, password_hash) -> str:
    return _seed_last_year(live_server, password_hash)


def test_partner_first_report_shows_retention_on_a_phone(page, live_server, last_year):
    csp = []
    page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
    main = page.get_by_role("main")
    sign_in(page, PARTNER_EMAIL)

    # 1. The report, from the menu, with nothing chosen: last school year, the one with retention to show.
    main_menu(page).get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(main.get_by_role("alert")).to_have_count(0)

    # 2. The headline: retention published as a percentage. Not "–", and not "<5" either, while 20 students
    # started last year, so at least one horizon has a published rate. A horizon longer than the school year (365
    # days) says that it falls after the period's end instead of showing a figure.
    headline = main.get_by_role("region", name="Headline figures")
    expect(headline).to_be_visible()
    retention = headline.locator("dl.headline > div").filter(
        has=page.locator("dt", has_text=re.compile(r"^Retention at \d+ days")))
    expect(retention.first).to_be_visible()
    figures = [item.locator("dd").first.inner_text().strip() for item in retention.all()]
    published = [f for f in figures if re.fullmatch(r"\d+(\.\d)?\s?%", f)]
    assert all(re.fullmatch(r"\d+(\.\d)?\s?%|<5|Beyond this period: .*", f) for f in figures), figures
    assert figures[-1].startswith("Beyond this period: the first children reach 365 days on"), figures
    assert published, f"no retention figure in the headline: {figures}"
    # It is last school year's report, and the form says so.
    expect(main.get_by_label("Period", exact=True).locator("option:checked")).to_have_text(last_year)
    expect(main.locator(".report-head")).to_contain_text(last_year)
    # The disclosure note: counts perturbed and rounded, small groups shown as "<5".
    expect(main).to_contain_text('Counts below 5 are shown as "<5"')
    expect(main).to_contain_text("rounded to a multiple of 5")

    # 3. The downloads: each link at least 44 px tall, for a finger.
    for name in ("PDF", "XLSX", "CSV"):
        link = main.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box and box["height"] >= 44, (name, box)

    # 4. No wider than the phone: the page does not scroll sideways; a wide table scrolls inside its frame.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the report is {width}px wide on a {PHONE_WIDTH}px phone"
    tables = page.evaluate("""() => [...document.querySelectorAll('main table')].map(t => {
        const wrap = t.closest('.table-wrap');
        const box = (wrap || t).getBoundingClientRect();
        return {wide: t.scrollWidth > document.documentElement.clientWidth, wrapped: !!wrap,
                scrolls: !!wrap && ['auto', 'scroll'].includes(getComputedStyle(wrap).overflowX),
                left: box.left, right: box.right};
    })""")
    assert tables, "the report shows no table"
    for table in tables:
        assert table["left"] >= 0 and table["right"] <= PHONE_WIDTH, table
        if table["wide"]:
            assert table["wrapped"] and table["scrolls"], table

    # 5. The charts fit the width of the phone.
    charts = main.locator("svg")
    assert charts.count() >= 1, "the report shows no chart"
    for chart in charts.all():
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box and box["width"] > 0 and box["width"] <= PHONE_WIDTH and box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE_WIDTH, box
    page.screenshot(path="/tmp/report_first_open.png", full_page=True)

    # 6. Nothing the Content Security Policy blocked (an inline style or script would be).
    page.reload()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    page.wait_for_load_state("load")
    assert not csp, csp
