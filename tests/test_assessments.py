"""Assessment forms in the core: due list, drafts, submission, corrections, locking, who sees what, switching off,
the "needs support" flag, and the report section with suppression.

The module registers its own small assessment type (this module is also the plugin), so the
core is tested apart from the bundled forms.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from tests.conftest import PASSWORD
from tracker import hookimpl
from tracker.assessments import operations as ops
from tracker.assessments.models import Assessment, AssessmentRevision
from tracker.assessments.types import AssessmentType, Score, all_types
from tracker.extensions import db
from tracker.flags.models import Flag
from tracker.flags.operations import refresh
from tracker.labels import options

pytestmark = pytest.mark.usefixtures("production_like_requests")


SCALE = options([("1", "never"), ("2", "sometimes"), ("3", "often"), ("4", "always")])


class MoodForm(FlaskForm):
    calm = RadioField("Calm in class", choices=SCALE, validators=[InputRequired(message="Choose how often.")])
    joins = RadioField("Joins group work", choices=SCALE, validators=[InputRequired(message="Choose how often.")])


class Mood(AssessmentType):
    slug = "mood_check"
    label = "Mood check"
    version = "2"
    licence = "test licence"
    domains = [("calm", "Calm"), ("joins", "Joins in")]
    bands = [("fine", "Fine"), ("low", "Needs support")]
    needs_support_band = "low"
    form_class = MoodForm

    def score(self, answers, context):
        calm, joins = float(answers["calm"]), float(answers["joins"])
        return Score({"calm": calm, "joins": joins}, "low" if (calm + joins) / 2 < 2 else "fine")


@hookimpl
def register_assessment_types():
    return [Mood]


@pytest.fixture
def app_config():
    return {"PLUGINS": ["tests.test_assessments"]}


@pytest.fixture
def baseline(app, world):
    today = dt.date.today()
    return ops.add_round(world.year, "baseline", max(world.year.first_day, today - dt.timedelta(days=10)),
                         min(world.year.last_day, today + dt.timedelta(days=10)))


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)


def url(round_, child, slug="mood_check"):
    return f"/assessments/{round_.id}/{slug}/{child.code}"


def stored(child) -> Assessment | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Assessment).where(Assessment.child_id == child.id))


def test_the_type_is_registered_with_its_plugin(app, world):
    with app.test_request_context():
        mood = all_types()["mood_check"]
    assert mood.plugin == "tests.test_assessments" and mood.licence == "test licence" and not mood.validated


def test_teacher_sees_the_due_list_saves_a_draft_then_submits(client, world, baseline):
    login(client, world.teacher_a)
    due = client.get(f"/assessments/?round={baseline.id}&class={world.class_a.id}").get_data(as_text=True)
    assert "Mood check" in due and "Not started" in due and world.child_a.given_name in due
    # A draft may leave questions unanswered.
    r = client.post(url(baseline, world.child_a), data={"calm": "3", "action": "draft", "version": "0"})
    assert r.status_code == 302
    a = stored(world.child_a)
    assert (a.status, a.answers, a.scores, a.version) == ("draft", {"calm": "3"}, {}, 1)
    page = client.get(url(baseline, world.child_a)).get_data(as_text=True)
    assert 'value="3" checked' in page or "checked" in page
    # Submitting needs every answer: refused with the question named, nothing changed.
    r = client.post(url(baseline, world.child_a), data={"calm": "3", "action": "submit", "version": "1"})
    assert r.status_code == 400 and "Choose how often." in r.get_data(as_text=True)
    assert stored(world.child_a).status == "draft"
    r = client.post(url(baseline, world.child_a), data={"calm": "3", "joins": "4", "action": "submit", "version": "1"})
    assert r.status_code == 302
    a = stored(world.child_a)
    assert (a.status, a.scores, a.band, a.type_version) == ("submitted", {"calm": 3.0, "joins": 4.0}, "fine", "2")
    due = client.get(f"/assessments/?round={baseline.id}&class={world.class_a.id}").get_data(as_text=True)
    assert "Submitted" in due


def test_a_correction_keeps_the_earlier_version(client, world, baseline):
    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "1", "joins": "1", "action": "submit", "version": "0"})
    r = client.post(url(baseline, world.child_a), data={"calm": "3", "joins": "3", "action": "submit", "version": "1"})
    assert r.status_code == 302
    a = stored(world.child_a)
    assert (a.band, a.version) == ("fine", 2)
    revisions = db.session.scalars(sa.select(AssessmentRevision)).all()
    assert [(r.version, r.band, r.answers) for r in revisions] == [(1, "low", {"calm": "1", "joins": "1"})]
    # Back to a draft is not possible once submitted.
    r = client.post(url(baseline, world.child_a), data={"calm": "2", "action": "draft", "version": "2"})
    assert r.status_code == 400 and stored(world.child_a).version == 2


def test_the_second_of_two_concurrent_saves_is_refused_and_nothing_is_overwritten(client, world, baseline):
    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "2", "action": "draft", "version": "0"})
    # Two people open version 1; the first saves, the second's save is refused.
    first = client.post(url(baseline, world.child_a), data={"calm": "4", "action": "draft", "version": "1"})
    assert first.status_code == 302
    second = client.post(url(baseline, world.child_a), data={"calm": "1", "action": "draft", "version": "1"})
    assert second.status_code == 409
    assert "Someone else saved this form" in second.get_data(as_text=True)
    assert stored(world.child_a).answers == {"calm": "4"}


def test_the_database_refuses_a_stale_write_too(app, world, baseline):
    """Optimistic locking also holds between two sessions that both read version 1."""
    from sqlalchemy.orm import Session

    with app.test_request_context():
        ops.save(world.teacher_a, child=world.child_a, round_=baseline, atype=all_types()["mood_check"],
                 answers={"calm": "2"}, submit=False, expected_version=None)
        db.session.commit()
    with Session(db.engine) as other:
        theirs = other.get(Assessment, stored(world.child_a).id)
        mine = stored(world.child_a)
        mine.answers = {"calm": "3"}
        db.session.commit()
        theirs.answers = {"calm": "1"}
        with pytest.raises(sa.orm.exc.StaleDataError):
            other.commit()
    assert stored(world.child_a).answers == {"calm": "3"}


@pytest.mark.parametrize("who", ["teacher_none", "liaison_b", "partner"])
def test_people_outside_the_childs_school_and_partners_cannot_fill_or_see(client, world, baseline, who):
    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "1", "joins": "1", "action": "submit", "version": "0"})
    client.post("/logout")
    login(client, getattr(world, who))
    assert client.get(url(baseline, world.child_a)).status_code == 404
    assert client.post(url(baseline, world.child_a), data={"calm": "4", "joins": "4", "action": "submit",
                                                            "version": "1"}).status_code == 404
    assert stored(world.child_a).band == "low"
    if who != "partner":
        page = client.get(f"/children/{world.child_a.code}")
        assert page.status_code == 404


def test_the_liaison_officer_and_admin_see_the_results_on_the_childs_page(client, world, baseline):
    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "1", "joins": "1", "action": "submit", "version": "0"})
    for user in (world.liaison_a, world.admin):
        client.post("/logout")
        login(client, user)
        page = client.get(f"/children/{world.child_a.code}").get_data(as_text=True)
        assert "Mood check" in page and "Needs support" in page and "<svg" in page


def test_an_admin_can_switch_a_type_off_and_on(client, world, baseline):
    login(client, world.admin)
    types = client.get("/assessments/types").get_data(as_text=True)
    assert "Mood check" in types and "test licence" in types and "tests.test_assessments" in types
    assert client.post("/assessments/types/mood_check", data={"enabled": "0"}).status_code == 302
    client.post("/logout")
    login(client, world.teacher_a)
    assert client.get(url(baseline, world.child_a)).status_code == 404
    assert "Mood check" not in client.get(f"/assessments/?round={baseline.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, world.admin)
    client.post("/assessments/types/mood_check", data={"enabled": "1"})
    client.post("/logout")
    login(client, world.teacher_a)
    assert client.get(url(baseline, world.child_a)).status_code == 200


def test_only_admins_manage_rounds_and_types(client, world):
    login(client, world.teacher_a)
    assert client.get("/assessments/rounds").status_code == 404
    assert client.get("/assessments/types").status_code == 404
    client.post("/logout")
    login(client, world.admin)
    first = world.year.first_day
    r = client.post("/assessments/rounds", data={"year": str(world.year.id), "kind": "midline",
                                                 "opens": (first + dt.timedelta(days=100)).isoformat(),
                                                 "closes": (first + dt.timedelta(days=90)).isoformat()})
    assert r.status_code == 400 and "closes before it opens" in r.get_data(as_text=True)
    r = client.post("/assessments/rounds", data={"year": str(world.year.id), "kind": "midline",
                                                 "opens": (first + dt.timedelta(days=90)).isoformat(),
                                                 "closes": (first + dt.timedelta(days=100)).isoformat()})
    assert r.status_code == 302
    assert "Midline" in client.get("/assessments/rounds").get_data(as_text=True)


def test_needs_support_raises_a_flag_that_clears_after_a_better_later_round(app, client, world, baseline):
    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "1", "joins": "1", "action": "submit", "version": "0"})
    with app.test_request_context():
        refresh(dt.date.today())
        db.session.commit()
    flags = db.session.scalars(sa.select(Flag).where(Flag.rule == "assessment_needs_support")).all()
    assert [f.child_id for f in flags] == [world.child_a.id] and flags[0].evidence["type"] == "mood_check"
    client.post(url(baseline, world.child_a), data={"calm": "4", "joins": "4", "action": "submit", "version": "1"})
    with app.test_request_context():
        refresh(dt.date.today())
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Flag, flags[0].id).cleared_on is not None


def test_the_report_section_counts_bands_and_hides_small_groups_from_partners(app, client, world, baseline):
    from tracker.reports import data

    login(client, world.teacher_a)
    client.post(url(baseline, world.child_a), data={"calm": "1", "joins": "1", "action": "submit", "version": "0"})
    with app.test_request_context():
        exact = data.build_report(world.admin, frm=world.year.first_day, to=world.year.last_day)
        # Partners get a whole period: the school year, once it is over.
        shared = data.build_report(world.partner, period=world.year.label,
                                   today=world.year.last_day + dt.timedelta(days=31))
    line = exact.contexts["learning_wellbeing"]["types"][0]["lines"][0]
    assert (line["n"], line["bands"], line["means"]) == (1, {"fine": 0, "low": 1}, [1.0, 1.0])
    hidden = shared.contexts["learning_wellbeing"]["types"][0]["lines"][0]
    assert hidden["status"]["n"] == "small" and hidden["means"] == [None, None]
    with app.test_request_context():
        from tracker.reports import exports

        html = exports.to_html(shared)
    assert "Learning and wellbeing" in html and "Mood check" in html and "&lt;5" in html
