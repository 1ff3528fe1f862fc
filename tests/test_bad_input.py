"""Bad input as users (and fuzzers) send it: never a 500, nothing written, a message by the field.

Property tests start from a valid form, replace one field with random text (any script, control
characters, huge, empty, dates, numbers) and check the answer; targeted tests cover the mistakes
people make: a birth date in the future, a UASC child without a guardian, a transfer dated before
the enrolment began...
"""
from __future__ import annotations

import datetime as dt
import html as htmllib

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tracker.extensions import db

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def junk(huge: int):
    """Random field values: any text, control characters, tricky strings, numbers, dates, up to ``huge`` long."""
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
        st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=5),  # control characters, NUL included
        st.sampled_from(["", " ", "\x00", "Ali\x00", "\u202eilA", "\ufeff", "' OR 1=1 --", "<script>alert(1)</script>",
                         "%", "_", "%%_", "-1", "0", "9" * 30, "1e9", "١٢", "2024-02-30", "0000-00-00", "31.12.2015",
                         "C-", "C-AAAAAA", "null", "None", "true", "[]", "{}", "../../etc/passwd"]),
        st.integers(min_value=-10**30, max_value=10**30).map(str),
        st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
        st.integers(min_value=1_000, max_value=huge).map(lambda n: "ж" * n),
    )


JUNK = junk(120_000)  # form bodies: up to ~240 kB of text in one field
REDIRECTS = (301, 302, 303)


# Each request ends its transaction, as in production (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("production_like_requests")


def committed_count(model, *where) -> int:
    """Rows committed to the database, read on a connection of its own."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model.__table__).where(*where))


def rows_of(model, *where) -> list[tuple]:
    table = model.__table__
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).where(*where).order_by(table.c.id))]


def assert_field_error(html: str, field: str, message: str | None = None) -> None:
    assert f'id="{field}-err"' in html, f"no error shown by the {field} field"
    if message is not None:
        start = html.index(f'id="{field}-err"')
        shown = htmllib.unescape(html[start:start + 400])
        assert message in shown, f"{message!r} not shown by the {field} field"


def make_child(centre, *, school=None, year=None, level="primary", grade=5, start=None, born=None):
    from tracker.children.operations import new_child_code
    from tracker.models import CentreStay, Child, Enrolment, UascPeriod
    from tracker.types import LegalBasis, Level, Sex, UascStatus

    today = dt.date.today()
    born = born or dt.date(today.year - 12, 6, 15)
    c = Child(code=new_child_code(), given_name="Test", family_name="Child", name_original="", name_key="test child",
              sex=Sex.female, birth_date=born, country="SYR", first_language="ara", legal_basis=LegalBasis.public_task)
    c.uasc_periods.append(UascPeriod(status=UascStatus.accompanied, start_date=today - dt.timedelta(days=200)))
    c.centre_stays.append(CentreStay(centre=centre, start_date=today - dt.timedelta(days=200)))
    db.session.add(c)
    if school is not None:
        db.session.add(Enrolment(child=c, school=school, year=year, level=Level(level), grade=grade,
                                 start_date=start or year.first_day))
    db.session.commit()
    return c


def valid_child_form(world) -> dict:
    return {
        "given_name": "Amina", "family_name": "Jafari", "name_original": "آمنه جعفری", "sex": "female",
        "birth_date": "2014-05-01", "country": "AFG", "first_language": "prs", "uasc_status": "accompanied",
        "guardian_name": "CSR Beograd", "guardian_organisation": "Centar za socijalni rad", "guardian_phone": "+381 11",
        "arrival_date": "", "centre": world.centre_a.code, "centre_since": "", "temporary_id": "", "asylum_number": "",
        "legal_basis": "public_task", "not_duplicate": "y",
    }


def check_answer(r, field: str, written_before: int, written_after: int) -> None:
    """Never a 500. A redirect wrote exactly one record; anything else wrote nothing and names the field."""
    event(f"{field}: {r.status_code}")
    assert r.status_code < 500, (field, r.status_code)
    if r.status_code in REDIRECTS:
        assert written_after == written_before + 1
        return
    assert 400 <= r.status_code < 500, (field, r.status_code)
    assert written_after == written_before, (field, r.status_code)
    if r.status_code == 400:
        assert_field_error(r.text, field)


def a_day_in_the_school_year(world) -> dt.date:
    """A date on which the world's enrolments are open and which is not in the future."""
    today = dt.date.today()
    return max(world.year.first_day, min(today, world.year.last_day))


# --- property tests ------------------------------------------------------------------------

CHILD_FIELDS = ["given_name", "family_name", "name_original", "sex", "birth_date", "country", "first_language",
                "uasc_status", "guardian_name", "guardian_organisation", "guardian_phone", "arrival_date", "centre",
                "centre_since", "temporary_id", "asylum_number", "legal_basis"]


