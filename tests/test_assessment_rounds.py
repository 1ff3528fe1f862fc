"""Assessment pages that tell the truth: they open on the current round, overdue rounds say how many
children are missing, learning levels read as A0–B2 (a mean as "A2 (2.4)"), and the result and band
show right after Submit."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from plugins.learning_levels.levels import format_level
from tests.conftest import PASSWORD
from tracker.assessments import operations as ops
from tracker.assessments.types import all_types
from tracker.extensions import db
from tracker.models import AcademicYear, Child, Enrolment

pytestmark = pytest.mark.usefixtures("production_like_requests")

TODAY = dt.date.today()
LEVELS = {"listening": "A1", "speaking": "A2", "reading": "A1", "writing": "A0", "literacy": "word",
          "numeracy": "numbers_10_99"}


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)


@pytest.fixture
def rounds(app, world):
    """The class's school year stretched around today, with a closed, an open and a future round, and only the
    learning-levels form switched on (so a child is assessed with that one form)."""
    world.year.first_day, world.year.last_day = TODAY - dt.timedelta(days=200), TODAY + dt.timedelta(days=200)
    for e in db.session.scalars(sa.select(Enrolment)):
        e.start_date = TODAY - dt.timedelta(days=190)
    db.session.commit()
    with app.test_request_context():
        for slug in all_types():
            if slug != "learning_levels":
                ops.set_enabled(slug, False, world.admin)
        db.session.commit()
    made = {
        "baseline": ops.add_round(world.year, "baseline", TODAY - dt.timedelta(days=150),
                                  TODAY - dt.timedelta(days=100)),
        "midline": ops.add_round(world.year, "midline", TODAY - dt.timedelta(days=10), TODAY + dt.timedelta(days=10)),
        "endline": ops.add_round(world.year, "endline", TODAY + dt.timedelta(days=100), TODAY + dt.timedelta(days=150)),
    }
    db.session.commit()
    return made


def other_year() -> AcademicYear:
    year = AcademicYear(label="2040/41", first_day=dt.date(2040, 9, 1), last_day=dt.date(2041, 6, 20))
    db.session.add(year)
    db.session.flush()
    return year


def test_the_current_round_is_the_open_one_else_the_next_else_the_latest(app, world):
    year = other_year()
    baseline = ops.add_round(year, "baseline", dt.date(2040, 9, 10), dt.date(2040, 10, 10))
    midline = ops.add_round(year, "midline", dt.date(2041, 1, 15), dt.date(2041, 2, 15))
    endline = ops.add_round(year, "endline", dt.date(2041, 5, 15), dt.date(2041, 6, 15))
    rounds = ops.rounds_in_order(year.id)
    assert ops.current_round(dt.date(2041, 1, 20), rounds) == midline  # open today
    assert ops.current_round(dt.date(2040, 9, 10), rounds) == baseline  # the first day counts
    assert ops.current_round(dt.date(2040, 11, 1), rounds) == midline  # between rounds: the next one
    assert ops.current_round(dt.date(2040, 9, 1), rounds) == baseline  # before any: the first to open
    assert ops.current_round(dt.date(2041, 6, 16), rounds) == endline  # after all: the latest
    assert ops.current_round(dt.date(2041, 6, 16), []) is None


def test_the_due_list_and_the_class_page_open_on_the_current_round(client, world, rounds):
    login(client, world.teacher_a)
    page = client.get(f"/assessments/?class={world.class_a.id}").text
    assert f'<option value="{rounds["midline"].id}" selected>' in page
    assert '<strong class="badge">current</strong> Due from' in page
    page = client.get(f"/assessments/class/{world.class_a.id}").text
    current = page[page.index('class="round open current"'):]
    assert f"Midline {world.year.label}" in current[:400] and "current" in current[:400]
    assert "0 of 1 children assessed." in page


def test_a_closed_round_with_children_not_assessed_is_overdue(client, world, rounds):
    login(client, world.teacher_a)
    baseline = rounds["baseline"]
    page = client.get(f"/assessments/?round={baseline.id}&class={world.class_a.id}").text
    assert "Overdue" in page and "1 child in this class is not assessed" in page
    midline = client.get(f"/assessments/?round={rounds['midline'].id}&class={world.class_a.id}").text
    assert f"Overdue</strong>: Baseline {world.year.label}, 1 missing" in midline  # listed from the other rounds
    page = client.get(f"/assessments/class/{world.class_a.id}").text
    assert "Overdue" in page and "1 child not assessed" in page
    # An open or future round is never overdue.
    assert "not assessed" not in midline and "<strong>Overdue</strong>" not in midline
    # The form filled in late: the round is done, no longer overdue.
    r = client.post(f"/assessments/{baseline.id}/learning_levels/{world.child_a.code}",
                    data={**LEVELS, "action": "submit", "version": "0"})
    assert r.status_code == 302
    page = client.get(f"/assessments/?round={baseline.id}&class={world.class_a.id}").text
    assert "Overdue" not in page and "1 of 1 children assessed." in page


def test_the_result_and_band_show_right_after_submit(client, world, rounds):
    login(client, world.teacher_a)
    midline = rounds["midline"]
    r = client.post(f"/assessments/{midline.id}/learning_levels/{world.child_a.code}",
                    data={**LEVELS, "action": "submit", "version": "0"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"?round={midline.id}&class={world.class_a.id}")
    page = client.get(r.headers["Location"]).text
    card = page[page.index("result-card"):page.index("</div>", page.index("result-card"))]
    assert "Submitted.</strong> Ahmad Rahimi · Learning levels" in card
    assert "Needs learning support" in card  # grade 5 expects A2; writing A0 is two steps below
    assert "Serbian: listening: <strong>A1</strong>" in card and "Literacy: <strong>Word</strong>" in card
    assert "1.00" not in card
    # The form, opened again, shows the same result.
    page = client.get(f"/assessments/{midline.id}/learning_levels/{world.child_a.code}").text
    assert "Needs learning support" in page and "Serbian: writing: <strong>A0</strong>" in page
    # Shown once, as a message is: the due list, opened again, lists the child as submitted.
    page = client.get(f"/assessments/?round={midline.id}&class={world.class_a.id}").text
    assert "result-card" not in page and "Submitted" in page


def test_levels_show_as_labels_and_a_mean_as_the_nearest_label_and_the_number(client, world, rounds):
    login(client, world.teacher_a)
    midline = rounds["midline"]
    second = Child(code="C-SECOND", given_name="Sara", family_name="Second", name_key="sara second", sex="female",
                   birth_date=dt.date(2014, 1, 1), country="SYR", first_language="ara", legal_basis="public_task")
    db.session.add(second)
    db.session.add(Enrolment(child=second, school=world.school_a, year=world.year, level="primary", grade=5,
                             school_class=world.class_a, start_date=TODAY - dt.timedelta(days=190)))
    db.session.commit()
    for code, levels in ((world.child_a.code, LEVELS),
                         ("C-SECOND", {**LEVELS, "listening": "A2", "speaking": "B1", "reading": "A1"})):
        r = client.post(f"/assessments/{midline.id}/learning_levels/{code}",
                        data={**levels, "action": "submit", "version": "0"})
        assert r.status_code == 302
    page = client.get(f"/assessments/class/{world.class_a.id}").text
    # listening A1 and A2: 1.5, halves go to the lower level; speaking A2 and B1: 2.5; reading A1 and A1.
    assert "<td>A1 (1.5)</td>" in page and "<td>A2 (2.5)</td>" in page and "<td>A1</td>" in page
    assert "1.50" not in page and "2.50" not in page
    child_page = client.get(f"/children/{world.child_a.code}").text
    assert "<td>A1</td>" in child_page and "<td>A0</td>" in child_page and "<td>Word</td>" in child_page
    assert "1.00" not in child_page


def test_format_level(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert format_level("listening", 2.0) == "A2"
        assert format_level("listening", 2.4) == "A2 (2.4)"
        assert format_level("listening", 2.5) == "A2 (2.5)"
        assert format_level("listening", 2.96) == "B1"
        assert format_level("speaking", 4) == "B2"
        assert format_level("literacy", 3.0) == "Paragraph"
        assert format_level("numeracy", 0.6) == "Numbers 1–9 (0.6)"
        assert format_level("listening", None) == "–"
