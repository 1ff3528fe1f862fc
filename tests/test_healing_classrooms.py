"""The bundled healing-classroom observation: registration, items, scoring, the form, saving."""
from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
import sqlalchemy as sa

from plugins.healing_classrooms import form as hc
from plugins.healing_classrooms.form import (
    DOMAINS,
    ITEM_KEYS,
    ITEMS,
    REVERSED,
    HealingClassroomForm,
    HealingClassroomObservation,
    band_for,
)
from tracker.extensions import db

DOMAIN_KEYS = [key for key, _label in DOMAINS]
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])  # no database work: one backend is enough


def best(**overrides) -> dict:
    """Every item at its best: 4 ("almost always") on positive items, 1 ("never") on reversed ones."""
    out = {item.key: ("1" if item.reverse else "4") for item in ITEMS}
    out.update({k: str(v) for k, v in overrides.items()})
    return out


def scoring(points: dict[str, list[int]]) -> dict:
    """Answers that give each item the points listed for its domain (in item order), reversing as needed."""
    out = {}
    for domain, values in points.items():
        items = [item for item in ITEMS if item.domain == domain]
        assert len(items) == len(values)
        for item, p in zip(items, values):
            out[item.key] = str(5 - p if item.reverse else p)
    return out


def score(answers: dict):
    return HealingClassroomObservation().score(answers, {"grade": 5, "level": "primary"})


# A mixed set, scored by hand. Reversed items (the third of each domain) count 5 - x:
#   safe:       3, 2, R2 -> 3, 2, 3  -> 8/3  = 2.667
#   belonging:  4, 3, R1 -> 4, 3, 4  -> 11/3 = 3.667
#   emotions:   2, 2, R3 -> 2, 2, 2  -> 6/3  = 2.0
#   engagement: 3, 4, R2 -> 3, 4, 3  -> 10/3 = 3.333
#   hope:       1, 2, R4 -> 1, 2, 1  -> 4/3  = 1.333
#   mean of the domains: (8 + 11 + 6 + 10 + 4) / 15 = 39/15 = 2.6 -> keep_an_eye (2.25 <= 2.6 < 3.0)
MIXED = {"safe_1": "3", "safe_2": "2", "safe_3": "2",
         "belonging_1": "4", "belonging_2": "3", "belonging_3": "1",
         "emotions_1": "2", "emotions_2": "2", "emotions_3": "3",
         "engagement_1": "3", "engagement_2": "4", "engagement_3": "2",
         "hope_1": "1", "hope_2": "2", "hope_3": "4"}
MIXED_DOMAINS = {"safe": 8 / 3, "belonging": 11 / 3, "emotions": 2.0, "engagement": 10 / 3, "hope": 4 / 3}


# --- registration ---------------------------------------------------------------------------------------

def test_the_type_is_registered_and_listed(app):
    from tracker.assessments.types import all_types, enabled_types

    pm = app.extensions["tracker_plugins"]
    assert pm.get_plugin("healing_classrooms") is not None
    with app.test_request_context():
        atype = all_types()["healing_classrooms"]
        assert isinstance(atype, HealingClassroomObservation)
        assert atype.plugin == "healing_classrooms"
        assert "healing_classrooms" in enabled_types()
        assert atype.validated is False
        assert atype.licence == "CC BY 4.0 (tracker contributors)"
        assert atype.version == "1" and atype.sensitive is True and atype.scale == (1.0, 4.0)
        assert str(atype.label) == "Healing classroom observation"
        assert "not a validated screening instrument" in str(atype.description)
        assert "psychosocial support" in str(atype.description)
        assert [k for k, _label in atype.bands] == ["doing_well", "keep_an_eye", "needs_support"]
        assert atype.needs_support_band == "needs_support"
        assert [k for k, _label in atype.domains] == ["safe", "belonging", "emotions", "engagement", "hope"]
        assert atype.band_label("keep_an_eye") == "Keep an eye"
        assert atype.domain_label("hope") == "Hope and confidence"


def test_items_three_per_domain_with_a_reversed_one_each_and_translatable():
    assert len(ITEMS) == 15 and len(set(ITEM_KEYS)) == 15
    for domain in DOMAIN_KEYS:
        items = [i for i in ITEMS if i.domain == domain]
        assert len(items) == 3 and all(i.key.startswith(domain + "_") for i in items)
        assert sum(i.reverse for i in items) >= 1, domain
    assert REVERSED == {"safe_3", "belonging_3", "emotions_3", "engagement_3", "hope_3"}
    lazy = type(hc._l("x"))
    assert all(isinstance(i.label, lazy) for i in ITEMS)
    assert all(isinstance(label, lazy) for _k, label in DOMAINS + HealingClassroomObservation.bands)
    assert isinstance(HealingClassroomObservation.label, lazy)
    assert isinstance(HealingClassroomObservation.description, lazy)
    for key in ITEM_KEYS + ["note"]:
        assert hasattr(HealingClassroomForm, key)


# --- scoring --------------------------------------------------------------------------------------------

