"""Access control as users meet it: who sees which child, school and class, and who may change them.

Scope comes from the server-side assignments (schools for liaison officers, classes for
teachers); out of scope is 404 and nothing changes in the database.
"""
from __future__ import annotations

import datetime as dt

import flask
import pytest
import sqlalchemy as sa

from tracker.extensions import db

# --- helpers ---------------------------------------------------------------------------


# Each request ends its transaction, as in production (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("production_like_requests")


def snapshot() -> dict:
    """Every row of the tables a child action may write, read on a connection of its own."""
    from tracker.models import CentreStay, Child, Enrolment, Guardian, UascPeriod

    out = {}
    with db.engine.connect() as conn:
        for model in (Child, Enrolment, UascPeriod, CentreStay, Guardian):
            table = model.__table__
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
    return out


def make_child(centre, *, given="Omid", family="Sadeghi", sex="male", school=None, year=None, level="primary",
               grade=5, born: dt.date | None = None, created_by=None):
    """A child living in ``centre`` now, enrolled at ``school`` when given."""
    from tracker.children.operations import new_child_code
    from tracker.models import CentreStay, Child, Enrolment, UascPeriod
    from tracker.types import LegalBasis, Level, Sex, UascStatus

    today = dt.date.today()
    born = born or today.replace(year=today.year - 10, day=1)
    c = Child(code=new_child_code(), given_name=given, family_name=family, name_original="",
              name_key=f"{given} {family}".lower(), sex=Sex(sex), birth_date=born, country="IRN",
              first_language="fas", legal_basis=LegalBasis.public_task,
              created_by_id=getattr(created_by, "id", None))
    c.uasc_periods.append(UascPeriod(status=UascStatus.accompanied, start_date=today - dt.timedelta(days=100)))
    c.centre_stays.append(CentreStay(centre=centre, start_date=today - dt.timedelta(days=100)))
    db.session.add(c)
    if school is not None:
        db.session.add(Enrolment(child=c, school=school, year=year, level=Level(level), grade=grade,
                                 start_date=year.first_day))
    db.session.commit()
    return c


def codes_listed(client, **params) -> str:
    """The children list page; the returned text is only the result rows (the search box echoes the query)."""
    r = client.get("/children/", query_string=params)
    assert r.status_code == 200, r.text
    return r.text.split('role="status"', 1)[1]


# --- teachers ---------------------------------------------------------------------------


def test_teacher_sees_children_of_own_classes_only(client, auth, world):
    auth.login(world.teacher_a)
    r = client.get(f"/children/{world.child_a.code}")
    assert r.status_code == 200
    assert "Ahmad" in r.text
    assert client.get(f"/children/{world.child_b.code}").status_code == 404
    assert client.get(f"/schools/classes/{world.class_a.id}").status_code == 200
    assert client.get(f"/schools/classes/{world.class_b.id}").status_code == 404
    assert client.get(f"/schools/{world.school_b.code}").status_code == 404
    listing = codes_listed(client)
    assert world.child_a.code in listing
    assert world.child_b.code not in listing and "Zahra" not in listing


def test_teacher_cannot_change_enrolments_even_of_own_child(client, auth, world):
    auth.login(world.teacher_a)
    before = snapshot()
    today = dt.date.today().isoformat()
    assert client.post(f"/children/{world.child_a.code}/exit",
                       data={"end_date": today, "reason": "dropped_out"}).status_code == 404
    assert client.post(f"/children/{world.child_a.code}/uasc",
                       data={"status": "separated", "since": today, "guardian_name": "X"}).status_code == 404
    assert client.post("/children/new", data={"given_name": "A", "family_name": "B"}).status_code == 404
    assert snapshot() == before


# --- liaison officers --------------------------------------------------------------------


def test_liaison_gets_404_for_the_other_school(client, auth, world):
    auth.login(world.liaison_a)
    assert client.get(f"/children/{world.child_a.code}").status_code == 200
    assert client.get(f"/schools/{world.school_a.code}").status_code == 200
    assert client.get(f"/schools/classes/{world.class_a.id}").status_code == 200

    assert client.get(f"/children/{world.child_b.code}").status_code == 404
    assert client.get(f"/schools/{world.school_b.code}").status_code == 404
    assert client.get(f"/schools/classes/{world.class_b.id}").status_code == 404
    schools = client.get("/schools/").text
    assert world.school_a.name in schools and world.school_b.name not in schools
    listing = codes_listed(client)
    assert world.child_a.code in listing and world.child_b.code not in listing


def _actions(world, unenrolled_b_code):
    today = dt.date.today().isoformat()
    b = world.child_b.code
    return [
        ("enrol", f"/children/{unenrolled_b_code}/enrol",
         {"school": world.school_a.code, "level": "primary", "grade": "5", "start_date": world.year.first_day.isoformat()}),
        ("enrol-enrolled", f"/children/{b}/enrol",
         {"school": world.school_a.code, "level": "primary", "grade": "5", "start_date": today}),
        ("transfer", f"/children/{b}/transfer", {"school": world.school_a.code, "start_date": today}),
        ("exit", f"/children/{b}/exit", {"end_date": today, "reason": "moved_onward"}),
        ("uasc", f"/children/{b}/uasc", {"status": "separated", "since": today, "guardian_name": "CSR Beograd"}),
        ("centre", f"/children/{b}/centre", {"centre": world.centre_a.code, "since": today}),
    ]


