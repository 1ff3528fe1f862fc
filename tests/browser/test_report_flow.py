"""The retention and attendance report in a real phone-sized Chromium: a partner signs in, opens the report from
the menu, shows it for the current school year and downloads the PDF. Partners get aggregates only: the number
of children enrolled is published, a group of fewer than five children (here the unaccompanied children) shows
"<5", there is no "Prepare for sharing" choice (it is always on for them), and no child's name is in the file.
Fields are found by their labels and controls by role, as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.browser.conftest import WAIT_MS, main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

PARTNER_EMAIL = "partner@example.org"
PARTNER_NAME = "UNICEF Serbia office"
GUARDIAN = "Dragana Ilić"
# (given, family, UASC status). With the boy conftest seeds (Ahmad Rahimi, accompanied, at school_a):
# 12 girls and 9 boys enrolled at one school, 21 in all, of whom 2 are unaccompanied (a group below k = 5).
GIRLS = [("Amina", "Haddad", "unaccompanied"), ("Zahra", "Hosseini", "accompanied"),
         ("Mariam", "Nazari", "accompanied"), ("Fatemeh", "Sadeghi", "accompanied"),
         ("Leila", "Jafari", "accompanied"), ("Shirin", "Mohammadi", "accompanied"),
         ("Nargis", "Popal", "accompanied"), ("Soraya", "Wardak", "accompanied"),
         ("Yasmin", "Khalil", "accompanied"), ("Rana", "Darwish", "accompanied"),
         ("Hadia", "Stanekzai", "accompanied"), ("Parwana", "Sultani", "accompanied")]
BOYS = [("Omid", "Karimi", "unaccompanied"), ("Yusuf", "Ahmadi", "accompanied"),
        ("Bilal", "Qaderi", "accompanied"), ("Farid", "Noori", "accompanied"),
        ("Jawad", "Rezaei", "accompanied"), ("Karim", "Barakzai", "accompanied"),
        ("Samir", "Hashimi", "accompanied"), ("Tariq", "Mansouri", "accompanied")]
ENROLLED = len(GIRLS) + len(BOYS) + 1  # and the conftest's boy
UNACCOMPANIED = sum(uasc == "unaccompanied" for _g, _f, uasc in GIRLS + BOYS)
TITLE = "Retention and attendance report"


@dataclass(frozen=True)
class Population:
    frm: dt.date  # the period the partner asks for: the start of the school year to today
    to: dt.date
    names: tuple[str, ...]  # every child's name (and the guardian's), none of which may reach a partner


def _seed_population(live_server, password_hash) -> Population:
    """A partner, and 20 children enrolled a month back at the liaison's first school with two weeks of registers."""
    from tracker.attendance.operations import upsert_records
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, User
    from tracker.schools.calendar import school_days
    from tracker.types import Level, Role

    today = dt.date.today()
    # Enrolled in the last whole month (partners' figures are counted up to its end), a few weeks back.
    start = today.replace(day=1) - dt.timedelta(days=25)
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        # On the first school days of a year the seeded year may start after the month the test needs.
        year.first_day = min(year.first_day, start - dt.timedelta(days=7))
        year.last_day = max(year.last_day, today + dt.timedelta(days=31))
        frm = year.first_day
        school = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        centre = db.session.scalar(sa.select(Centre))
        db.session.add(User(email=PARTNER_EMAIL, name=PARTNER_NAME, role=Role.partner, password_hash=password_hash))
        db.session.commit()

        days = school_days(school, start, today - dt.timedelta(days=1))[-10:]
        assert len(days) >= 5, days
        rows = []
        for i, (given, family, uasc, sex) in enumerate([(*c, "female") for c in GIRLS] + [(*c, "male") for c in BOYS]):
            child = child_ops.register_child(
                given_name=given, family_name=family, sex=sex, birth_date=dt.date(today.year - 8 - i % 5, 1 + i % 12, 10),
                country="AFG", first_language="prs", uasc_status=uasc, centre=centre, centre_since=start,
                guardian_name="" if uasc == "accompanied" else GUARDIAN)
            enrolment = enrol_ops.enrol(child, school, Level.primary.value, 2 + i % 5, start)
            # Mostly present; every third child misses two days, one of them late once.
            rows += [{"enrolment_id": enrolment.id, "date": day, "reason": "", "note": "",
                      "status": ("absent_unexcused" if i % 3 == 0 and n in (2, 6) else
                                 "late" if i % 4 == 1 and n == 4 else "present")} for n, day in enumerate(days)]
        upsert_records(rows)
        db.session.commit()
        db.session.remove()
    seed = live_server.seed
    names = [f"{g} {f}" for g, f, _u in GIRLS + BOYS] + [g for g, _f, _u in GIRLS + BOYS] + [
        f for _g, f, _u in GIRLS + BOYS] + [f"{seed.existing_given} {seed.existing_family}", seed.existing_given,
                                            seed.existing_family, GUARDIAN]
    return Population(frm, today, tuple(names))


@pytest.fixture
def population(live_server, password_hash) -> Population:
    return _seed_population(live_server, password_hash)


