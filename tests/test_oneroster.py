"""OneRoster 1.1 CSV: the export against the binding, the round trip, matching and pending students, refusals."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import json
import shutil
import string
import tempfile
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import base_config, count
from tracker import create_app
from tracker.audit.models import AuditEvent
from tracker.children.models import Child
from tracker.children.operations import register_child
from tracker.enrolment.models import Enrolment
from tracker import unit_of_work
from tracker.extensions import db
from tracker.integrations.models import ExternalId, IntegrationPending
from tracker.integrations.types import PERSONAL_FIELDS, Scope, all_integrations
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import Level

DATA = Path(__file__).resolve().parent / "data" / "oneroster" / "school_a"

# The exact headers of ../shared/oneroster-1.1.md ("Headers (exact, case-sensitive, in this order)").
SPEC_HEADERS = {
    "manifest.csv": "propertyName,value",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,"
                   "subjects,subjectCodes",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
                   "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
                 "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
                       "beginDate,endDate",
    "demographics.csv": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
                        "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,"
                        "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,"
                        "stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus",
}
MANIFEST_PROPERTIES = ["manifest.version", "oneroster.version", "file.academicSessions", "file.categories",
                       "file.classes", "file.classResources", "file.courses", "file.courseResources",
                       "file.demographics", "file.enrollments", "file.lineItems", "file.orgs", "file.resources",
                       "file.results", "file.users", "source.systemName", "source.systemCode"]
NEVER_SHIPPED = ["categories", "classResources", "courseResources", "lineItems", "resources", "results"]
_names = itertools.count()


# --- helpers ----------------------------------------------------------------------------------------------

def oneroster():
    return all_integrations()["oneroster"]


def scope_for(school, user=None, allowed=(), settings=None) -> Scope:
    return Scope(school=school, user=user, settings=dict(settings or {}), allowed_fields=frozenset(allowed))


def export(school, allowed=(), params=None, settings=None) -> tuple[str, str, bytes]:
    return oneroster().export(scope_for(school, None, allowed, settings), params or {})


def unzip(body: bytes) -> dict[str, list[list[str]]]:
    """Each file of a zip as CSV records (header first)."""
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return {name: list(csv.reader(io.StringIO(zf.read(name).decode("utf-8"), newline="")))
                for name in zf.namelist()}


def as_dicts(records: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(records[0], r)) for r in records[1:]]


def manifest_of(files) -> dict[str, str]:
    return {name: value for name, value in files["manifest.csv"][1:]}


def run_import(school, data: bytes, *, user=None, dry_run=False, commit=True, settings=None):
    """Call the integration as the core's runner does: commit when it succeeded, roll back otherwise."""
    result = oneroster().import_file(io.BytesIO(data), scope_for(school, user, settings=settings), dry_run)
    if commit:
        if result.ok and not dry_run:
            unit_of_work.commit()
        else:
            db.session.rollback()
    return result


def snapshot() -> dict:
    """Everything an import may write, row by row."""
    return {
        "classes": sorted(db.session.execute(sa.select(
            SchoolClass.id, SchoolClass.school_id, SchoolClass.year_id, SchoolClass.name, SchoolClass.level,
            SchoolClass.grade)).all()),
        "enrolments": sorted(db.session.execute(sa.select(
            Enrolment.id, Enrolment.child_id, Enrolment.school_id, Enrolment.class_id, Enrolment.level,
            Enrolment.grade, Enrolment.start_date, Enrolment.end_date)).all()),
        "external": sorted(db.session.execute(sa.select(ExternalId.child_id, ExternalId.system,
                                                        ExternalId.value)).all()),
        "pending": sorted((p.kind, p.key, p.reason, json.dumps(p.data, sort_keys=True), tuple(p.candidates),
                           p.resolved_at is None, p.resolution)
                          for p in db.session.scalars(sa.select(IntegrationPending))),
        "children": count(Child),
        "audit": count(AuditEvent),
    }


def assert_nothing_pending_in_session():
    assert not db.session.new and not db.session.dirty and not db.session.deleted


