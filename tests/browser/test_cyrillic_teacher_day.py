"""A Serbian teacher's whole day in Cyrillic, in a real phone-sized Chromium whose browser asks for English: she
chooses "Српски (ћирилица)" on the sign-in page, signs in, opens her home page, the day's register of her class,
marks a girl absent with a reason and saves (the page says what was saved), opens the month view, the girl's
attendance page and the assessment form due for her. No page she sees shows an English message that has a Serbian
translation, every page says it is in Serbian Cyrillic (<html lang="sr-Cyrl">) and dates are written as Serbian
writes them, never with English month or weekday names. Fields are found by their (Serbian) labels and controls by
role, as a screen reader finds them."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from tests.browser.conftest import PHONE, WAIT_MS
from tests.browser.test_assessment_flow import CHILD_NAME, CLASS_NAME, TEACHER_EMAIL
from tests.browser.test_assessment_flow import _seed as seed_class_with_rounds
from tests.conftest import PASSWORD
from tests.test_no_english import translated_messages, visible_pieces

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

CYRILLIC = "Српски (ћирилица)"
FORM_SR = "Посматрање добробити у одељењу"  # "Healing classroom observation"
ENGLISH_DATE_WORDS = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")

# What the page shows a user besides its text: option texts, button labels, placeholders and accessible names.
SHOWN = """() => {
  const out = document.body.innerText.split('\\n');
  for (const o of document.querySelectorAll('option')) out.push(o.textContent);
  for (const b of document.querySelectorAll('button, input[type=submit], input[type=button]'))
    out.push(b.textContent || b.value || '');
  for (const e of document.querySelectorAll('[placeholder]')) out.push(e.getAttribute('placeholder'));
  for (const e of document.querySelectorAll('[aria-label]')) out.push(e.getAttribute('aria-label'));
  for (const e of document.querySelectorAll('[title]')) out.push(e.getAttribute('title'));
  return out;
}"""


@pytest.fixture
def setup(live_server, password_hash):
    """The teacher of class 5-1 at the liaison's first school, a girl enrolled in it two months back, and the year's
    baseline round (due now) and midline round (opening today): tests/browser/test_assessment_flow.py's seed."""
    return seed_class_with_rounds(live_server, password_hash)


@pytest.fixture
def english_page(browser, live_server):
    """A phone whose browser asks for English pages: locale and Accept-Language "en"."""
    context = browser.new_context(base_url=live_server.url, locale="en",
                                  extra_http_headers={"Accept-Language": "en"}, **PHONE)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


class Screens:
    """Every page the teacher sees, checked for English as it is shown."""

    def __init__(self, page):
        self.page = page
        self.exact, self.patterns = translated_messages()
        self.seen: list[str] = []

    def english(self, pieces) -> list[str]:
        pieces = {" ".join((p or "").split()) for p in pieces}
        return sorted(p for p in pieces if p and (p in self.exact or any(r.match(p) for r in self.patterns)))

    def check(self, what: str) -> str:
        """Assert the page is Serbian Cyrillic through and through; return its visible text."""
        page = self.page
        page.wait_for_load_state()
        self.seen.append(what)
        assert page.locator("html").get_attribute("lang") == "sr-Cyrl", (what, page.url)
        shown = page.evaluate(SHOWN)
        english = self.english(shown + visible_pieces(page.content()))
        assert not english, f"{what} ({page.url}) shows English: {english}"
        text = "\n".join(shown)
        assert not ENGLISH_DATE_WORDS.findall(text), (what, page.url, ENGLISH_DATE_WORDS.findall(text))
        assert not US_DATE.findall(text), (what, page.url, US_DATE.findall(text))
        # Mostly Cyrillic: the page's own words are translated, only names and codes stay in Latin letters.
        cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in text)
        assert cyrillic > 20, (what, page.url, text[:500])
        return text


def menu(page):
    """The main navigation ("Главни мени"), unfolded by tapping "Мени", as on a phone."""
    details = page.locator("details#menu")
    if details.get_attribute("open") is None:
        details.locator("> summary").click()
    return page.get_by_role("navigation", name="Главни мени")


def serbian_date(day: dt.date, form: str = "medium") -> str:
    return format_date(day, form, locale="sr_Cyrl")