@FUZZ
@given(field=st.sampled_from(CHILD_FIELDS), value=JUNK)
def test_register_child_with_random_field(client, auth, world, field, value):
    from tracker.models import Child

    auth.login(world.liaison_a)
    before = committed_count(Child)
    r = client.post("/children/new", data={**valid_child_form(world), field: value})
    check_answer(r, field, before, committed_count(Child))


ENROL_FIELDS = ["school", "level", "grade", "class_id", "start_date"]


@FUZZ
@given(field=st.sampled_from(ENROL_FIELDS), value=JUNK)
def test_enrol_with_random_field(client, auth, world, field, value):
    from tracker.models import Enrolment

    child = make_child(world.centre_a)
    auth.login(world.liaison_a)
    form = {"school": world.school_a.code, "level": "primary", "grade": "5", "class_id": "",
            "start_date": world.year.first_day.isoformat(), field: value}
    before = committed_count(Enrolment)
    r = client.post(f"/children/{child.code}/enrol", data=form)
    check_answer(r, field, before, committed_count(Enrolment))


TRANSFER_FIELDS = ["school", "start_date", "grade", "note"]


@FUZZ
@given(field=st.sampled_from(TRANSFER_FIELDS), value=JUNK)
def test_transfer_with_random_field(client, auth, world, field, value):
    from tracker.models import Enrolment

    start = min(world.year.first_day, dt.date.today() - dt.timedelta(days=30))
    child = make_child(world.centre_a, school=world.school_a, year=world.year, start=start)
    auth.login(world.liaison_a)
    before_rows = rows_of(Enrolment, Enrolment.child_id == child.id)
    form = {"school": world.school_b.code, "start_date": a_day_in_the_school_year(world).isoformat(), "grade": "",
            "note": "moved with family", field: value}
    r = client.post(f"/children/{child.code}/transfer", data=form)
    after_rows = rows_of(Enrolment, Enrolment.child_id == child.id)
    event(f"{field}: {r.status_code}")
    assert r.status_code < 500, (field, r.status_code)
    if r.status_code in REDIRECTS:
        assert len(after_rows) == 2  # the old one closed, a new one opened
        return
    assert after_rows == before_rows
    if r.status_code == 400:
        assert_field_error(r.text, field)


EXIT_FIELDS = ["end_date", "reason", "note"]


@FUZZ
@given(field=st.sampled_from(EXIT_FIELDS), value=JUNK)
def test_exit_with_random_field(client, auth, world, field, value):
    from tracker.models import Enrolment

    start = min(world.year.first_day, dt.date.today() - dt.timedelta(days=30))
    child = make_child(world.centre_a, school=world.school_a, year=world.year, start=start)
    auth.login(world.liaison_a)
    before_rows = rows_of(Enrolment, Enrolment.child_id == child.id)
    form = {"end_date": dt.date.today().isoformat(), "reason": "moved_onward", "note": "", field: value}
    r = client.post(f"/children/{child.code}/exit", data=form)
    after_rows = rows_of(Enrolment, Enrolment.child_id == child.id)
    event(f"{field}: {r.status_code}")
    assert r.status_code < 500, (field, r.status_code)
    if r.status_code in REDIRECTS:
        assert committed_count(Enrolment, Enrolment.child_id == child.id, Enrolment.end_date.is_(None)) == 0
        return
    assert after_rows == before_rows
    if r.status_code == 400:
        assert_field_error(r.text, field)


SEARCH_FIELDS = ["q", "school", "centre", "sex", "uasc", "level", "enrolled", "page"]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(SEARCH_FIELDS), junk(4_000), max_size=4))
def test_children_search_with_random_query(client, auth, world, params):
    from tracker.models import Child, Enrolment

    auth.login(world.liaison_a)
    before = committed_count(Child), committed_count(Enrolment)
    r = client.get("/children/", query_string=params)
    assert r.status_code in (200, 400), (params, r.status_code)
    assert (committed_count(Child), committed_count(Enrolment)) == before
    assert world.child_b.code not in r.text.split('role="status"')[-1]  # never out of scope
    if r.status_code == 400:
        assert any(f'id="{f}-err"' in r.text for f in params), params


# --- targeted cases: registering ---------------------------------------------------------