def placeholders(world) -> dict[str, str]:
    year = world.year
    middle = year.first_day + (year.last_day - year.first_day) / 2
    return {"FIRST_DAY": year.first_day.isoformat(), "LAST_DAY": year.last_day.isoformat(),
            "SCHOOL_YEAR": str(year.last_day.year), "YEAR_TITLE": year.label, "SEM1_END": middle.isoformat(),
            "SEM2_START": (middle + dt.timedelta(days=1)).isoformat()}


def roster_files(world) -> dict[str, str]:
    """The hand-made roster of tests/data/oneroster/school_a, dated in the current academic year."""
    values = placeholders(world)
    return {path.name: string.Template(path.read_text(encoding="utf-8")).substitute(values)
            for path in sorted(DATA.glob("*.csv"))}


def make_zip(files: dict[str, str | bytes]) -> bytes:
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text.encode("utf-8") if isinstance(text, str) else text)
    return body.getvalue()


def edit(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    assert old in files[name], (name, old)
    files[name] = files[name].replace(old, new, 1)
    return files


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def child(code, given, family, born, *, sex="female", country="AFG"):
    registered = register_child(given_name=given, family_name=family, sex=sex, birth_date=born, country=country,
                                first_language="prs", code=code)
    unit_of_work.commit()
    return registered


@pytest.fixture
def roster_world(world):
    """The world, plus the children the hand-made roster names: one to find by name, two alike, none for Sara."""
    child("C-MARIAM", "Mariam", "Ahmadi", dt.date(2013, 5, 6))
    child("C-OMAR01", "Omar", "Haidari", dt.date(2013, 2, 2), sex="male")
    child("C-OMAR02", "Omar", "Haidari", dt.date(2013, 2, 2), sex="male")
    return world


# --- export ---------------------------------------------------------------------------------------------------

def test_oneroster_is_registered_with_the_personal_fields(app):
    integration = oneroster()
    assert integration.can_import and integration.can_export
    assert integration.personal_fields == ("names", "birth_date", "sex", "country")
    assert set(integration.personal_fields) <= set(PERSONAL_FIELDS)


def test_export_follows_the_binding(app, world):
    filename, mimetype, body = export(world.school_a, allowed=PERSONAL_FIELDS)
    assert mimetype == "application/zip" and filename.endswith(".zip") and "SA001" in filename
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        names = zf.namelist()
        assert all("/" not in n for n in names)  # every file at the top level
    files = unzip(body)
    assert set(files) == {"manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv",
                          "users.csv", "enrollments.csv", "demographics.csv"}
    for name, records in files.items():
        assert ",".join(records[0]) == SPEC_HEADERS[name], name
        assert len(records) > 1, f"{name} has no rows"  # no empty data files
        assert all(len(r) == len(records[0]) for r in records), name
    assert [r[0] for r in files["manifest.csv"][1:]] == MANIFEST_PROPERTIES
    manifest = manifest_of(files)
    assert manifest["manifest.version"] == "1.0" and manifest["oneroster.version"] == "1.1"
    for name in ("academicSessions", "classes", "courses", "demographics", "enrollments", "orgs", "users"):
        assert manifest[f"file.{name}"] == "bulk"
    for name in NEVER_SHIPPED:
        assert manifest[f"file.{name}"] == "absent"
    for name, records in files.items():
        if name != "manifest.csv":  # bulk: status and dateLastModified blank
            assert all(r["status"] == "" and r["dateLastModified"] == "" for r in as_dicts(records)), name

    orgs = as_dicts(files["orgs.csv"])
    assert orgs == [{"sourcedId": "SA001", "status": "", "dateLastModified": "", "name": "OŠ Vuk Karadžić",
                     "type": "school", "identifier": "SA001", "parentSourcedId": ""}]
    sessions = as_dicts(files["academicSessions.csv"])
    assert sessions == [{"sourcedId": f"ay-{world.year.id}", "status": "", "dateLastModified": "",
                         "title": world.year.label, "type": "schoolYear",
                         "startDate": world.year.first_day.isoformat(), "endDate": world.year.last_day.isoformat(),
                         "parentSourcedId": "", "schoolYear": str(world.year.last_day.year)}]
    courses = as_dicts(files["courses.csv"])
    assert [(c["sourcedId"], c["grades"], c["orgSourcedId"]) for c in courses] == [
        ("course-SA001-primary-5", "05", "SA001")]
    classes = as_dicts(files["classes.csv"])
    assert [(c["sourcedId"], c["title"], c["grades"], c["courseSourcedId"], c["classType"], c["schoolSourcedId"],
             c["termSourcedIds"]) for c in classes] == [
        (f"class-{world.class_a.id}", "5-1", "05", "course-SA001-primary-5", "homeroom", "SA001",
         f"ay-{world.year.id}")]
    users = {u["sourcedId"]: u for u in as_dicts(files["users.csv"])}
    assert set(users) == {"C-AAAAAA", f"user-{world.teacher_a.id}"}  # not child_b: another school
    student, teacher = users["C-AAAAAA"], users[f"user-{world.teacher_a.id}"]
    assert (student["role"], student["enabledUser"], student["orgSourcedIds"], student["username"],
            student["givenName"], student["familyName"], student["grades"]) == (
        "student", "true", "SA001", "C-AAAAAA", "Ahmad", "Rahimi", "05")
    assert (teacher["role"], teacher["email"], teacher["username"]) == ("teacher", world.teacher_a.email,
                                                                        world.teacher_a.email)
    assert teacher["givenName"] and teacher["familyName"]
    enrollments = as_dicts(files["enrollments.csv"])
    enrolment = world.child_a.enrolments[0]
    assert [(e["sourcedId"], e["classSourcedId"], e["userSourcedId"], e["role"], e["beginDate"], e["endDate"])
            for e in enrollments] == [
        (f"enr-{enrolment.id}", f"class-{world.class_a.id}", "C-AAAAAA", "student",
         world.year.first_day.isoformat(), ""),
        (f"enr-class-{world.class_a.id}-user-{world.teacher_a.id}", f"class-{world.class_a.id}",
         f"user-{world.teacher_a.id}", "teacher", "", "")]
    demographics = as_dicts(files["demographics.csv"])
    assert [(d["sourcedId"], d["birthDate"], d["sex"], d["countryOfBirthCode"]) for d in demographics] == [
        ("C-AAAAAA", world.child_a.birth_date.isoformat(), "male", "AF")]


def test_export_keeps_names_and_demographics_out_unless_allowed(app, world):
    files = unzip(export(world.school_a)[2])
    assert "demographics.csv" not in files
    assert manifest_of(files)["file.demographics"] == "absent"
    student = next(u for u in as_dicts(files["users.csv"]) if u["role"] == "student")
    # givenName and familyName are required: the pseudonymous child code stands in for the name
    assert (student["givenName"], student["familyName"]) == ("C-AAAAAA", "C-AAAAAA")
    everything = json.dumps(files, ensure_ascii=False)
    for personal in ("Ahmad", "Rahimi", world.child_a.birth_date.isoformat()):
        assert personal not in everything
    teacher = next(u for u in as_dicts(files["users.csv"]) if u["role"] == "teacher")
    assert teacher["email"] == world.teacher_a.email  # staff data, always

    files = unzip(export(world.school_a, allowed={"names"})[2])
    student = next(u for u in as_dicts(files["users.csv"]) if u["role"] == "student")
    assert (student["givenName"], student["familyName"]) == ("Ahmad", "Rahimi")
    assert "demographics.csv" not in files

    files = unzip(export(world.school_a, allowed={"birth_date"})[2])
    assert manifest_of(files)["file.demographics"] == "bulk"
    [row] = as_dicts(files["demographics.csv"])
    assert (row["birthDate"], row["sex"], row["countryOfBirthCode"]) == (world.child_a.birth_date.isoformat(), "", "")
    files = unzip(export(world.school_a, allowed={"sex", "country"})[2])
    [row] = as_dicts(files["demographics.csv"])
    assert (row["birthDate"], row["sex"], row["countryOfBirthCode"]) == ("", "male", "AF")


def test_export_sourced_ids_are_stable_and_unique(app, world):
    first = export(world.school_b, allowed=PERSONAL_FIELDS)[2]
    assert export(world.school_b, allowed=PERSONAL_FIELDS)[2] == first  # byte for byte
    # More data later: what was there keeps its sourcedId.
    extra = SchoolClass(school=world.school_b, year=world.year, level=Level.primary, grade=7, name="VII-1")
    db.session.add(extra)
    db.session.commit()
    newcomer = child(None, "Ali", "Nazari", dt.date(2012, 1, 15), sex="male")
    from tracker.enrolment.operations import enrol
    enrol(newcomer, world.school_b, "primary", 7, dt.date.today(), school_class=extra)
    before, after = unzip(first), unzip(export(world.school_b, allowed=PERSONAL_FIELDS)[2])
    for name in ("orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv", "users.csv", "enrollments.csv"):
        old = {r["sourcedId"]: r for r in as_dicts(before[name])}
        new = {r["sourcedId"]: r for r in as_dicts(after[name])}
        assert set(old) <= set(new), name
        assert all(new[k] == v for k, v in old.items()), name
        assert len(new) == len(as_dicts(after[name])), f"{name}: sourcedIds not unique"
    users = [r["sourcedId"] for r in as_dicts(after["users.csv"])]
    assert newcomer.code in users and "C-BBBBBB" in users
    courses = {r["sourcedId"]: r["grades"] for r in as_dicts(after["courses.csv"])}
    assert courses == {"course-SB002-primary-7": "07", "course-SB002-secondary-1": "09"}


def test_an_export_imports_into_its_own_school_as_unchanged(app, world):
    body = export(world.school_a, allowed=PERSONAL_FIELDS)[2]
    before = snapshot()
    result = run_import(world.school_a, body, user=world.admin)
    assert result.ok, result.errors
    assert result.counts["classes_unchanged"] == 1 and result.counts["enrolments_unchanged"] == 1
    assert result.counts["classes_created"] == result.counts["enrolments_created"] == 0
    assert result.counts["students_pending"] == 0 and result.pending == []
    assert snapshot() == before


# --- the round trip -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def fresh_app(request, backend):
    """A second app on a database of its own (made as tests/conftest.py makes them), in its app context."""
    tmp = tempfile.mkdtemp(prefix="tracker-oneroster-")
    name = None
    try:
        if backend == "sqlite":
            path = Path(tmp) / "tracker.sqlite3"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            server = request.getfixturevalue("pg_server")
            name = f"oneroster_{next(_names)}_{abs(hash(tmp)) % 10**8}"
            server.execute(f"CREATE DATABASE {name} TEMPLATE tracker_template")
            url = server.url(name)
        other = create_app(base_config(url))
        other.instance_path = tmp
        with other.app_context():
            try:
                yield other
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if name:
            request.getfixturevalue("pg_server").execute(f"DROP DATABASE {name} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def classes_and_enrolments(school_code: str) -> tuple[set, set]:
    school = db.session.scalar(sa.select(School).where(School.code == school_code))
    classes = {(c.year.label, c.name, c.level.value, c.grade)
               for c in db.session.scalars(sa.select(SchoolClass).where(SchoolClass.school_id == school.id))}
    enrolments = {(e.child.code, e.year.label, e.school_class.name if e.school_class else None, e.level.value,
                   e.grade, e.start_date, e.end_date)
                  for e in db.session.scalars(sa.select(Enrolment).where(Enrolment.school_id == school.id))}
    return classes, enrolments


def test_round_trip_into_a_fresh_database(app, world, request, backend):
    from tracker.enrolment.operations import enrol

    # School B teaches both levels: a secondary class (world) and a primary class with two more children.
    seventh = SchoolClass(school=world.school_b, year=world.year, level=Level.primary, grade=7, name="VII-1")
    db.session.add(seventh)
    world.teacher_a.classes.append(seventh)
    db.session.commit()
    a = child("C-RT0001", "Hasan", "Jafari", dt.date(2012, 3, 1), sex="male", country="IRQ")
    b = child("C-RT0002", "Нура", "Хасани", dt.date(2012, 8, 9))
    enrol(a, world.school_b, "primary", 7, world.year.first_day, school_class=seventh)
    enrol(b, world.school_b, "primary", 7, dt.date.today(), school_class=seventh)
    empty = SchoolClass(school=world.school_b, year=world.year, level=Level.secondary, grade=2, name="II-1")
    db.session.add(empty)
    db.session.commit()
    body = export(world.school_b)[2]  # no personal fields: matched by child code
    expected = classes_and_enrolments("SB002")
    assert len(expected[0]) == 3 and len(expected[1]) == 3
    people = [(c.code, c.given_name, c.family_name, c.sex.value, c.birth_date, c.country)
              for c in (world.child_b, a, b)]
    year = (world.year.label, world.year.first_day, world.year.last_day)

    with fresh_app(request, backend):
        school = School(code="SB002", name="Gimnazija Subotica", municipality="Subotica", offers_primary=True,
                        offers_secondary=True)
        db.session.add_all([school, AcademicYear(label=year[0], first_day=year[1], last_day=year[2])])
        db.session.commit()
        for code, given, family, sex, born, country in people:
            register_child(given_name=given, family_name=family, sex=sex, birth_date=born, country=country,
                           first_language="prs", code=code)
        result = run_import(school, body)
        assert result.ok, result.errors
        assert (result.counts["classes_created"], result.counts["enrolments_created"],
                result.counts["students_matched"], result.counts["students_pending"]) == (3, 3, 3, 0)
        assert classes_and_enrolments("SB002") == expected
        assert count(ExternalId) == 0  # matched by child code: nothing to link
        again = run_import(school, body)
        assert again.ok and again.counts["enrolments_unchanged"] == 3 and again.counts["classes_unchanged"] == 3
        assert classes_and_enrolments("SB002") == expected


# --- a school's own roster ------------------------------------------------------------------------------------

def test_hand_made_roster_enrols_the_matched_and_leaves_the_ambiguous_for_a_person(app, roster_world):
    world = roster_world
    data = make_zip(roster_files(world))
    result = run_import(world.school_a, data, user=world.admin)
    assert result.ok, result.errors
    counts = result.counts
    assert {k: counts[k] for k in ("classes_created", "classes_unchanged", "classes_skipped", "enrolments_created",
                                   "enrolments_unchanged", "enrolments_skipped", "students_matched",
                                   "students_linked", "students_pending", "pending_created")} == {
        "classes_created": 1, "classes_unchanged": 1, "classes_skipped": 1, "enrolments_created": 1,
        "enrolments_unchanged": 1, "enrolments_skipped": 1, "students_matched": 2, "students_linked": 1,
        "students_pending": 2, "pending_created": 2}
    assert sorted(result.pending) == ["s-1003", "s-1004"]

    sixth = db.session.scalar(sa.select(SchoolClass).where(SchoolClass.school_id == world.school_a.id,
                                                           SchoolClass.name == "6-1"))
    assert (sixth.level, sixth.grade, sixth.year_id) == (Level.primary, 6, world.year.id)
    assert not sixth.teachers  # teachers in the roster give nobody access
    mariam = db.session.scalar(sa.select(Child).where(Child.code == "C-MARIAM"))
    assert (mariam.open_enrolment.school_class.name, mariam.open_enrolment.start_date) == (
        "6-1", max(world.year.first_day, dt.date.today()))
    assert db.session.scalar(sa.select(ExternalId.value).where(ExternalId.child_id == mariam.id,
                                                               ExternalId.system == "oneroster:SA001")) == "s-1002"
    assert world.child_a.open_enrolment.school_class.name == "5-1"  # matched by code: unchanged
    for code in ("C-OMAR01", "C-OMAR02"):  # nobody guessed which Omar
        assert db.session.scalar(sa.select(Child).where(Child.code == code)).enrolments == []
    pending = {p.key: p for p in db.session.scalars(sa.select(IntegrationPending))}
    assert set(pending) == {"s-1003", "s-1004"}
    omar, sara = pending["s-1003"], pending["s-1004"]
    assert (omar.school_id, omar.slug, omar.kind, omar.reason, omar.candidates) == (
        world.school_a.id, "oneroster", "student", "ambiguous", ["C-OMAR01", "C-OMAR02"])
    assert (omar.data["given_name"], omar.data["family_name"], omar.data["birth_date"], omar.data["class"]) == (
        "Omar", "Haidari", "2013-02-02", "6-1")
    assert (sara.reason, sara.candidates, sara.data["birth_date"]) == ("unmatched", [], "2012-09-09")
    assert count(Child) == 5  # no child is created by an import

    before = snapshot()
    again = run_import(world.school_a, data, user=world.admin)
    assert again.ok, again.errors
    assert snapshot() == before
    for key in ("classes_created", "enrolments_created", "enrolments_updated", "students_linked",
                "pending_created", "pending_updated", "pending_resolved"):
        assert again.counts[key] == 0, key
    assert (again.counts["classes_unchanged"], again.counts["enrolments_unchanged"],
            again.counts["pending_unchanged"], again.counts["students_pending"]) == (2, 2, 2, 2)


def test_a_person_settles_the_pending_students_and_the_next_import_follows(app, roster_world):
    from tracker.integrations import operations as ops

    world = roster_world
    data = make_zip(roster_files(world))
    assert run_import(world.school_a, data, user=world.admin).ok
    omar = db.session.scalar(sa.select(IntegrationPending).where(IntegrationPending.key == "s-1003"))
    sara = db.session.scalar(sa.select(IntegrationPending).where(IntegrationPending.key == "s-1004"))
    ops.resolve_match(omar, "C-OMAR02", world.admin)
    ops.resolve_ignore(sara, world.admin)
    result = run_import(world.school_a, data, user=world.admin)
    assert result.ok, result.errors
    assert (result.counts["enrolments_created"], result.counts["students_ignored"],
            result.counts["students_pending"], result.counts["pending_created"]) == (1, 1, 0, 0)
    second = db.session.scalar(sa.select(Child).where(Child.code == "C-OMAR02"))
    assert second.open_enrolment.school_class.name == "6-1"
    assert db.session.scalar(sa.select(Child).where(Child.code == "C-OMAR01")).enrolments == []
    assert sara.resolution == "ignored" and sara.resolved_at is not None


def test_a_child_enrolled_elsewhere_waits_and_is_not_moved(app, roster_world):
    world = roster_world
    files = edit(roster_files(world), "users.csv", "t-1,", "C-BBBBBB,,,true,org-sa001,student,zahra.h,,Zahra,Hosseini"
                 ",,,,,,,06,\r\nt-1,")
    edit(files, "enrollments.csv", "e-6,", "e-7,,,cls-61,org-sa001,C-BBBBBB,student,false,,\r\ne-6,")
    result = run_import(world.school_a, make_zip(files), user=world.admin)
    assert result.ok, result.errors
    assert result.counts["enrolments_pending"] == 1
    conflict = db.session.scalar(sa.select(IntegrationPending).where(IntegrationPending.kind == "enrolment"))
    assert (conflict.key, conflict.reason, conflict.candidates) == ("C-BBBBBB", "conflict", ["C-BBBBBB"])
    assert "Gimnazija Subotica" in conflict.data["message"]
    assert world.child_b.open_enrolment.school_id == world.school_b.id  # still at school B, nothing closed
    assert len(world.child_b.enrolments) == 1


def test_matching_stays_within_the_importing_users_scope(app, roster_world):
    """Liaison A cannot see child B (school B, a centre in Subotica): the roster does not reveal or move them."""
    world = roster_world
    files = edit(roster_files(world), "users.csv", "t-1,", "C-BBBBBB,,,true,org-sa001,student,zahra.h,,Zahra,Hosseini"
                 ",,,,,,,06,\r\nt-1,")
    edit(files, "enrollments.csv", "e-6,", "e-7,,,cls-61,org-sa001,C-BBBBBB,student,false,,\r\ne-6,")
    result = run_import(world.school_a, make_zip(files), user=world.liaison_a)
    assert result.ok, result.errors
    pending = db.session.scalar(sa.select(IntegrationPending).where(IntegrationPending.key == "C-BBBBBB"))
    assert (pending.kind, pending.reason, pending.candidates) == ("student", "unmatched", [])
    # the two Omars were registered on the command line, outside liaison A's scope: no candidates shown
    omar = db.session.scalar(sa.select(IntegrationPending).where(IntegrationPending.key == "s-1003"))
    assert (omar.reason, omar.candidates) == ("unmatched", [])


def test_the_schools_sourced_id_can_be_set(app, roster_world):
    """A school system with its own sourcedId for the school and no identifier: the setting names it."""
    world = roster_world
    files = edit(roster_files(world), "orgs.csv", "school,SA001,org-bg", "school,,org-bg")
    [error] = refused(world, make_zip(files))
    assert (error["file"], error["column"]) == ("orgs.csv", "identifier")
    result = run_import(world.school_a, make_zip(files), user=world.admin, settings={"org_sourced_id": "org-sa001"})
    assert result.ok and result.counts["classes_created"] == 1, result.errors
    files = unzip(export(world.school_a, settings={"org_sourced_id": "org-sa001"})[2])
    assert [r["sourcedId"] for r in as_dicts(files["orgs.csv"])] == ["org-sa001"]
    assert {r["schoolSourcedId"] for r in as_dicts(files["classes.csv"])} == {"org-sa001"}


def test_ended_enrolments_and_subject_classes_are_not_imported(app, roster_world):
    world = roster_world
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    files = edit(roster_files(world), "enrollments.csv", f"s-1004,student,false,,{world.year.last_day.isoformat()}",
                 f"s-1004,student,false,,{yesterday}")
    result = run_import(world.school_a, make_zip(files), user=world.admin)
    assert result.ok, result.errors
    assert (result.counts["enrolments_skipped"], result.counts["classes_skipped"]) == (2, 1)
    assert sorted(result.pending) == ["s-1003"]  # Sara has left: nobody to match
    names = set(db.session.scalars(sa.select(SchoolClass.name).where(SchoolClass.school_id == world.school_a.id)))
    assert names == {"5-1", "6-1"}  # the mathematics group is not a tracker class


def test_dry_run_counts_and_writes_nothing(app, roster_world):
    world = roster_world
    data = make_zip(roster_files(world))
    before = snapshot()
    dry = run_import(world.school_a, data, user=world.admin, dry_run=True, commit=False)
    assert dry.ok and dry.dry_run, dry.errors
    assert_nothing_pending_in_session()
    assert snapshot() == before
    db.session.rollback()
    assert snapshot() == before
    real = run_import(world.school_a, data, user=world.admin)
    assert real.ok and real.counts == dry.counts and sorted(real.pending) == sorted(dry.pending)
    assert snapshot() != before


# --- refused files: the file, line and column named; nothing written ------------------------------------------

def refused(world, data: bytes) -> list[dict]:
    before = snapshot()
    result = run_import(world.school_a, data, user=world.admin, commit=False)
    assert not result.ok and result.errors
    assert result.counts == {} or not any(result.counts.values())
    assert_nothing_pending_in_session()
    assert snapshot() == before
    db.session.rollback()
    assert snapshot() == before
    for e in result.errors:
        assert set(e) == {"file", "line", "column", "message"} and e["message"]
    return result.errors


def test_refuses_a_zip_without_manifest(app, roster_world):
    files = roster_files(roster_world)
    del files["manifest.csv"]
    [error] = refused(roster_world, make_zip(files))
    assert error["file"] == "manifest.csv" and "manifest.csv" in error["message"]


def test_refuses_a_wrong_header(app, roster_world):
    files = edit(roster_files(roster_world), "users.csv", "givenName,familyName", "familyName,givenName")
    [error] = refused(roster_world, make_zip(files))
    assert (error["file"], error["line"], error["column"]) == ("users.csv", 1, "givenName")
    assert SPEC_HEADERS["users.csv"] in error["message"]  # what it must be
    assert "familyName,givenName" in error["message"]    # and what it is


def test_refuses_a_bad_date(app, roster_world):
    files = edit(roster_files(roster_world), "demographics.csv", "2013-02-02", "02/02/2013")
    [error] = refused(roster_world, make_zip(files))
    assert (error["file"], error["line"], error["column"]) == ("demographics.csv", 3, "birthDate")
    assert "02/02/2013" in error["message"] and "YYYY-MM-DD" in error["message"]
    first_day = placeholders(roster_world)["FIRST_DAY"]
    files = edit(roster_files(roster_world), "academicSessions.csv", f"First semester,semester,{first_day}",
                 "First semester,semester,2025-13-01")
    errors = refused(roster_world, make_zip(files))
    assert ("academicSessions.csv", 3, "startDate") in {(e["file"], e["line"], e["column"]) for e in errors}


def test_refuses_an_unknown_reference(app, roster_world):
    files = roster_files(roster_world)
    line = line_of(files["enrollments.csv"], "e-3,")
    edit(files, "enrollments.csv", "e-3,,,cls-61,", "e-3,,,cls-99,")
    edit(files, "demographics.csv", "s-1004,", "s-9999,")
    errors = refused(roster_world, make_zip(files))
    where = {(e["file"], e["line"], e["column"]) for e in errors}
    assert ("enrollments.csv", line, "classSourcedId") in where
    assert ("demographics.csv", 4, "sourcedId") in where
    assert any("cls-99" in e["message"] and "classes.csv" in e["message"] for e in errors)


def test_refuses_what_is_not_a_zip(app, roster_world):
    [error] = refused(roster_world, roster_files(roster_world)["users.csv"].encode())
    assert error["file"] is None and "zip" in error["message"]
    [error] = refused(roster_world, b"")
    assert "zip" in error["message"]


def test_refuses_a_file_listed_as_bulk_but_missing(app, roster_world):
    files = roster_files(roster_world)
    del files["users.csv"]
    [error] = refused(roster_world, make_zip(files))
    assert (error["file"], error["line"], error["column"]) == ("manifest.csv", 16, "value")
    assert "users.csv" in error["message"]


def test_refuses_delta_files_and_a_file_the_manifest_calls_absent(app, roster_world):
    files = edit(roster_files(roster_world), "manifest.csv", "file.users,bulk", "file.users,delta")
    [error] = refused(roster_world, make_zip(files))
    assert (error["file"], error["line"], error["column"]) == ("manifest.csv", 16, "value")
    files = edit(roster_files(roster_world), "manifest.csv", "file.demographics,bulk", "file.demographics,absent")
    [error] = refused(roster_world, make_zip(files))
    assert (error["file"], error["line"]) == ("manifest.csv", 10) and "demographics.csv" in error["message"]


def test_refuses_a_class_of_another_school(app, roster_world):
    files = roster_files(roster_world)
    edit(files, "orgs.csv", "org-bg,,,Grad Beograd,district,,", "org-bg,,,Grad Beograd,district,,\r\n"
         "org-other,,,OŠ Druga,school,SA999,org-bg")
    edit(files, "classes.csv", "crs-6,61,homeroom,Učionica 12,org-sa001", "crs-6,61,homeroom,Učionica 12,org-other")
    errors = refused(roster_world, make_zip(files))
    assert ("classes.csv", 3, "schoolSourcedId") in {(e["file"], e["line"], e["column"]) for e in errors}


def test_refuses_a_roster_of_another_school(app, roster_world):
    [error] = refused(roster_world, export(roster_world.school_b)[2])
    assert (error["file"], error["column"]) == ("orgs.csv", "identifier") and "SA001" in error["message"]


def test_refuses_bad_cells(app, roster_world):
    files = roster_files(roster_world)
    edit(files, "users.csv", "s-1003,,,true,org-sa001,student", "s-1003,,,yes,org-sa001,pupil")
    edit(files, "classes.csv", "cls-51,,,5-1,05,", "cls-51,,,5-1,5,")
    edit(files, "enrollments.csv", "e-2,,,", "e-2,tobedeleted,2025-01-01,")
    edit(files, "users.csv", "s-1004,,,true,", "s-1002,,,true,")
    where = {(e["file"], e["line"], e["column"]) for e in refused(roster_world, make_zip(files))}
    assert {("users.csv", 4, "enabledUser"), ("users.csv", 4, "role"), ("classes.csv", 2, "grades"),
            ("enrollments.csv", 3, "status"), ("enrollments.csv", 3, "dateLastModified"),
            ("users.csv", 5, "sourcedId")} <= where


def test_refuses_a_grade_tracker_does_not_keep(app, roster_world):
    files = edit(roster_files(roster_world), "classes.csv", "cls-51,,,5-1,05,", "cls-51,,,5-1,10,")
    [error] = refused(roster_world, make_zip(files))  # secondary grade 2: school A is a primary school
    assert (error["file"], error["line"], error["column"]) == ("classes.csv", 2, "grades")


def test_refuses_a_file_too_large(app, roster_world):
    app.config["IMPORT_MAX_BYTES"] = 1000
    [error] = refused(roster_world, make_zip(roster_files(roster_world)))
    assert "at most" in error["message"]
