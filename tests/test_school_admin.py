"""Schools and classes kept by administrators: create, edit, archive, and next year's classes from last year's."""
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tracker.extensions import db
from tracker.models import AcademicYear, AuditEvent, School, SchoolClass
from tracker.schools.operations import active_classes, active_schools


def audited(action) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == action))


SCHOOL = {"name": "OŠ Jovan Popović", "code": "SC003", "municipality": "Kikinda", "offers_primary": "y"}


def test_admin_creates_and_edits_a_school(client, auth, world):
    auth.login(world.admin)
    assert client.get("/schools/new").status_code == 200
    r = client.post("/schools/new", data=SCHOOL)
    assert r.status_code == 302 and r.headers["Location"].endswith("/schools/SC003")
    school = db.session.scalar(sa.select(School).where(School.code == "SC003"))
    assert (school.name, school.municipality, school.offers_primary, school.offers_secondary) == (
        "OŠ Jovan Popović", "Kikinda", True, False)
    assert audited("school_added") == 1
    r = client.post("/schools/SC003/edit", data={**SCHOOL, "name": "OŠ Jovan Popović Kikinda", "offers_secondary": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert school.name == "OŠ Jovan Popović Kikinda" and school.offers_secondary
    assert audited("school_changed") == 1
    assert "OŠ Jovan Popović Kikinda" in client.get("/schools/").text


@pytest.mark.parametrize("data, message", [
    ({**SCHOOL, "code": "SA001"}, "Another school has this code"),
    ({**SCHOOL, "code": "bad code!"}, "ministry code"),
    ({**SCHOOL, "name": ""}, "This field is required"),
    ({key: value for key, value in SCHOOL.items() if key != "offers_primary"}, "at least one level"),
])
def test_bad_schools_are_refused_and_nothing_is_written(client, auth, world, data, message):
    auth.login(world.admin)
    r = client.post("/schools/new", data=data)
    assert r.status_code == 400 and message in r.text
    assert count(School) == 2 and audited("school_added") == 0


def test_a_level_in_use_cannot_be_dropped(client, auth, world):
    auth.login(world.admin)
    r = client.post("/schools/SA001/edit", data={"name": "x", "code": "SA001", "municipality": "Beograd",
                                                 "offers_secondary": "y"})
    assert r.status_code == 400 and "classes or open enrolments at this level" in r.text
    db.session.expire_all()
    assert world.school_a.offers_primary and not world.school_a.offers_secondary and world.school_a.name != "x"


def test_archived_school_is_hidden_from_choices_but_keeps_its_records(client, auth, world):
    auth.login(world.admin)
    r = client.post("/schools/SA001/archive")
    assert r.status_code == 302
    db.session.expire_all()
    assert world.school_a.archived and audited("school_archived") == 1
    codes = [s.code for s in db.session.scalars(active_schools())]
    assert codes == ["SB002"]
    assert world.class_a.id not in set(db.session.scalars(active_classes(sa.select(SchoolClass.id))))
    assert "is archived" in client.get("/schools/SA001").text  # the message, shown once
    assert "OŠ Vuk Karadžić" not in client.get("/schools/").text
    assert "OŠ Vuk Karadžić" in client.get("/schools/?archived=1").text
    page = client.get("/schools/SA001")
    assert page.status_code == 200 and "5-1" in page.text and "archived" in page.text  # its records stay
    assert world.child_a.open_enrolment.school_id == world.school_a.id
    year = world.year.label.replace("/", "-")
    assert 'value="SA001"' not in client.get(f"/calendar/{year}").text  # not offered for new days off
    assert 'value="SA001"' not in client.get("/schools/copy-classes").text
    r = client.post("/schools/SA001/classes/new", data={"name": "6-1", "year": world.year.label, "level": "primary",
                                                        "grade": "6"})
    assert r.status_code == 400 and count(SchoolClass) == 2
    client.post("/schools/SA001/archive", data={"restore": "1"})
    db.session.expire_all()
    assert not world.school_a.archived and len(db.session.scalars(active_schools()).all()) == 2


def test_admin_creates_edits_and_archives_a_class(client, auth, world):
    auth.login(world.admin)
    assert client.get("/schools/SA001/classes/new").status_code == 200
    r = client.post("/schools/SA001/classes/new", data={"name": "6-2", "year": world.year.label, "level": "primary",
                                                        "grade": "6", "teachers": [str(world.teacher_none.id)]})
    assert r.status_code == 302
    cls = db.session.scalar(sa.select(SchoolClass).where(SchoolClass.name == "6-2"))
    assert (cls.school_id, cls.grade, [t.id for t in cls.teachers]) == (world.school_a.id, 6, [world.teacher_none.id])
    r = client.post(f"/schools/classes/{cls.id}/edit", data={
        "name": "6-3", "year": world.year.label, "level": "primary", "grade": "7",
        "teachers": [str(world.teacher_a.id), str(world.teacher_none.id)]})
    assert r.status_code == 302
    db.session.expire_all()
    assert (cls.name, cls.grade, {t.id for t in cls.teachers}) == ("6-3", 7, {world.teacher_a.id, world.teacher_none.id})
    assert audited("class_changed") == 1
    assert client.post(f"/schools/classes/{cls.id}/archive").status_code == 302
    db.session.expire_all()
    assert cls.archived and cls.id not in set(db.session.scalars(active_classes(sa.select(SchoolClass.id))))
    assert "Archived classes" in client.get("/schools/SA001").text


@pytest.mark.parametrize("data, message", [
    ({"name": "5-1", "level": "primary", "grade": "5"}, "already has a class 5-1"),
    ({"name": "9-1", "level": "primary", "grade": "9"}, "Number must be between"),
    ({"name": "I-1", "level": "secondary", "grade": "1"}, "Not a valid choice"),
    ({"name": "", "level": "primary", "grade": "5"}, "This field is required"),
    ({"name": "5-9", "level": "primary", "grade": "5", "teachers": ["ADMIN"]}, "not a valid choice"),
])
def test_bad_classes_are_refused_and_nothing_is_written(client, auth, world, data, message):
    auth.login(world.admin)
    if data.get("teachers") == ["ADMIN"]:
        data = {**data, "teachers": [str(world.admin.id)]}
    r = client.post("/schools/SA001/classes/new", data={"year": world.year.label, **data})
    assert r.status_code == 400 and message in r.text
    assert count(SchoolClass) == 2


def test_an_enrolled_class_keeps_its_grade(client, auth, world):
    auth.login(world.admin)
    r = client.post(f"/schools/classes/{world.class_a.id}/edit", data={
        "name": "5-1", "year": world.year.label, "level": "primary", "grade": "6"})
    assert r.status_code == 400 and "Children are enrolled" in r.text
    db.session.expire_all()
    assert world.class_a.grade == 5


def next_year(world) -> AcademicYear:
    start = world.year.first_day.year + 1
    year = AcademicYear(label=f"{start}/{str(start + 1)[2:]}", first_day=dt.date(start, 9, 1),
                        last_day=dt.date(start + 1, 6, 20))
    db.session.add(year)
    db.session.commit()
    return year


def test_next_years_classes_from_last_years_in_one_step_and_only_once(client, auth, world):
    target = next_year(world)
    auth.login(world.admin)
    query = {"source": world.year.label, "target": target.label}
    preview = client.get("/schools/copy-classes", query_string=query)
    assert preview.status_code == 200 and "Create 2 classes" in preview.text and count(SchoolClass) == 2
    r = client.post("/schools/copy-classes", data=query)
    assert r.status_code == 302
    db.session.expire_all()
    copied = db.session.scalars(sa.select(SchoolClass).where(SchoolClass.year_id == target.id)
                                .order_by(SchoolClass.name)).all()
    assert [(c.name, c.grade, c.school_id) for c in copied] == [
        ("5-1", 5, world.school_a.id), ("I-2", 1, world.school_b.id)]
    assert [t.id for t in copied[0].teachers] == [world.teacher_a.id]
    assert audited("classes_copied") == 1
    again = client.get("/schools/copy-classes", query_string=query).text
    assert "0 classes to create" in again and "the year has this class already" in again
    client.post("/schools/copy-classes", data=query)
    assert count(SchoolClass) == 4


def test_copy_moves_classes_up_for_one_school(client, auth, world):
    target = next_year(world)
    auth.login(world.admin)
    r = client.post("/schools/copy-classes", data={"source": world.year.label, "target": target.label,
                                                   "school": "SA001", "move_up": "y"})
    assert r.status_code == 302
    (cls,) = db.session.scalars(sa.select(SchoolClass).where(SchoolClass.year_id == target.id)).all()
    assert (cls.name, cls.grade, cls.school_id) == ("5-1", 6, world.school_a.id)


def test_copy_into_the_same_year_is_refused(client, auth, world):
    next_year(world)
    auth.login(world.admin)
    r = client.post("/schools/copy-classes", data={"source": world.year.label, "target": world.year.label})
    assert r.status_code == 400 and "other than the source year" in r.text
    assert count(SchoolClass) == 2


@pytest.mark.parametrize("who", ["liaison_a", "teacher_a"])
def test_only_admins_change_schools_and_classes(client, auth, world, who):
    auth.login(getattr(world, who))
    target = world.class_a.id
    for method, url, data in [
        ("get", "/schools/new", None), ("post", "/schools/new", SCHOOL),
        ("post", "/schools/SA001/edit", {**SCHOOL, "code": "SA001"}), ("post", "/schools/SA001/archive", {}),
        ("post", "/schools/SA001/classes/new", {"name": "6-1", "year": world.year.label, "level": "primary",
                                                "grade": "6"}),
        ("post", f"/schools/classes/{target}/edit", {"name": "x", "year": world.year.label, "level": "primary",
                                                     "grade": "5"}),
        ("post", f"/schools/classes/{target}/archive", {}), ("get", "/schools/copy-classes", None),
        ("post", "/schools/copy-classes", {"source": world.year.label, "target": world.year.label}),
    ]:
        r = getattr(client, method)(url, data=data)
        assert r.status_code == 403, (method, url, r.status_code)
    db.session.expire_all()
    assert count(School) == 2 and count(SchoolClass) == 2 and not world.school_a.archived
    assert world.class_a.name == "5-1" and not world.class_a.archived
    assert "Add a school" not in client.get("/schools/").text


def test_partners_see_no_school_pages(client, auth, world):
    auth.login(world.partner)
    assert client.get("/schools/new").status_code == 404
    assert client.post("/schools/SA001/archive").status_code == 404


def test_an_archived_school_or_class_takes_no_new_enrolment(app, world):
    from tracker.enrolment import operations as enrolment
    from tracker.errors import OperationError
    from tracker.models import Child, Enrolment
    from tracker.types import LegalBasis, Sex

    child = Child(code="C-ARCHIV", given_name="Sara", family_name="Noori", sex=Sex.female,
                  birth_date=dt.date(world.year.first_day.year - 10, 1, 1), country="AFG", first_language="prs",
                  legal_basis=LegalBasis.public_task)
    db.session.add(child)
    db.session.flush()
    start = world.year.first_day
    world.class_a.archived_at = dt.datetime(2026, 1, 1)
    with pytest.raises(OperationError, match="archived"):
        enrolment.enrol(child, world.school_a, "primary", 5, start, school_class=world.class_a)
    world.class_a.archived_at = None
    world.school_a.archived_at = dt.datetime(2026, 1, 1)
    with pytest.raises(OperationError, match="archived"):
        enrolment.enrol(child, world.school_a, "primary", 5, start)
    assert db.session.query(Enrolment).filter_by(child_id=child.id).count() == 0
    db.session.rollback()