def test_best_answers_score_4_in_every_domain_and_doing_well():
    result = score(best())
    assert result.domains == {d: 4.0 for d in DOMAIN_KEYS}
    assert all(isinstance(v, float) for v in result.domains.values())
    assert result.band == "doing_well"
    assert result.extra == {"overall": 4.0}


def test_worst_answers_score_1_and_need_support():
    worst = {item.key: ("4" if item.reverse else "1") for item in ITEMS}
    result = score(worst)
    assert result.domains == {d: 1.0 for d in DOMAIN_KEYS}
    assert result.band == "needs_support"


def test_a_mixed_set_scored_by_hand():
    result = score(MIXED)
    assert result.domains == pytest.approx(MIXED_DOMAINS)
    assert list(result.domains) == DOMAIN_KEYS
    assert result.extra["overall"] == pytest.approx(2.6)
    assert result.band == "keep_an_eye"


def test_answers_may_be_numbers_and_extra_keys_are_ignored():
    answers = {k: int(v) for k, v in MIXED.items()} | {"note": "Draws a lot.", "csrf_token": "x"}
    assert score(answers).domains == pytest.approx(MIXED_DOMAINS)


def test_exactly_3_is_doing_well_and_just_below_is_keep_an_eye():
    result = score(scoring({d: [3, 3, 3] for d in DOMAIN_KEYS}))
    assert result.domains == {d: 3.0 for d in DOMAIN_KEYS} and result.band == "doing_well"
    # Uneven domains whose mean is still exactly 3: (8/3 + 10/3 + 3 + 3 + 3) / 5 = 45/15.
    uneven = scoring({"safe": [3, 3, 2], "belonging": [4, 3, 3], "emotions": [3, 3, 3], "engagement": [3, 3, 3],
                      "hope": [3, 3, 3]})
    assert score(uneven).band == "doing_well"
    # One point less anywhere: 44/15 = 2.93.
    below = scoring({"safe": [3, 3, 2], **{d: [3, 3, 3] for d in DOMAIN_KEYS[1:]}})
    result = score(below)
    assert result.extra["overall"] == pytest.approx(44 / 15) and result.band == "keep_an_eye"


def test_the_2_25_cut_off():
    # The cut-offs themselves: a mean exactly on one gets the better band.
    assert band_for(2.25) == band_for(Fraction(9, 4)) == "keep_an_eye"
    assert band_for(Fraction(9, 4) - Fraction(1, 10**9)) == "needs_support"
    assert band_for(3.0) == band_for(Fraction(3)) == "doing_well"
    assert band_for(Fraction(3) - Fraction(1, 10**9)) == "keep_an_eye"
    assert (hc.DOING_WELL_FROM, hc.KEEP_AN_EYE_FROM) == (3.0, 2.25)
    # With every item answered the mean is a multiple of 1/15, so the nearest means are 34/15 and 33/15.
    # 34 points: safe 3+3+2, belonging 2+2+2, emotions 2+2+2, engagement 2+2+2, hope 3+3+2.
    twos = {"belonging": [2, 2, 2], "emotions": [2, 2, 2], "engagement": [2, 2, 2]}
    result = score(scoring({"safe": [3, 3, 2], **twos, "hope": [3, 3, 2]}))
    assert result.extra["overall"] == pytest.approx(34 / 15) and result.band == "keep_an_eye"
    # 33 points: one point less in hope (3+2+2).
    result = score(scoring({"safe": [3, 3, 2], **twos, "hope": [3, 2, 2]}))
    assert result.extra["overall"] == pytest.approx(33 / 15) and result.band == "needs_support"


@pytest.mark.parametrize("key", sorted(REVERSED))
def test_reverse_scoring_really_reverses(key):
    domain = key.split("_")[0]
    never = score(best(**{key: 1}))
    always = score(best(**{key: 4}))
    assert never.domains[domain] == 4.0
    assert always.domains[domain] == 3.0  # points 4, 4, 1
    assert always.domains[domain] < never.domains[domain]
    assert {d: v for d, v in always.domains.items() if d != domain} == {d: 4.0 for d in DOMAIN_KEYS if d != domain}


def test_a_positive_item_is_not_reversed():
    assert score(best(safe_1=1)).domains["safe"] == 3.0  # points 1, 4, 4


@pytest.mark.parametrize("blank", ["drop", None, ""])
def test_a_missing_answer_raises_naming_the_domain(blank):
    answers = best()
    if blank == "drop":
        del answers["belonging_2"]
    else:
        answers["belonging_2"] = blank
    with pytest.raises(ValueError, match=r"belonging.*belonging_2") as exc:
        score(answers)
    assert "'safe'" not in str(exc.value)


def test_every_domain_with_a_missing_answer_is_named():
    answers = {k: v for k, v in best().items() if k not in ("safe_1", "hope_3")}
    with pytest.raises(ValueError) as exc:
        score(answers)
    assert "'safe'" in str(exc.value) and "'hope'" in str(exc.value) and "'emotions'" not in str(exc.value)
    with pytest.raises(ValueError, match="safe"):
        score({})