def test_liaison_cannot_change_a_child_of_another_school(client, auth, world):
    unenrolled_b = make_child(world.centre_b, given="Sara", family="Ahmadi", sex="female")
    auth.login(world.liaison_a)
    before = snapshot()
    for name, url, data in _actions(world, unenrolled_b.code):
        assert client.get(url).status_code == 404, name
        r = client.post(url, data=data)
        assert r.status_code == 404, (name, r.status_code)
        assert snapshot() == before, name


@pytest.mark.parametrize("action", ["uasc", "centre", "exit"])
def test_same_posts_by_the_liaison_in_charge_succeed(client, auth, world, action):
    """Control for the test above: the data posted is valid, so the 404 came from scope alone."""
    if dt.date.today() < world.year.first_day:
        pytest.skip("an exit dated today needs the school year to have started")
    auth.login(world.liaison_b)
    before = snapshot()
    url, data = next((u, d) for n, u, d in _actions(world, "unused") if n == action)
    r = client.post(url, data=data)
    assert r.status_code == 302, r.text
    assert snapshot() != before


def test_liaison_enrol_form_refuses_a_school_code_of_another_school(client, auth, world):
    child = make_child(world.centre_a)  # lives in Beograd, where liaison_a's school is: in scope
    auth.login(world.liaison_a)
    assert client.get(f"/children/{child.code}/enrol").status_code == 200
    before = snapshot()
    r = client.post(f"/children/{child.code}/enrol", data={
        "school": world.school_b.code, "level": "primary", "grade": "5",
        "start_date": world.year.first_day.isoformat()})
    assert r.status_code == 400
    assert 'id="school-err"' in r.text
    assert snapshot() == before
    # a class of the other school, posted by id, is refused too
    r = client.post(f"/children/{child.code}/enrol", data={
        "school": world.school_a.code, "level": "secondary", "grade": "1", "class_id": str(world.class_b.id),
        "start_date": world.year.first_day.isoformat()})
    assert r.status_code == 400
    assert 'id="class_id-err"' in r.text
    assert snapshot() == before
    # the same form with the liaison's own school goes through
    r = client.post(f"/children/{child.code}/enrol", data={
        "school": world.school_a.code, "level": "primary", "grade": "5",
        "start_date": world.year.first_day.isoformat()})
    assert r.status_code == 302, r.text
    assert snapshot() != before


def test_search_filter_by_another_schools_code_reveals_nothing(client, auth, world):
    auth.login(world.liaison_a)
    r = client.get("/children/", query_string={"school": world.school_b.code})
    assert r.status_code == 400
    assert world.child_b.code not in r.text and "Zahra" not in r.text


def test_revoking_a_school_takes_effect_on_the_next_request(client, auth, world):
    auth.login(world.liaison_a)
    assert client.get(f"/children/{world.child_a.code}").status_code == 200
    assert client.get(f"/schools/{world.school_a.code}").status_code == 200

    world.liaison_a.schools.remove(world.school_a)
    db.session.commit()

    assert client.get(f"/children/{world.child_a.code}").status_code == 404
    assert client.get(f"/schools/{world.school_a.code}").status_code == 404
    assert client.get(f"/schools/classes/{world.class_a.id}").status_code == 404
    assert world.child_a.code not in codes_listed(client)


def test_revoking_a_class_takes_effect_on_the_next_request(client, auth, world):
    auth.login(world.teacher_a)
    assert client.get(f"/children/{world.child_a.code}").status_code == 200
    world.teacher_a.classes.remove(world.class_a)
    db.session.commit()
    assert client.get(f"/children/{world.child_a.code}").status_code == 404
    assert client.get(f"/schools/classes/{world.class_a.id}").status_code == 404


def test_liaison_sees_unenrolled_child_living_in_a_centre_of_their_municipality(client, auth, world):
    child = make_child(world.centre_a, given="Yusuf", family="Nazari", created_by=world.admin)
    auth.login(world.liaison_a)
    assert client.get(f"/children/{child.code}").status_code == 200
    assert child.code in codes_listed(client)
    assert child.code in codes_listed(client, enrolled="no")
    home = client.get("/").text
    assert "Yusuf" in home  # on the "living in a centre, not enrolled" list

    other = app_client_for(world.liaison_b)
    assert other.get(f"/children/{child.code}").status_code == 404
    assert child.code not in other.get("/children/").text


def test_child_who_left_the_centre_drops_out_of_the_liaisons_scope(client, auth, world):
    child = make_child(world.centre_a, given="Yusuf", family="Nazari", created_by=world.admin)
    auth.login(world.liaison_a)
    assert client.get(f"/children/{child.code}").status_code == 200
    stay = child.current_stay
    stay.end_date = dt.date.today() - dt.timedelta(days=1)
    db.session.commit()
    assert client.get(f"/children/{child.code}").status_code == 404