def test_cyrillic_teacher_day_shows_no_english(english_page, live_server, setup):
    from tracker.extensions import db
    from tracker.models import AttendanceRecord, Child, Enrolment

    page = english_page
    main = page.get_by_role("main")
    screens = Screens(page)

    # 0. The sign-in page follows the browser: English, until she chooses her language and script.
    page.goto("/login")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    page.get_by_label("Language", exact=True).select_option(label=CYRILLIC)
    page.get_by_role("button", name="Change language", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Странице су сада на језику: {CYRILLIC}.")
    expect(page.get_by_label("Језик", exact=True).locator("option:checked")).to_have_text(CYRILLIC)
    screens.check("the sign-in page")

    # 1. Sign in, in Cyrillic: the home page with her class.
    page.get_by_label("Е-пошта", exact=True).fill(TEACHER_EMAIL)
    page.get_by_label("Лозинка", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Пријава", exact=True).click()
    expect(page.locator("details#menu > summary")).to_have_text("Мени")
    expect(main).to_contain_text(CLASS_NAME)
    screens.check("the home page")
    expect(page.get_by_label("Језик", exact=True)).to_be_hidden()  # folded in the menu until she opens it
    nav = menu(page)
    expect(page.get_by_label("Језик", exact=True).locator("option:checked")).to_have_text(CYRILLIC)
    screens.check("the home page with the menu open")

    # 2. Today's registers, from the menu, then her class's register (the last school day's on a weekend).
    nav.get_by_role("link", name="Дневници", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(serbian_date(dt.date.today(), "full"))
    screens.check("today's registers")
    main.get_by_role("link", name=re.compile(rf"^{re.escape(CLASS_NAME)} · ")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CLASS_NAME)
    day = dt.date.today()
    if day.weekday() >= 5:  # a weekend: no register today, she goes back to Friday's
        expect(page.get_by_role("alert")).to_contain_text("није наставни дан")
        screens.check("the register on a weekend")
        page.get_by_role("navigation", name="Други дани").get_by_role(
            "link", name="Претходни наставни дан", exact=True).click()
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
    expect(page).to_have_url(re.compile(rf"/registers/{setup.class_id}/{day.isoformat()}$"))
    expect(page.get_by_role("navigation", name="Други дани")).to_contain_text(serbian_date(day, "full"))
    screens.check("the register")

    # 3. The girl is absent, excused for illness; save: the page says what was saved.
    girl = main.get_by_role("group", name=re.compile(rf"^{re.escape(CHILD_NAME)}\b"))
    girl.locator("label.mark").get_by_text("Оправдано одсуство", exact=True).tap()
    expect(girl.get_by_label("Оправдано одсуство", exact=True)).to_be_checked()
    girl.get_by_label("Разлог одсуства", exact=True).select_option(label="Болест")
    girl.get_by_label("Напомена", exact=True).fill("Температура, јавила се мајка")
    main.get_by_role("button", name="Сачувај дневник", exact=True).click()
    expect(main.get_by_role("status").filter(has_text="Сачувано:")).to_have_text(
        "Сачувано: 0 присутних, 1 одсутан, 0 са закашњењем.")
    expect(girl.get_by_label("Оправдано одсуство", exact=True)).to_be_checked()
    screens.check("the saved register")

    # 4. The month view, from the register's pager; then the girl's attendance page from it.
    page.get_by_role("navigation", name="Други дани").get_by_role("link", name="Месец", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/registers/{setup.class_id}/month/{day.strftime('%Y-%m')}$"))
    screens.check("the month view")
    main.get_by_role("link", name=CHILD_NAME, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/registers/child/{re.escape(setup.child_code)}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(CHILD_NAME)
    screens.check("the girl's attendance page")

    # 5. The assessments due, from the menu: the current round and her class; the girl's form.
    menu(page).get_by_role("link", name="Процене", exact=True).click()
    expect(page.get_by_role("heading", name="Процене", level=1)).to_be_visible()
    expect(main.get_by_label("Одељење", exact=True).locator("option:checked")).to_contain_text(CLASS_NAME)
    screens.check("the assessments due")
    row = main.get_by_role("row").filter(has=page.get_by_role("rowheader", name=CHILD_NAME, exact=True))
    # The status link of the healing-classroom form (its name ends with the form's and the girl's names).
    row.get_by_role("link", name=re.compile(rf"{re.escape(FORM_SR)}.*{re.escape(CHILD_NAME)}")).click()
    expect(page).to_have_url(re.compile(rf"/assessments/\d+/\w+/{re.escape(setup.child_code)}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(FORM_SR)
    expect(main.get_by_role("group").first).to_be_visible()
    screens.check("the assessment form")

    assert len(screens.seen) >= 10, screens.seen

    # The register holds what she saved.
    with live_server.app.app_context():
        child = db.session.scalar(sa.select(Child).where(Child.code == setup.child_code))
        record = db.session.scalar(sa.select(AttendanceRecord).join(Enrolment).where(
            Enrolment.child_id == child.id, AttendanceRecord.date == day))
        assert (record.status.value, record.reason) == ("absent_excused", "illness")
        db.session.remove()
