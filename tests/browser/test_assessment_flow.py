"""The healing-classroom observation in a real phone-sized Chromium: a teacher opens the baseline round's due list,
fills the form for a child of her class, saves a draft, completes and submits it; in the midline round she fills it
again, and the child's page shows both rounds, a chart and the change since the baseline. Fields are found by their
labels and controls by role, as a screen reader finds them; the database holds exactly what the answers imply."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.browser.conftest import main_menu, sign_in

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

SLUG = "healing_classrooms"
FORM_NAME = "Healing classroom observation"
TEACHER_EMAIL = "teacher@example.org"
TEACHER_NAME = "Milica Jovanović"
CLASS_NAME = "5-1"
CHILD_GIVEN, CHILD_FAMILY = "Mariam", "Nazari"
CHILD_NAME = f"{CHILD_GIVEN} {CHILD_FAMILY}"
PHONE_WIDTH = 390
NOTE = "Joins group work by herself now; still startles at the bell"

# The answers, by item key, as the radio labels read. Reversed items (safe_3, belonging_3, ...) describe worrying
# behaviour: "Often" there counts 2 points, "Never" 4.
# Baseline: domain scores 7/3, 7/3, 7/3, 7/3, 2, mean 34/15 (about 2.27): "keep an eye".
BASELINE = {
    "safe_1": "Often", "safe_2": "Sometimes", "safe_3": "Often",
    "belonging_1": "Sometimes", "belonging_2": "Often", "belonging_3": "Often",
    "emotions_1": "Sometimes", "emotions_2": "Sometimes", "emotions_3": "Sometimes",
    "engagement_1": "Often", "engagement_2": "Sometimes", "engagement_3": "Often",
    "hope_1": "Sometimes", "hope_2": "Sometimes", "hope_3": "Often",
}
# Midline: domain scores 10/3, 11/3, 10/3, 10/3, 10/3, mean 51/15 = 3.4: "doing well", better in every domain.
MIDLINE = {
    "safe_1": "Almost always", "safe_2": "Often", "safe_3": "Sometimes",
    "belonging_1": "Often", "belonging_2": "Almost always", "belonging_3": "Never",
    "emotions_1": "Often", "emotions_2": "Often", "emotions_3": "Never",
    "engagement_1": "Almost always", "engagement_2": "Often", "engagement_3": "Sometimes",
    "hope_1": "Often", "hope_2": "Almost always", "hope_3": "Sometimes",
}
DRAFT_ITEMS = 8  # answered before the draft is saved: about half of the 15


@dataclass(frozen=True)
class Setup:
    class_id: int
    class_option: str  # the class as the due list's select shows it
    child_code: str
    baseline_id: int
    midline_id: int
    baseline_label: str  # e.g. "Baseline 2025/26"
    midline_label: str
    items: dict[str, str]  # item key -> the item's text (the fieldset's legend), in form order
    points: dict[str, str]  # answer label -> submitted value ("Never" -> "1")


def _seed(live_server, password_hash) -> Setup:
    """A teacher of a class at the seeded school, a child enrolled in it two months back, and two rounds of the
    school year: the baseline opened 20 days ago and closes in 5 days, the midline opens today."""
    from plugins.healing_classrooms.form import CHOICES, ITEMS
    from tracker.assessments import operations as assess_ops
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, SchoolClass, User
    from tracker.types import Level, Role

    today = dt.date.today()
    start = today - dt.timedelta(days=60)
    with live_server.app.app_context():
        year = db.session.scalar(sa.select(AcademicYear))
        # Early in the school year (or in August) the seeded year may start after the days the test needs.
        year.first_day = min(year.first_day, start - dt.timedelta(days=30))
        year.last_day = max(year.last_day, today + dt.timedelta(days=31))
        school = db.session.scalar(sa.select(School).where(School.name == live_server.seed.school_a))
        centre = db.session.scalar(sa.select(Centre))
        cls = SchoolClass(school=school, year=year, level=Level.primary, grade=5, name=CLASS_NAME)
        teacher = User(email=TEACHER_EMAIL, name=TEACHER_NAME, role=Role.teacher, password_hash=password_hash,
                       classes=[cls])
        db.session.add_all([cls, teacher])
        db.session.commit()
        child = child_ops.register_child(given_name=CHILD_GIVEN, family_name=CHILD_FAMILY, sex="female",
                                         birth_date=dt.date(today.year - 11, 5, 17), country="AFG",
                                         first_language="prs", centre=centre, centre_since=start)
        enrol_ops.enrol(child, school, Level.primary.value, 5, start, school_class=cls)
        baseline = assess_ops.add_round(year, "baseline", today - dt.timedelta(days=20), today + dt.timedelta(days=5))
        midline = assess_ops.add_round(year, "midline", today, today + dt.timedelta(days=25))
        setup = Setup(class_id=cls.id, class_option=f"{CLASS_NAME} · {school.name}", child_code=child.code,
                      baseline_id=baseline.id, midline_id=midline.id,
                      baseline_label=f"Baseline {year.label}", midline_label=f"Midline {year.label}",
                      items={item.key: str(item.label) for item in ITEMS},
                      points={str(choice.label): choice.value for choice in CHOICES})
        db.session.commit()  # as the requests that register, enrol and add the rounds would
        db.session.remove()
    assert list(setup.items) == list(BASELINE) == list(MIDLINE)
    return setup


@pytest.fixture
def setup(live_server, password_hash) -> Setup:
    return _seed(live_server, password_hash)


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH + 1, f"{page.url} is {width}px wide on a {PHONE_WIDTH}px phone"


def item_group(page, setup: Setup, key: str):
    """An item's fieldset, found by its legend (the item's text)."""
    return page.get_by_role("main").get_by_role("group", name=setup.items[key], exact=True)


def answer(page, setup: Setup, key: str, choice: str) -> None:
    radio = item_group(page, setup, key).get_by_label(choice, exact=True)
    radio.click()
    expect(radio).to_be_checked()


def assert_answered(page, setup: Setup, answers: dict[str, str]) -> None:
    """Exactly these items answered, each with its choice; every other item has no answer."""
    for key in setup.items:
        group = item_group(page, setup, key)
        for choice in setup.points:
            radio = group.get_by_label(choice, exact=True)
            if answers.get(key) == choice:
                expect(radio).to_be_checked()
            else:
                expect(radio).not_to_be_checked()


def choose(page, setup: Setup, round_label: str) -> None:
    """On the due list: pick the round and the class and show them."""
    main = page.get_by_role("main")
    main.get_by_label("Round", exact=True).select_option(label=round_label)
    main.get_by_label("Class", exact=True).select_option(label=setup.class_option)
    main.get_by_role("button", name="Show", exact=True).click()
    expect(main.get_by_label("Round", exact=True).locator("option:checked")).to_have_text(round_label)
    expect(main.get_by_label("Class", exact=True).locator("option:checked")).to_have_text(setup.class_option)


def form_link(page):
    """The child's status link in the healing-classroom column of the due list."""
    row = page.get_by_role("main").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=CHILD_NAME, exact=True))
    return row.get_by_role("link", name=re.compile(rf"{re.escape(FORM_NAME)}\W+{re.escape(CHILD_NAME)}"))


