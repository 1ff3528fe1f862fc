"""The possible-duplicate warning on Register a child: in-scope matches only, audited, and names matched on
both the given and the family name across Latin, Cyrillic and Arabic script."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tracker.children.names import names_match
from tracker.extensions import db
from tracker.models import AuditEvent, Child

views = pytest.mark.usefixtures("production_like_requests")


def form(world, **overrides):
    return {"given_name": "Ahmad", "family_name": "Rahimi", "name_original": "", "sex": "male",
            "birth_date": world.child_a.birth_date.isoformat(), "country": "AFG", "first_language": "prs",
            "uasc_status": "accompanied", "centre": "KRN", "legal_basis": "public_task", **overrides}


def audit_events(action="duplicate_check"):
    db.session.rollback()  # what the request committed, not what it left in the session
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


# --- scope --------------------------------------------------------------------------------------------------

@views
def test_a_match_outside_scope_is_not_described(client, auth, world):
    """Zahra Hosseini is at school B: liaison A learns only that a match exists elsewhere and whom to ask."""
    auth.login(world.liaison_a)
    other = world.child_b
    born = other.birth_date + dt.timedelta(days=3)
    r = client.post("/children/new", data=form(world, given_name="Zahra", family_name="Hosseini", sex="female",
                                               birth_date=born.isoformat()))
    assert r.status_code == 409
    page = r.text
    assert "outside your schools" in page and "administrator" in page
    assert other.code not in page
    assert other.birth_date.isoformat() not in page and other.birth_date.strftime("%d.%m.%Y") not in page
    assert 'class="badge' not in page  # neither the Girl nor the UASC badge
    assert "/children/C-" not in page
    assert client.get(f"/children/{other.code}").status_code == 404  # and the record stays closed
    assert count(Child) == 2


@views
def test_a_match_in_scope_is_listed_with_a_link(client, auth, world):
    auth.login(world.liaison_a)
    r = client.post("/children/new", data=form(world, given_name="Ahmed", family_name="Rahimy"))
    assert r.status_code == 409
    assert f"/children/{world.child_a.code}" in r.text
    assert "outside your schools" not in r.text


@views
def test_the_check_is_audited_without_field_values(client, auth, world):
    auth.login(world.liaison_a)
    born = world.child_b.birth_date.isoformat()
    assert client.post("/children/new", data=form(world, given_name="Zahra", family_name="Hosseini",
                                                  sex="female", birth_date=born)).status_code == 409
    events = audit_events()
    assert [(e.user_id, e.object_type, e.object_id) for e in events] == [
        (world.liaison_a.id, "child", world.child_b.code)]
    # Registering a child nobody resembles is audited too, without a record.
    assert client.post("/children/new", data=form(world, given_name="Yusuf", family_name="Haddad",
                                                  birth_date="2012-02-02")).status_code == 302
    events = audit_events()
    assert len(events) == 2 and events[1].object_id == ""
    for e in db.session.scalars(sa.select(AuditEvent)):
        for value in (e.action, e.object_type, e.object_id):
            assert not any(word in value for word in ("Zahra", "Hosseini", "Yusuf", "Haddad", born, "2012-02-02"))


@views
def test_an_officer_with_no_school_cannot_register_a_child(client, auth, world):
    auth.login(world.liaison_none)
    r = client.get("/children/new")
    assert r.status_code == 403 and "no school assigned" in r.text
    r = client.post("/children/new", data=form(world, given_name="Yusuf", family_name="Haddad",
                                               birth_date="2012-02-02", not_duplicate="y"))
    assert r.status_code == 403 and "Ask an administrator" in r.text
    assert count(Child) == 2


@views
def test_yusuf_haddad_is_not_wahid_safi(client, auth, world):
    auth.login(world.liaison_a)
    assert client.post("/children/new", data=form(world, given_name="Wahid", family_name="Safi",
                                                  birth_date="2012-02-02")).status_code == 302
    assert client.post("/children/new", data=form(world, given_name="Yusuf", family_name="Haddad",
                                                  birth_date="2012-02-10")).status_code == 302
    assert count(Child) == 4


# --- names across scripts ------------------------------------------------------------------------------------

# The same child as the Latin, Serbian Cyrillic and Arabic-script forms of one name (given, family).
SAME = [
    [("Yusuf", "Haddad"), ("Јусуф", "Хадад"), ("يوسف", "حداد")],
    [("Wahid", "Safi"), ("Вахид", "Сафи"), ("وحيد", "صافي")],
    [("Mohammad", "Ahmadi"), ("Мухамед", "Ахмади"), ("محمد", "احمدی")],
    [("Omar", "Faruq"), ("Омар", "Фарук"), ("عمر", "فاروق")],
    [("Fatemeh", "Hosseini"), ("Фатеме", "Хосеини"), ("فاطمه", "حسینی")],
    [("Ali", "Rezai"), ("Али", "Резаи"), ("علی", "رضایی")],
]


def _pairs_within(group):
    return [(a, b) for i, a in enumerate(group) for b in group[i + 1:]]


@pytest.mark.parametrize("a,b", [p for group in SAME for p in _pairs_within(group)])
def test_the_same_name_in_two_scripts_matches(a, b):
    assert names_match(*a, "", *b, "")
    assert names_match(b[1], b[0], "", *a, "")  # family name written first
    assert names_match("Nn", "Nn", f"{b[0]} {b[1]}", *a, "")  # only the original-script field has it


@pytest.mark.parametrize("a,b", [
    (x, y) for i, g in enumerate(SAME) for h in SAME[i + 1:] for x in g for y in h
] + [(("Ahmad", "Rahimi"), ("Mahmoud", "Rahimi")), (("Ahmad", "Rahimi"), ("Ahmad", "Karimi")),
     (("Zahra", "Hosseini"), ("Zahra", "Ahmadi"))])
def test_different_children_do_not_match(a, b):
    assert not names_match(*a, "", *b, "")
    assert not names_match(*a, "", b[1], b[0], "")