def pdf_text(path) -> str:
    """The text of a PDF, with runs of white space made single spaces."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() or "" for page in reader.pages))


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide on a {page.viewport_size['width']}px phone"


def test_partner_opens_the_report_and_downloads_the_pdf(page, live_server, population, tmp_path):
    main = page.get_by_role("main")
    sign_in(page, PARTNER_EMAIL)

    # 1. The report page, from the menu: no "Prepare for sharing" for partners, it is always on.
    main_menu(page).get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(main.get_by_label(re.compile("Prepare for sharing"))).to_have_count(0)
    expect(main.get_by_role("checkbox")).to_have_count(0)
    # No dates to type: partners choose a whole school year, term or month.
    expect(main.get_by_label("From", exact=True)).to_have_count(0)

    # 2. The period: the school year, counted up to the end of last month.
    year = main.get_by_label("Period", exact=True)
    year.select_option(index=0)
    main.get_by_role("button", name="Show the report", exact=True).click()
    expect(page).to_have_url(re.compile(r"/reports/\?.*period="))
    expect(main.get_by_role("alert")).to_have_count(0)
    expect(main).to_contain_text('Counts below 5 are shown as "<5"')
    expect(main).to_contain_text("rounded to a multiple of 5")

    # 3. The headline figures: 21 children enrolled, published as a multiple of 5 within 4 of it.
    headline = main.get_by_role("region", name="Headline figures")
    expect(headline).to_be_visible()
    enrolled = headline.locator("dl.headline > div").filter(has=page.locator("dt", has_text=re.compile(r"^Enrolled$")))
    shown_enrolled = int(enrolled.locator("dd").first.inner_text())
    assert shown_enrolled % 5 == 0 and abs(shown_enrolled - ENROLLED) <= 4, shown_enrolled

    # 4. The two unaccompanied children are a small group: "<5", not their number.
    breakdowns = main.get_by_role("region", name="By sex, UASC status, level and age band")
    by_uasc = breakdowns.get_by_role("table").filter(has=page.get_by_role("columnheader", name="UASC status",
                                                                          exact=True))
    expect(by_uasc).to_have_count(1)
    unaccompanied = by_uasc.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Unaccompanied",
                                                                           exact=True))
    expect(unaccompanied.get_by_role("cell").first).to_have_text("<5")
    by_sex = breakdowns.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Sex", exact=True))
    girls = int(by_sex.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Female", exact=True))
                .get_by_role("cell").first.inner_text())
    assert girls % 5 == 0 and abs(girls - len(GIRLS)) <= 4, girls
    # Aggregates only: no child's name anywhere on the page.
    shown = main.inner_text()
    assert not [n for n in population.names if re.search(rf"\b{re.escape(n)}\b", shown)]
    assert_fits_phone(page)
    page.screenshot(path="/tmp/report_partner.png", full_page=True)

    # 5. The PDF, with the same period.
    link = main.get_by_role("link", name="PDF", exact=True)
    expect(link).to_have_attribute("href", re.compile(r"^/reports/report\.pdf\?.*period="))
    expect(link).to_have_attribute("download", "")
    # The link's download through the browser's own HTTP client (the page's cookies, so the partner's session):
    # the test waits for the response itself, however long WeasyPrint takes on a loaded machine, rather than for a
    # download event on a timer.
    response = page.request.get(link.get_attribute("href"), timeout=WAIT_MS)
    assert response.status == 200, (response.status, response.text()[:500])
    assert response.headers["content-type"].startswith("application/pdf"), response.headers
    last = population.to.replace(day=1) - dt.timedelta(days=1)  # the end of the last whole month
    filename = f"tracker-report-{population.frm.isoformat()}-{last.isoformat()}.pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    path = tmp_path / filename
    path.write_bytes(response.body())
    assert path.read_bytes().startswith(b"%PDF-")

    text = pdf_text(path)
    assert TITLE in text, text[:500]
    assert re.search(rf"\bEnrolled {shown_enrolled}\b", text), text[:2000]  # the page's figure, not another
    assert "<5" in text
    assert re.search(r"Unaccompanied <5", text), text
    # (page counters "2 / 8" left out: a page that ends on the word would otherwise be followed by its number)
    assert str(UNACCOMPANIED) not in re.findall(r"Unaccompanied (\S+)", re.sub(r"\b\d+ / \d+\b", "", text))
    assert PARTNER_NAME in text  # generated by
    leaked = [n for n in population.names if re.search(rf"\b{re.escape(n)}\b", text)]
    assert not leaked, leaked

    # The download is in the audit log, as the partner's.
    from tracker.audit.models import AuditEvent
    from tracker.extensions import db
    from tracker.models import User

    with live_server.app.app_context():
        partner = db.session.scalar(sa.select(User).where(User.email == PARTNER_EMAIL))
        events = db.session.execute(sa.select(AuditEvent.user_id, AuditEvent.object_type, AuditEvent.object_id)
                                    .where(AuditEvent.action == "report_exported")).all()
        assert [tuple(e) for e in events] == [(partner.id, "report", "pdf")]
        db.session.remove()