def expected_score(setup: Setup, answers: dict[str, str]):
    """What the plugin's own scoring makes of the answers, as submitted values."""
    from plugins.healing_classrooms.form import HealingClassroomObservation

    values = {key: setup.points[choice] for key, choice in answers.items()}
    return values, HealingClassroomObservation().score(dict(values), {})


def stored(live_server, setup: Setup, round_id: int):
    """The child's healing-classroom form of the round, as plain values."""
    from tracker.assessments.models import Assessment
    from tracker.extensions import db
    from tracker.models import Child, User

    with live_server.app.app_context():
        child = db.session.scalar(sa.select(Child).where(Child.code == setup.child_code))
        teacher = db.session.scalar(sa.select(User).where(User.email == TEACHER_EMAIL))
        rows = db.session.scalars(sa.select(Assessment).where(Assessment.child_id == child.id,
                                                              Assessment.round_id == round_id)).all()
        assert [a.type_slug for a in rows] == [SLUG]
        a = rows[0]
        out = {"status": a.status, "answers": dict(a.answers), "scores": dict(a.scores), "band": a.band,
               "by_teacher": a.created_by_id == a.updated_by_id == teacher.id,
               "submitted_by_teacher": a.submitted_by_id == teacher.id, "revisions": len(a.revisions)}
        db.session.remove()
    return out


def assert_submitted(live_server, setup: Setup, round_id: int, answers: dict[str, str], note: str = "") -> str:
    values, score = expected_score(setup, answers)
    if note:
        values["note"] = note
    row = stored(live_server, setup, round_id)
    assert row["status"] == "submitted"
    assert row["answers"] == values  # the answers and the note, nothing else (no CSRF token, no version)
    assert row["band"] == score.band
    assert row["scores"] == {**score.domains, "_extra": score.extra}
    assert row["by_teacher"] and row["submitted_by_teacher"] and row["revisions"] == 0
    return score.band


