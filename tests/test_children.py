"""Registering children, duplicates across scripts, enrolment history: enrol, transfer, exit."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.models import AuditEvent, Child, Enrolment

FORM = {
    "given_name": "Mohammad", "family_name": "Ahmadi", "name_original": "محمد احمدی", "sex": "male",
    "birth_date": "2013-05-02", "country": "AFG", "first_language": "prs", "uasc_status": "accompanied",
    "centre": "KRN", "legal_basis": "public_task",
}


def register(client, **overrides):
    return client.post("/children/new", data={**FORM, **overrides})


def test_register_a_child_keeps_the_original_script_exactly(client, auth, world):
    auth.login(world.liaison_a)
    r = register(client)
    assert r.status_code == 302
    child = db.session.scalar(sa.select(Child).where(Child.family_name == "Ahmadi"))
    assert child.name_original == "محمد احمدی"
    assert child.code.startswith("C-") and len(child.code) == 8
    assert r.headers["Location"].endswith(f"/children/{child.code}")
    page = client.get(r.headers["Location"]).text
    assert "محمد احمدی" in page and child.code in page and "Krnjača" in page
    assert child.legal_basis_recorded_by_id == world.liaison_a.id
    assert child.current_stay.centre.code == "KRN"
    assert f"/children/{child.id}" not in page  # database ids never shown


def test_uasc_child_needs_a_guardian_and_is_marked(client, auth, world):
    auth.login(world.liaison_a)
    r = register(client, uasc_status="unaccompanied")
    assert r.status_code == 400 and "legal guardian" in r.text
    assert count(Child) == 2
    r = register(client, uasc_status="unaccompanied", guardian_name="Jelena Petrović",
                 guardian_organisation="Centar za socijalni rad Palilula")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).text
    assert "Jelena Petrović" in page and 'class="badge uasc"' in page and "Unaccompanied" in page


@pytest.mark.parametrize("given,family,original,born", [
    ("Muhamed", "Ahmadi", "", "2013-05-20"),          # another Latin spelling, close birth date
    ("Мухамед", "Ахмади", "", "2013-05-02"),          # Serbian Cyrillic
    ("Mohammed", "Ahmady", "محمد احمدی", "2013-04-30"),
])
def test_possible_duplicate_warning_across_scripts_and_spellings(client, auth, world, given, family, original, born):
    auth.login(world.liaison_a)
    assert register(client).status_code == 302
    r = register(client, given_name=given, family_name=family, name_original=original, birth_date=born)
    assert r.status_code == 409
    assert "Possible match already registered" in r.text
    assert count(Child) == 3
    r = register(client, given_name=given, family_name=family, name_original=original, birth_date=born,
                 not_duplicate="y")
    assert r.status_code == 302 and count(Child) == 4


def test_different_child_gets_no_duplicate_warning(client, auth, world):
    auth.login(world.liaison_a)
    register(client)
    assert register(client, given_name="Ali", family_name="Rezai", name_original="علی رضایی").status_code == 302
    assert register(client, birth_date="2010-01-01").status_code == 302  # same name, three years apart


def test_estimated_birth_dates_widen_the_match(client, auth, world):
    auth.login(world.liaison_a)
    register(client, birth_date_estimated="y")
    assert register(client, birth_date="2013-11-01").status_code == 409


def test_enrol_transfer_exit_keeps_the_history(client, auth, world):
    auth.login(world.admin)
    r = register(client)
    code = r.headers["Location"].rsplit("/", 1)[1]
    first = world.year.first_day
    r = client.post(f"/children/{code}/enrol", data={"school": "SA001", "level": "primary", "grade": "5",
                                                     "class_id": str(world.class_a.id),
                                                     "start_date": (first + dt.timedelta(days=14)).isoformat()})
    assert r.status_code == 302, r.text
    r = client.post(f"/children/{code}/transfer", data={"school": "SB002",
                                                        "start_date": (first + dt.timedelta(days=40)).isoformat()})
    assert r.status_code == 302, r.text
    r = client.post(f"/children/{code}/exit", data={"end_date": (first + dt.timedelta(days=60)).isoformat(),
                                                    "reason": "moved_onward", "note": "Left for Austria"})
    assert r.status_code == 302, r.text
    child = db.session.scalar(sa.select(Child).where(Child.code == code))
    rows = [(e.school.code, e.start_date - first, e.end_date - first, e.exit_reason.value) for e in child.enrolments]
    assert rows == [("SA001", dt.timedelta(14), dt.timedelta(39), "transferred"),
                    ("SB002", dt.timedelta(40), dt.timedelta(60), "moved_onward")]
    page = client.get(f"/children/{code}").text
    assert "Transferred to another school" in page and "Moved onward (left Serbia)" in page
    assert "Left for Austria" in page
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "enrolment")).all()
    assert actions == ["enrolled", "transferred", "exited"]


def test_a_second_enrolment_while_one_is_open_is_refused(app, world):
    from tracker.enrolment.operations import enrol

    with pytest.raises(OperationError, match="already enrolled"):
        enrol(world.child_a, world.school_b, "primary", 5, world.year.first_day + dt.timedelta(days=3))
    assert count(Enrolment) == 2


def test_a_failed_transfer_changes_nothing(app, world):
    from tracker.enrolment.operations import transfer

    with pytest.raises(OperationError):
        transfer(world.child_a, world.school_b, world.year.first_day + dt.timedelta(days=5), level="secondary",
                 grade=7)
    db.session.rollback()
    e = world.child_a.open_enrolment
    assert e is not None and e.school.code == "SA001" and e.end_date is None


def test_exit_reason_transferred_needs_the_transfer_form(app, world):
    from tracker.enrolment.operations import exit_enrolment

    with pytest.raises(OperationError, match="Transfer"):
        exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=5), "transferred")


def test_returning_child_gets_a_new_enrolment(app, world):
    from tracker.enrolment.operations import enrol, exit_enrolment

    first = world.year.first_day
    exit_enrolment(world.child_a, first + dt.timedelta(days=20), "moved_onward")
    with pytest.raises(OperationError, match="start after"):
        enrol(world.child_a, world.school_a, "primary", 5, first + dt.timedelta(days=10))
    enrol(world.child_a, world.school_a, "primary", 5, first + dt.timedelta(days=50))
    assert [e.exit_reason and e.exit_reason.value for e in world.child_a.enrolments] == ["moved_onward", None]


def test_uasc_status_and_centre_history(client, auth, world):
    auth.login(world.liaison_a)
    code = world.child_a.code
    since = dt.date.today() - dt.timedelta(days=10)
    r = client.post(f"/children/{code}/uasc", data={"status": "separated", "since": since.isoformat(),
                                                    "guardian_name": "Milan Jovanović"})
    assert r.status_code == 302, r.text
    r = client.post(f"/children/{code}/centre", data={"centre": "SUB", "since": since.isoformat()})
    assert r.status_code == 302, r.text
    child = db.session.get(Child, world.child_a.id)
    db.session.refresh(child)
    assert [p.status.value for p in child.uasc_periods] == ["accompanied", "separated"]
    assert child.uasc_periods[0].end_date == since - dt.timedelta(days=1)
    assert [s.centre.code for s in child.centre_stays] == ["KRN", "SUB"]
    page = client.get(f"/children/{code}").text
    assert "Milan Jovanović" in page and "Subotica RTC" in page


def test_children_search_by_either_script_and_code(client, auth, world):
    auth.login(world.liaison_a)
    register(client)
    assert "Mohammad" in client.get("/children/?q=ahmadi").text
    assert "Mohammad" in client.get("/children/?q=محمد").text
    assert "Rahimi" in client.get(f"/children/?q={world.child_a.code.lower()}").text
    listing = client.get("/children/?enrolled=no").text
    assert "Mohammad" in listing and "Rahimi" not in listing
    assert "No child matches" in client.get("/children/?q=zzzz").text


def test_the_search_form_posts_so_names_stay_out_of_urls(client, auth, world):
    auth.login(world.liaison_a)
    page = client.get("/children/").text
    assert 'method="post" class="card" role="search"' in page
    r = client.post("/children/", data={"q": "rahimi"})
    assert r.status_code == 200 and "Ahmad Rahimi" in r.text