@pytest.mark.parametrize("bad", ["5", "0", "x", 2.5, True])
def test_an_answer_outside_1_to_4_raises_naming_the_item(bad):
    with pytest.raises(ValueError, match=r"engagement_2.*engagement"):
        score(best() | {"engagement_2": bad})


# --- the form -------------------------------------------------------------------------------------------

@sqlite_only
def test_the_form_validates_a_complete_post(app):
    with app.test_request_context(method="POST", data=MIXED | {"note": "Likes drawing; joins football at break."}):
        f = HealingClassroomForm()
        assert f.validate(), f.errors
        assert [field.name for field in f] == ITEM_KEYS + ["note"]
        assert f.data["safe_2"] == "2" and f.data["note"].startswith("Likes drawing")
        assert [c.value for c in f.safe_1.choices] == ["1", "2", "3", "4"]
        assert [str(c.label) for c in f.safe_1.choices] == ["Never", "Sometimes", "Often", "Almost always"]
        assert score(f.data).band == "keep_an_eye"
    with app.test_request_context(method="POST", data=MIXED):
        f = HealingClassroomForm()
        assert f.validate(), f.errors  # the note is optional


@sqlite_only
def test_the_form_rejects_a_5(app):
    with app.test_request_context(method="POST", data=MIXED | {"hope_1": "5"}):
        f = HealingClassroomForm()
        assert not f.validate()
        assert list(f.errors) == ["hope_1"]
        assert [str(e) for e in f.errors["hope_1"]] == [
            "Choose one of the four answers: never, sometimes, often or almost always."]


@sqlite_only
def test_the_form_rejects_a_missing_item_with_a_message(app):
    data = {k: v for k, v in MIXED.items() if k != "emotions_3"}
    with app.test_request_context(method="POST", data=data):
        f = HealingClassroomForm()
        assert not f.validate()
        assert list(f.errors) == ["emotions_3"]
        assert [str(e) for e in f.errors["emotions_3"]] == ["Choose how often you saw this in the last two weeks."]
        assert 'name="emotions_3"' in f.emotions_3() and "Often" in f.emotions_3()


@sqlite_only
def test_the_note_is_at_most_1000_characters(app):
    with app.test_request_context(method="POST", data=MIXED | {"note": "x" * 1001}):
        f = HealingClassroomForm()
        assert not f.validate() and list(f.errors) == ["note"]
    with app.test_request_context(method="POST", data=MIXED | {"note": "x" * 1000}):
        assert HealingClassroomForm().validate()


# --- saving through the core ----------------------------------------------------------------------------

def _round(world, today: dt.date):
    from tracker.assessments import operations

    opens = max(world.year.first_day, today - dt.timedelta(days=7))
    closes = min(world.year.last_day, today + dt.timedelta(days=7))
    return operations.add_round(world.year, "baseline", opens, closes)


def test_saving_a_draft_then_submitting_stores_scores_and_band(app, world):
    from tracker.assessments import operations
    from tracker.assessments.models import Assessment
    from tracker.assessments.types import all_types

    today = dt.date.today()
    round_ = _round(world, today)
    with app.test_request_context():
        atype = all_types()["healing_classrooms"]
        partial = {k: v for k, v in MIXED.items() if not k.startswith("hope")} | {"note": ""}
        draft = operations.save(world.teacher_a, child=world.child_a, round_=round_, atype=atype, answers=partial,
                                submit=False, expected_version=None, today=today)
        assert draft.status == "draft" and draft.scores == {} and draft.band is None
        done = operations.save(world.teacher_a, child=world.child_a, round_=round_, atype=atype,
                               answers=MIXED | {"note": "Joins football at break."}, submit=True,
                               expected_version=draft.version, today=today)
        assessment_id = done.id
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Assessment).where(Assessment.id == assessment_id))
    assert stored.status == "submitted" and stored.type_slug == "healing_classrooms" and stored.type_version == "1"
    assert stored.answers["safe_3"] == "2" and stored.answers["note"] == "Joins football at break."
    assert stored.band == "keep_an_eye"
    assert {k: v for k, v in stored.scores.items() if k != "_extra"} == pytest.approx(MIXED_DOMAINS)
    assert stored.scores["_extra"]["overall"] == pytest.approx(2.6)


def test_submitting_low_answers_stores_needs_support(app, world):
    from tracker.assessments import operations
    from tracker.assessments.types import all_types

    today = dt.date.today()
    round_ = _round(world, today)
    low = scoring({d: [2, 2, 2] for d in DOMAIN_KEYS})
    with app.test_request_context():
        atype = all_types()["healing_classrooms"]
        saved = operations.save(world.teacher_a, child=world.child_a, round_=round_, atype=atype, answers=low,
                                submit=True, expected_version=None, today=today)
    db.session.expire_all()
    assert saved.band == "needs_support"
    assert {k: v for k, v in saved.scores.items() if k != "_extra"} == {d: 2.0 for d in DOMAIN_KEYS}