def test_teacher_fills_the_healing_classroom_form_in_two_rounds_and_the_child_page_shows_the_change(
        page, live_server, setup):
    main = page.get_by_role("main")
    keys = list(setup.items)
    sign_in(page, TEACHER_EMAIL)

    # 1. The due list, from the menu: the baseline round and the teacher's class.
    main_menu(page).get_by_role("link", name="Assessments", exact=True).click()
    expect(page.get_by_role("heading", name="Assessments", level=1)).to_be_visible()
    choose(page, setup, setup.baseline_label)
    expect(page).to_have_url(re.compile(rf"/assessments/\?round={setup.baseline_id}&class={setup.class_id}$"))
    expect(form_link(page)).to_have_text(re.compile(r"^Not started:"))
    assert_fits_phone(page)
    page.screenshot(path="/tmp/assessments_due.png", full_page=True)

    # 2. The form: nothing answered yet; about half of the items, then a draft.
    form_link(page).click()
    fill_url = re.compile(rf"/assessments/{setup.baseline_id}/{SLUG}/{re.escape(setup.child_code)}$")
    expect(page).to_have_url(fill_url)
    expect(page.get_by_role("heading", name=FORM_NAME, level=1)).to_be_visible()
    expect(main).to_contain_text(f"{CHILD_NAME} · {setup.child_code} · {setup.baseline_label}")
    expect(main.get_by_role("group")).to_have_count(len(keys))
    expect(main.locator("input[type=radio]:checked")).to_have_count(0)
    assert_fits_phone(page)
    draft = {key: BASELINE[key] for key in keys[:DRAFT_ITEMS]}
    for key, choice in draft.items():
        answer(page, setup, key, choice)
    main.get_by_role("button", name="Save draft", exact=True).click()

    expect(main.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    expect(page).to_have_url(fill_url)
    assert_answered(page, setup, draft)
    page.reload()
    assert_answered(page, setup, draft)
    expect(main).to_contain_text("Draft · last saved")
    row = stored(live_server, setup, setup.baseline_id)
    assert (row["status"], row["band"], row["scores"]) == ("draft", None, {})
    assert row["answers"] == {key: setup.points[choice] for key, choice in draft.items()}
    page.screenshot(path="/tmp/assessment_draft.png", full_page=True)

    # 3. The rest of the items, then submit: back on the due list, submitted.
    for key in keys[DRAFT_ITEMS:]:
        answer(page, setup, key, BASELINE[key])
    assert_answered(page, setup, BASELINE)
    main.get_by_role("button", name="Submit", exact=True).click()

    expect(main.get_by_role("status").filter(has_text="Submitted.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/assessments/\?round={setup.baseline_id}&class={setup.class_id}$"))
    expect(main.get_by_label("Round", exact=True).locator("option:checked")).to_have_text(setup.baseline_label)
    expect(form_link(page)).to_have_text(re.compile(r"^Submitted:"))
    assert_fits_phone(page)
    assert assert_submitted(live_server, setup, setup.baseline_id, BASELINE) == "keep_an_eye"

    # Opened again, the submitted form keeps its answers and offers a correction, not a draft.
    form_link(page).click()
    expect(page).to_have_url(fill_url)
    assert_answered(page, setup, BASELINE)
    expect(main.get_by_text("Keep an eye", exact=True)).to_be_visible()
    expect(main.get_by_role("button", name="Save correction", exact=True)).to_be_visible()
    expect(main.get_by_role("button", name="Save draft", exact=True)).to_have_count(0)
    page.go_back()

    # 4. The midline round, opened today: not started (the baseline's answers do not carry over), filled better.
    choose(page, setup, setup.midline_label)
    expect(page).to_have_url(re.compile(rf"/assessments/\?round={setup.midline_id}&class={setup.class_id}$"))
    expect(form_link(page)).to_have_text(re.compile(r"^Not started:"))
    form_link(page).click()
    expect(page).to_have_url(re.compile(rf"/assessments/{setup.midline_id}/{SLUG}/{re.escape(setup.child_code)}$"))
    expect(main).to_contain_text(setup.midline_label)
    expect(main.locator("input[type=radio]:checked")).to_have_count(0)
    for key in keys:
        answer(page, setup, key, MIDLINE[key])
    main.get_by_label("Note (optional)", exact=True).fill(NOTE)
    assert_fits_phone(page)
    main.get_by_role("button", name="Submit", exact=True).click()

    expect(main.get_by_role("status").filter(has_text="Submitted.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/assessments/\?round={setup.midline_id}&class={setup.class_id}$"))
    expect(form_link(page)).to_have_text(re.compile(r"^Submitted:"))
    assert assert_submitted(live_server, setup, setup.midline_id, MIDLINE, NOTE) == "doing_well"
    assert assert_submitted(live_server, setup, setup.baseline_id, BASELINE) == "keep_an_eye"  # left as it was

    # 5. The child's page, from the due list: both rounds, the chart and the change.
    main.get_by_role("row").get_by_role("link", name=CHILD_NAME, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/children/{re.escape(setup.child_code)}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(CHILD_NAME)
    section = main.get_by_role("region", name="Assessments", exact=True)
    expect(section.get_by_role("heading", name=FORM_NAME, level=3)).to_be_visible()
    expect(section.locator("svg")).to_have_count(1)
    expect(section.locator("svg")).to_be_visible()
    expect(section).to_contain_text("Since the previous round: better")
    baseline_row = section.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=setup.baseline_label, exact=True))
    midline_row = section.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=setup.midline_label, exact=True))
    expect(baseline_row).to_contain_text("Submitted")
    expect(baseline_row).to_contain_text("Keep an eye")
    expect(midline_row).to_contain_text("Submitted")
    expect(midline_row).to_contain_text("Doing well")
    # The baseline row comes first.
    rounds = section.get_by_role("rowheader").all_inner_texts()
    assert rounds == [setup.baseline_label, setup.midline_label], rounds
    # Nothing of the answers themselves (the note) shows on the child's page.
    expect(main).not_to_contain_text(NOTE)
    assert_fits_phone(page)
    page.screenshot(path="/tmp/assessment_child.png", full_page=True)