def app_client_for(user):
    from tests.conftest import Auth

    c = flask.current_app.test_client()
    assert Auth(c).login(user).status_code == 302
    return c


# --- no assignment, partners -------------------------------------------------------------


@pytest.mark.parametrize("who", ["liaison_none", "teacher_none"])
def test_user_without_assignment_sees_nothing(client, auth, world, who):
    auth.login(getattr(world, who))
    schools = client.get("/schools/")
    assert schools.status_code == 200
    assert "You have no schools yet" in schools.text
    assert world.school_a.name not in schools.text and world.school_b.name not in schools.text

    listing = client.get("/children/")
    assert listing.status_code == 200
    assert "0 children" in listing.text
    assert "No child matches" in listing.text
    for child in (world.child_a, world.child_b):
        assert child.code not in listing.text
        assert client.get(f"/children/{child.code}").status_code == 404
    assert client.get(f"/schools/{world.school_a.code}").status_code == 404
    assert client.get(f"/schools/classes/{world.class_a.id}").status_code == 404

    home = client.get("/")
    assert home.status_code == 200
    for text in ("Ahmad", "Zahra", world.child_a.code, world.child_b.code, world.school_a.name, world.school_b.name):
        assert text not in home.text
    expected = "No schools are assigned to you yet" if who == "liaison_none" else "No classes are assigned to you yet"
    assert expected in home.text


def test_partner_sees_aggregates_only(client, auth, world):
    auth.login(world.partner)
    for url in ("/children/", f"/children/{world.child_a.code}", f"/children/{world.child_b.code}", "/children/new",
                "/schools/", f"/schools/{world.school_a.code}", f"/schools/classes/{world.class_a.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post("/children/new", data={"given_name": "X"}).status_code == 404

    home = client.get("/")
    assert home.status_code == 200
    assert "Aggregates only" in home.text
    assert "&lt;5" in home.text  # one child per cell: suppressed
    for child in (world.child_a, world.child_b):
        for text in (child.given_name, child.family_name, child.code, child.birth_date.isoformat()):
            assert text not in home.text, text
        assert f'{child.birth_date.day}, {child.birth_date.year}' not in home.text  # "Mar 4, 2015"


# --- search ------------------------------------------------------------------------------


@pytest.fixture
def karimi(client, auth, world):
    """A child registered through the form by liaison_a, with a name in Persian script, not enrolled."""
    auth.login(world.liaison_a)
    r = client.post("/children/new", data={
        "given_name": "Mohammad", "family_name": "Karimi", "name_original": "محمد کریمی", "sex": "male",
        "birth_date": "2014-05-01", "country": "AFG", "first_language": "prs", "uasc_status": "accompanied",
        "centre": world.centre_a.code, "legal_basis": "public_task", "not_duplicate": "y"})
    assert r.status_code == 302, r.text
    return r.headers["Location"].rsplit("/", 1)[-1]


def test_search_by_latin_name_original_script_and_code(client, world, karimi):
    a, b = world.child_a.code, world.child_b.code
    for q in ("Karimi", "karimi", "KARIMI", "Karimi Mohammad", "moham"):
        found = codes_listed(client, q=q)
        assert karimi in found and a not in found, q
    for q in ("محمد کریمی", "کریمی", "محمد"):
        found = codes_listed(client, q=q)
        assert karimi in found and a not in found, q
    found = codes_listed(client, q="Ахмад")  # Serbian Cyrillic spelling of a Latin name
    assert a in found and karimi not in found
    for q in (a, a.lower(), f"  {a}  "):
        found = codes_listed(client, q=q)
        assert a in found and karimi not in found, q
    found = codes_listed(client, q="Nobody Known")
    assert "No child matches" in found and a not in found and karimi not in found
    # out of scope stays out of scope, whatever the query
    for q in ("Zahra", "Hosseini", b):
        found = codes_listed(client, q=q)
        assert b not in found and "0 children" in found, q


def test_search_filters_sex_uasc_enrolled(client, auth, world, karimi):
    auth.logout()
    auth.login(world.admin)
    a, b = world.child_a.code, world.child_b.code

    def listed(**params):
        text = codes_listed(client, **params)
        return {code for code in (a, b, karimi) if code in text}

    assert listed() == {a, b, karimi}
    assert listed(sex="female") == {b}
    assert listed(sex="male") == {a, karimi}
    assert listed(uasc="unaccompanied") == {b}
    assert listed(uasc="accompanied") == {a, karimi}
    assert listed(uasc="separated") == set()
    assert listed(enrolled="yes") == {a, b}
    assert listed(enrolled="no") == {karimi}
    assert listed(sex="male", enrolled="yes") == {a}
    assert listed(level="secondary") == {b}
    assert listed(centre=world.centre_a.code) == {a, karimi}
