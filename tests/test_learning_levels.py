"""The bundled learning-levels plugin: levels, expected levels per grade, bands, progress, the form,
registration, and a form saved and scored end to end."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from plugins.learning_levels import LearningLevels, LearningLevelsForm, level_descriptor, level_label, progress
from plugins.learning_levels.levels import (CEFR, DESCRIPTORS, DOMAIN_KEYS, EXPECTED, LEVEL_NAMES, LEVELS,
                                            expected_levels)
from tracker.extensions import db

GRADE_5 = {"listening": 2, "speaking": 2, "reading": 2, "writing": 2, "literacy": 4, "numeracy": 4}


def answers_at(indices: dict[str, int], note: str = "") -> dict:
    """Answers as the form stores them: a level code per domain."""
    return {**{d: LEVELS[d][i] for d, i in indices.items()}, "note": note}


def primary(grade):
    return {"grade": grade, "level": "primary"}


# --- levels and the expected-level table -----------------------------------------------------

def test_every_domain_has_five_levels_each_with_a_name_and_a_descriptor():
    assert set(LEVELS) == set(DOMAIN_KEYS) == {"listening", "speaking", "reading", "writing", "literacy", "numeracy"}
    assert LEVELS["speaking"] == CEFR == ("A0", "A1", "A2", "B1", "B2")
    assert LEVELS["literacy"] == ("beginner", "letter", "word", "paragraph", "story")
    assert LEVELS["numeracy"][0] == "beginner" and LEVELS["numeracy"][-1] == "multiplication_division"
    for domain, codes in LEVELS.items():
        assert len(codes) == 5
        assert set(DESCRIPTORS[domain]) == set(codes) == set(LEVEL_NAMES[domain])


def test_expected_levels_cover_every_grade_and_domain():
    assert sorted(EXPECTED["primary"]) == list(range(1, 9))
    assert sorted(EXPECTED["secondary"]) == list(range(1, 5))
    for rows in EXPECTED.values():
        for row in rows.values():
            assert set(row) == set(DOMAIN_KEYS) and all(0 <= i <= 4 for i in row.values())
    assert expected_levels("primary", 1) == {"listening": 1, "speaking": 1, "reading": 1, "writing": 1,
                                             "literacy": 1, "numeracy": 1}
    assert expected_levels("primary", 5) == GRADE_5
    assert expected_levels("secondary", 3) == {"listening": 3, "speaking": 3, "reading": 3, "writing": 3,
                                               "literacy": 4, "numeracy": 4}


def test_expected_levels_never_fall_with_a_higher_grade():
    ladder = [("primary", g) for g in range(1, 9)] + [("secondary", g) for g in range(1, 5)]
    for (level, grade), (next_level, next_grade) in zip(ladder, ladder[1:]):
        lower, higher = expected_levels(level, grade), expected_levels(next_level, next_grade)
        for domain in DOMAIN_KEYS:
            assert higher[domain] >= lower[domain], (next_level, next_grade, domain)
    # and they do rise over primary school
    assert expected_levels("primary", 8)["listening"] > expected_levels("primary", 1)["listening"]


@pytest.mark.parametrize("level, grade", [(None, 3), ("primary", None), ("vocational", 2), ("primary", 0),
                                          ("primary", "x"), (None, None)])
def test_no_expected_levels_without_a_known_level_and_grade(level, grade):
    assert expected_levels(level, grade) is None


def test_a_grade_beyond_the_table_reads_as_its_last_row():
    assert expected_levels("primary", 9) == expected_levels("primary", 8)
    assert expected_levels("primary", "4") == expected_levels("primary", 4)


# --- scoring by hand -------------------------------------------------------------------------

def test_on_track_at_the_expected_levels():
    result = LearningLevels().score(answers_at(GRADE_5), primary(5))
    assert result.domains == {d: float(i) for d, i in GRADE_5.items()}
    assert all(isinstance(v, float) for v in result.domains.values())
    assert result.band == "on_track"
    assert result.extra == {"expected": GRADE_5}


def test_on_track_above_the_expected_levels():
    above = {**GRADE_5, "speaking": 4, "reading": 3}
    assert LearningLevels().score(answers_at(above), primary(5)).band == "on_track"


def test_catching_up_exactly_one_step_below_in_one_domain():
    result = LearningLevels().score(answers_at({**GRADE_5, "writing": 1}), primary(5))
    assert result.band == "catching_up"
    assert result.domains["writing"] == 1.0


def test_catching_up_one_step_below_in_every_domain():
    one_below = {d: i - 1 for d, i in GRADE_5.items()}
    assert LearningLevels().score(answers_at(one_below), primary(5)).band == "catching_up"


def test_needs_support_two_steps_below_in_one_domain():
    result = LearningLevels().score(answers_at({**GRADE_5, "numeracy": 2}), primary(5))
    assert result.band == "needs_support"


def test_a_newcomer_at_a0_and_beginner():
    newcomer = {d: 0 for d in DOMAIN_KEYS}
    assert LearningLevels().score(answers_at(newcomer), primary(1)).band == "catching_up"
    assert LearningLevels().score(answers_at(newcomer), primary(3)).band == "needs_support"
    assert LearningLevels().score(answers_at(newcomer), {"grade": 2, "level": "secondary"}).band == "needs_support"


def test_no_grade_no_band_but_the_levels_are_scored():
    for context in ({"grade": None, "level": "primary"}, {"grade": None, "level": None}, {}):
        result = LearningLevels().score(answers_at(GRADE_5), context)
        assert result.band is None
        assert result.domains == {d: float(i) for d, i in GRADE_5.items()}
        assert result.extra == {"expected": {}}


def test_scoring_ignores_the_note_and_leaves_out_unanswered_or_unknown_answers():
    answers = {"listening": "a2", "speaking": "C2", "reading": "", "literacy": "story", "note": "B2"}
    result = LearningLevels().score(answers, primary(5))
    assert result.domains == {"listening": 2.0, "literacy": 4.0}
    assert result.band == "on_track"  # judged on the domains answered
    assert LearningLevels().score({"note": "nothing yet"}, primary(5)).band is None


# --- progress and display --------------------------------------------------------------------

def test_progress_up_same_down():
    baseline = {"listening": 1.0, "speaking": 0.0, "reading": 1.0, "writing": 0.0, "literacy": 2.0, "numeracy": 2.0}
    assert progress(baseline, {**baseline, "speaking": 1.0}) == "up"
    assert progress(baseline, dict(baseline)) == "same"
    assert progress(baseline, {**baseline, "literacy": 1.0}) == "down"
    # one up, one down by as much: the mean is the same
    assert progress(baseline, {**baseline, "speaking": 1.0, "numeracy": 1.0}) == "same"


def test_progress_compares_only_the_domains_in_both_rounds_and_ignores_extra():
    earlier = {"listening": 1.0, "reading": 1.0, "_extra": {"expected": {"listening": 2}}}
    later = {"listening": 1.0, "reading": 1.0, "numeracy": 4.0, "_extra": {"expected": {}}}
    assert progress(earlier, later) == "same"  # numeracy was not scored earlier
    assert progress(earlier, {"listening": 2.0}) == "up"
    assert progress({"listening": 3.0}, {"reading": 0.0}) == "same"  # nothing to compare


def test_level_label_and_descriptor():
    assert level_label("speaking", 1) == "A1"
    assert level_label("speaking", 3.0) == "B1"  # stored scores are floats
    assert level_label("literacy", 3) == "Paragraph"
    assert level_label("numeracy", 0) == "Beginner"
    assert level_label("numeracy", 4) == "Multiplication and division"
    assert level_label("speaking", 7) == "7" and level_label("unknown", 1) == "1" and level_label("reading", None) == ""
    assert level_descriptor("speaking", 1) == "says simple phrases about self and class"
    assert level_descriptor("speaking", 9) == ""


def test_type_attributes():
    t = LearningLevels()
    assert (t.slug, t.version, t.validated, t.sensitive, t.needs_support_band) == (
        "learning_levels", "1", False, True, None)
    assert str(t.label) == "Learning levels" and "CC BY 4.0" in t.licence
    assert [k for k, _ in t.domains] == list(DOMAIN_KEYS)
    assert [k for k, _ in t.bands] == ["on_track", "catching_up", "needs_support"]
    assert t.scale == (0.0, 4.0)


# --- with the app: registration, the form, saving --------------------------------------------

def test_registered_through_the_entry_point(app):
    from tracker.assessments.types import all_types, enabled_types

    with app.test_request_context():
        types = all_types()
        assert isinstance(types["learning_levels"], LearningLevels)
        assert types["learning_levels"].plugin == "learning_levels"
        assert types["learning_levels"].form_class is LearningLevelsForm
        assert "learning_levels" in enabled_types()
        assert str(types["learning_levels"].band_label("catching_up")) == "Catching up"
        assert str(types["learning_levels"].domain_label("speaking")) == "Serbian: speaking"


def _form(app, data: dict) -> LearningLevelsForm:
    """The form as the view builds it from a POST, validated."""
    with app.test_request_context(method="POST", data=data):
        form = LearningLevelsForm()
        form.validate()
        return form


def test_form_accepts_a_complete_answer(app):
    form = _form(app, answers_at(GRADE_5, note="  Reads well; shy when speaking.\n"))
    assert not form.errors, form.errors
    assert form.data["speaking"] == "A2" and form.data["numeracy"] == "multiplication_division"
    assert form.data["note"] == "Reads well; shy when speaking."


def test_form_refuses_an_unknown_level_with_a_message(app):
    form = _form(app, {**answers_at(GRADE_5), "speaking": "C2"})
    assert list(form.errors) == ["speaking"]
    assert [str(m) for m in form.errors["speaking"]] == [
        "That is not one of the levels listed: choose one from the list."]


def test_form_asks_for_every_domain(app):
    data = answers_at(GRADE_5)
    del data["reading"]
    data["writing"] = ""
    form = _form(app, data)
    assert set(form.errors) == {"reading", "writing"}
    for name in ("reading", "writing"):
        assert [str(m) for m in form.errors[name]] == ["Choose the level that fits the child best."]


def test_form_note_is_optional_and_limited(app):
    assert not _form(app, {**answers_at(GRADE_5), "note": ""}).errors
    assert set(_form(app, {**answers_at(GRADE_5), "note": "x" * 1001}).errors) == {"note"}
    assert set(_form(app, {**answers_at(GRADE_5), "note": "bad\x00byte"}).errors) == {"note"}


def test_form_offers_each_level_with_its_descriptor(app):
    with app.test_request_context():
        form = LearningLevelsForm(formdata=None)
        labels = [str(choice.label) for choice in form.speaking.choices]
        assert labels[0] == "Choose…"
        assert "A1 — says simple phrases about self and class" in labels
        assert [choice.value for choice in form.numeracy.choices][1:] == list(LEVELS["numeracy"])
        assert 'value="numbers_10_99"' in str(form.numeracy())
        assert [f.name for f in form if f.name != "csrf_token"] == [*DOMAIN_KEYS, "note"]


def test_saved_and_scored_end_to_end(app, world):
    from tracker.assessments import operations
    from tracker.assessments.models import Assessment
    from tracker.assessments.types import all_types

    today = dt.date.today()
    with app.test_request_context():
        atype = all_types()["learning_levels"]
        round_ = operations.add_round(world.year, "baseline", world.year.first_day, world.year.last_day)
        answers = answers_at({**GRADE_5, "writing": 1, "numeracy": 3}, note="New in March.")
        draft = operations.save(world.teacher_a, child=world.child_a, round_=round_, atype=atype,
                                answers={"listening": "A2"}, submit=False, expected_version=None, today=today)
        assert draft.status == "draft" and draft.scores == {} and draft.band is None
        saved = operations.save(world.teacher_a, child=world.child_a, round_=round_, atype=atype, answers=answers,
                                submit=True, expected_version=draft.version, today=today)
        assessment_id = saved.id

    db.session.expire_all()
    stored = db.session.scalar(sa.select(Assessment).where(Assessment.id == assessment_id))
    assert stored.status == "submitted" and stored.type_slug == "learning_levels" and stored.type_version == "1"
    assert stored.answers["writing"] == "A1" and stored.answers["numeracy"] == "addition_subtraction"
    assert stored.band == "catching_up"  # primary grade 5: one step below in writing and in numeracy
    assert stored.scores == {"listening": 2.0, "speaking": 2.0, "reading": 2.0, "writing": 1.0, "literacy": 4.0,
                             "numeracy": 3.0, "_extra": {"expected": GRADE_5}}
    assert progress(stored.scores, {**stored.scores, "writing": 2.0}) == "up"


def test_a_teacher_of_another_class_may_not_save(app, world):
    from tracker.assessments import operations
    from tracker.assessments.types import all_types

    with app.test_request_context():
        round_ = operations.add_round(world.year, "baseline", world.year.first_day, world.year.last_day)
        with pytest.raises(PermissionError):
            operations.save(world.teacher_a, child=world.child_b, round_=round_, atype=all_types()["learning_levels"],
                            answers=answers_at(GRADE_5), submit=True, expected_version=None, today=dt.date.today())