@pytest.mark.parametrize("change, field, message", [
    ({"birth_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, "birth_date", "cannot be in the future"),
    ({"birth_date": "1950-01-01"}, "birth_date", "check the birth date"),
    ({"birth_date": "2015-02-30"}, "birth_date", "Not a valid date"),
    ({"birth_date": ""}, "birth_date", "This field is required"),
    ({"country": "XXX"}, "country", "Not a valid choice"),
    ({"country": "afg"}, "country", "Not a valid choice"),
    ({"first_language": "klingon"}, "first_language", "Not a valid choice"),
    ({"uasc_status": "unaccompanied", "guardian_name": ""}, "guardian_name", "needs the name of the legal guardian"),
    ({"uasc_status": "separated", "guardian_name": "   "}, "guardian_name", "needs the name of the legal guardian"),
    ({"given_name": "   "}, "given_name", "This field is required"),
    ({"family_name": "x" * 101}, "family_name", "100"),
    ({"arrival_date": "2010-01-01"}, "arrival_date", "between the birth date and today"),
    ({"centre": "NOPE"}, "centre", "Not a valid choice"),
    ({"centre_since": (dt.date.today() + dt.timedelta(days=3)).isoformat()}, "centre_since", "between the birth date"),
    ({"sex": "x"}, "sex", "Not a valid choice"),
    ({"legal_basis": "because"}, "legal_basis", "Not a valid choice"),
])
def test_register_child_refuses_with_a_message(client, auth, world, change, field, message):
    from tracker.models import Child, Guardian, UascPeriod

    auth.login(world.liaison_a)
    before = committed_count(Child), committed_count(UascPeriod), committed_count(Guardian)
    r = client.post("/children/new", data={**valid_child_form(world), **change})
    assert r.status_code == 400
    assert_field_error(r.text, field, message)
    assert (committed_count(Child), committed_count(UascPeriod), committed_count(Guardian)) == before


def test_register_child_valid_form_goes_through(client, auth, world):
    """Control for the refusals above."""
    from tracker.models import Child

    auth.login(world.liaison_a)
    before = committed_count(Child)
    r = client.post("/children/new", data=valid_child_form(world))
    assert r.status_code == 302, r.text
    assert committed_count(Child) == before + 1


@pytest.mark.parametrize("field, value", [
    ("given_name", "Ali\x00"),
    ("family_name", "\x00"),
    ("name_original", "علی\x00"),
    ("guardian_name", "CSR\x00"),
    ("temporary_id", "12\x0034"),
])
def test_register_child_refuses_nul_characters(client, auth, world, field, value):
    """A NUL byte is never part of a name or number: refused by the field, on SQLite as on PostgreSQL."""
    from tracker.models import Child

    auth.login(world.liaison_a)
    before = committed_count(Child)
    r = client.post("/children/new", data={**valid_child_form(world), field: value})
    assert r.status_code == 400, r.status_code
    assert_field_error(r.text, field)
    assert committed_count(Child) == before


@pytest.mark.parametrize("q", ["\x00", "Ahmad\x00", "C-\x00"])
def test_search_with_nul_character_is_not_a_server_error(client, auth, world, q):
    auth.login(world.liaison_a)
    r = client.get("/children/", query_string={"q": q})
    assert r.status_code in (200, 400), r.status_code


@pytest.mark.parametrize("field", ["sex", "uasc", "level", "enrolled", "school", "centre"])
@pytest.mark.parametrize("value", [" ", "\t"])
def test_search_with_blank_filter_is_not_a_server_error(client, auth, world, field, value):
    """A filter holding only whitespace (a hand-edited URL) is never a 500."""
    auth.login(world.liaison_a)
    r = client.get("/children/", query_string={field: value})
    assert r.status_code in (200, 400), r.status_code


@pytest.mark.parametrize("form", ["exit", "transfer"])
def test_nul_character_in_a_note_is_not_a_server_error(client, auth, world, form):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    data = {"end_date": dt.date.today().isoformat(), "reason": "moved_onward", "note": "left\x00"} if form == "exit" \
        else {"school": world.school_b.code, "start_date": a_day_in_the_school_year(world).isoformat(), "note": "\x00"}
    r = client.post(f"/children/{world.child_a.code}/{form}", data=data)
    assert r.status_code < 500, r.status_code
    if r.status_code >= 400:
        assert rows_of(Enrolment) == before


def test_registering_on_29_february_works(app, world):
    """On 29 February the 'older than 30 years' check must not crash (every registration that day)."""
    from tracker.children.operations import register_child
    from tracker.errors import OperationError

    try:
        child = register_child(given_name="Leap", family_name="Day", sex="male", birth_date=dt.date(2016, 3, 1),
                               country="AFG", first_language="prs", user=world.liaison_a, today=dt.date(2028, 2, 29))
    except OperationError:
        pytest.fail("a valid child was refused")
    assert child.id is not None


# --- targeted cases: enrolment ------------------------------------------------------------


def enrol_form(world, **change):
    return {"school": world.school_a.code, "level": "primary", "grade": "5", "class_id": "",
            "start_date": world.year.first_day.isoformat(), **change}


def test_enrolling_a_child_already_enrolled(client, auth, world):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    r = client.get(f"/children/{world.child_a.code}/enrol")
    assert "already enrolled at OŠ Vuk Karadžić" in r.text
    before = rows_of(Enrolment)
    r = client.post(f"/children/{world.child_a.code}/enrol", data=enrol_form(world, grade="6"))
    assert r.status_code == 400
    assert "already enrolled at OŠ Vuk Karadžić" in r.text
    assert "Transfer or record an exit first" in r.text
    assert rows_of(Enrolment) == before


@pytest.mark.parametrize("change, field, message", [
    ({"level": "secondary", "grade": "1"}, "level", "does not offer this level"),
    ({"grade": "9"}, "grade", "between 1 and 8"),
    ({"grade": "0"}, "grade", "between 1 and 8"),
    ({"grade": "five"}, "grade", "Not a valid integer"),
    ({"start_date": (dt.date.today() + dt.timedelta(days=60)).isoformat()}, "start_date", "too far in the future"),
    ({"start_date": "1990-09-01"}, "start_date", "before the child's birth date"),
    ({"start_date": "2031-31-01"}, "start_date", "Not a valid date"),
    ({"school": "SB002"}, "school", "Not a valid choice"),
    ({"school": ""}, "school", "This field is required"),
])
def test_enrol_refuses_with_a_message(client, auth, world, change, field, message):
    from tracker.models import Enrolment

    child = make_child(world.centre_a)
    auth.login(world.liaison_a)
    before = committed_count(Enrolment)
    r = client.post(f"/children/{child.code}/enrol", data=enrol_form(world, **change))
    assert r.status_code == 400
    assert_field_error(r.text, field, message)
    assert committed_count(Enrolment) == before
    # control: the unchanged form enrols the child
    r = client.post(f"/children/{child.code}/enrol", data=enrol_form(world))
    assert r.status_code == 302, r.text
    assert committed_count(Enrolment) == before + 1


def test_grade_7_in_secondary_is_refused(client, auth, world):
    from tracker.models import Enrolment

    child = make_child(world.centre_b, born=dt.date(dt.date.today().year - 16, 1, 10))
    auth.login(world.liaison_b)
    before = committed_count(Enrolment)
    r = client.post(f"/children/{child.code}/enrol", data=enrol_form(world, school=world.school_b.code,
                                                                     level="secondary", grade="7"))
    assert r.status_code == 400
    assert_field_error(r.text, "grade", "Grade must be between 1 and 4")
    assert committed_count(Enrolment) == before


def test_transfer_dated_before_the_enrolment_start(client, auth, world):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    for day in (world.year.first_day - dt.timedelta(days=10), world.year.first_day):
        r = client.post(f"/children/{world.child_a.code}/transfer",
                        data={"school": world.school_b.code, "start_date": day.isoformat()})
        assert r.status_code == 400
        assert_field_error(r.text, "start_date", "must start after")
        assert rows_of(Enrolment) == before


def test_transfer_to_the_same_school_is_not_offered(client, auth, world):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    r = client.post(f"/children/{world.child_a.code}/transfer",
                    data={"school": world.school_a.code, "start_date": a_day_in_the_school_year(world).isoformat()})
    assert r.status_code == 400
    assert_field_error(r.text, "school")
    assert rows_of(Enrolment) == before


@pytest.mark.parametrize("days, message", [(1, "cannot be in the future"), (400, "cannot be in the future")])
def test_exit_dated_in_the_future(client, auth, world, days, message):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    r = client.post(f"/children/{world.child_a.code}/exit",
                    data={"end_date": (dt.date.today() + dt.timedelta(days=days)).isoformat(), "reason": "dropped_out"})
    assert r.status_code == 400
    assert_field_error(r.text, "end_date", message)
    assert rows_of(Enrolment) == before


def test_exit_dated_before_the_enrolment_start(client, auth, world):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    r = client.post(f"/children/{world.child_a.code}/exit",
                    data={"end_date": (world.year.first_day - dt.timedelta(days=1)).isoformat(),
                          "reason": "dropped_out"})
    assert r.status_code == 400
    assert_field_error(r.text, "end_date", "before the enrolment started")
    assert rows_of(Enrolment) == before


@pytest.mark.parametrize("reason", ["transferred", "", "gone"])
def test_exit_reason_must_be_one_of_the_list(client, auth, world, reason):
    from tracker.models import Enrolment

    auth.login(world.liaison_a)
    before = rows_of(Enrolment)
    r = client.post(f"/children/{world.child_a.code}/exit",
                    data={"end_date": dt.date.today().isoformat(), "reason": reason})
    assert r.status_code == 400
    assert_field_error(r.text, "reason")
    assert rows_of(Enrolment) == before
