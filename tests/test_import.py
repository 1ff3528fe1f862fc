"""CSV import: the documented formats, all or nothing, numbered errors, scope, re-imports, caps, the page."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import count
from tracker.extensions import db
from tracker.imports.formats import FORMATS
from tracker.imports.importer import run_import
from tracker.models import (AcademicYear, AttendanceChange, AttendanceMonth, AttendanceRecord, AuditEvent, Centre,
                            CentreStay, Child, Enrolment, NonSchoolDay, School, SchoolClass, UascPeriod)

DATA = Path(__file__).resolve().parent / "data"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "import.md"
ORDER = ["schools", "centres", "academic_years", "non_school_days", "children", "enrolments", "attendance"]
TABLES = [School, Centre, AcademicYear, NonSchoolDay, Child, UascPeriod, CentreStay, Enrolment, SchoolClass,
          AttendanceRecord, AttendanceMonth, AuditEvent]
ATTENDANCE_HEADER = "child_code,school_code,date,status,reason\n"
ENROLMENT_HEADER = "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n"
CHILDREN_HEADER = ("child_code,given_name,family_name,name_original,sex,birth_date,birth_date_estimated,country,"
                   "first_language,uasc_status,centre_code,arrival_date\n")


# Each request ends its transaction, as in production (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("production_like_requests")


def counts() -> dict[str, int]:
    return {m.__tablename__: count(m) for m in TABLES}


def school_days(world, n: int) -> list[dt.date]:
    """The last ``n`` weekdays of the current academic year up to yesterday, oldest first."""
    day, days = dt.date.today() - dt.timedelta(days=1), []
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    assert days[-1] >= world.year.first_day
    return sorted(days)


def write(tmp_path, kind: str, text: str | bytes) -> Path:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def run(runner, kind: str, path: Path, *args: str):
    return runner.invoke(args=["import", kind, str(path), *args])


def import_examples(runner, upto: str | None = None) -> None:
    for kind in ORDER:
        result = run(runner, kind, DATA / f"{kind}.csv")
        assert result.exit_code == 0, result.output
        if kind == upto:
            return


# The documented examples, through the command line.

def test_every_example_file_imports_and_a_second_import_changes_nothing(runner, world):
    for kind in ORDER:
        before = counts()
        dry = run(runner, kind, DATA / f"{kind}.csv", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Dry run: nothing was saved." in dry.output
        assert counts() == before, f"the dry run of {kind} wrote"
        result = run(runner, kind, DATA / f"{kind}.csv")
        assert result.exit_code == 0, result.output
        assert re.search(r"\d+ created", result.output)
        assert result.output.split("rows: ")[1].split(",")[0] == dry.output.split("rows: ")[1].split(",")[0]
    assert db.session.scalar(sa.select(School).where(School.code == "SC003")).municipality == "Šid"
    mariam = db.session.scalar(sa.select(Child).where(Child.code == "C-K7M3Q9"))
    assert mariam.name_original == "مریم سلطانی" and mariam.current_stay.centre.code == "KRN"
    assert db.session.scalar(sa.select(Child).where(Child.code == "C-P4T8W2")).uasc_status.value == "unaccompanied"
    samir = db.session.scalar(sa.select(Child).where(Child.family_name == "Karimi"))
    assert re.fullmatch(r"C-[2-9A-Z]{6}", samir.code)
    assert mariam.enrolments[0].school_class.name == "6-2" and mariam.enrolments[0].exit_reason.value == "completed"
    assert db.session.scalar(sa.select(AttendanceMonth.recorded).where(
        AttendanceMonth.enrolment_id == mariam.enrolments[0].id)) == 3
    before = counts()
    for kind in ORDER:
        again = run(runner, kind, DATA / f"{kind}.csv")
        assert again.exit_code == 0, again.output
        assert "0 created, 0 updated" in again.output, (kind, again.output)
    after = counts()
    assert after.pop("audit_event") == before.pop("audit_event") + len(ORDER)  # one "imported" event per file
    assert after == before


def test_the_docs_show_each_example_file(app):
    docs = DOCS.read_text(encoding="utf-8")
    for kind, fmt in FORMATS.items():
        assert f"### {kind}.csv" in docs
        assert (DATA / f"{kind}.csv").read_text(encoding="utf-8").strip() in docs, kind
        for column in fmt.columns:
            assert f"`{column}`" in docs, column


def test_a_generated_code_is_printed_and_a_blank_code_matches_on_reimport(runner, world):
    import_examples(runner, upto="centres")
    result = run(runner, "children", DATA / "children.csv")
    samir = db.session.scalar(sa.select(Child).where(Child.family_name == "Karimi"))
    assert f"line 4: new child {samir.code}" in result.output
    assert "3 unchanged" in run(runner, "children", DATA / "children.csv").output
    assert count(Child) == 5  # the world's two and the example's three, once


# All or nothing, with numbered errors.

def test_one_bad_row_saves_nothing_and_the_report_names_its_line_and_column(runner, world, tmp_path):
    path = write(tmp_path, "children", CHILDREN_HEADER
                 + ",Mariam,Sultani,,female,2013-04-12,0,AFG,prs,accompanied,KRN,\n"
                 + ",Omar,Haddad,,male,2099-01-01,0,SYR,ara,accompanied,,\n"
                 + ",Samir,Karimi,,boy,2014-06-30,0,XXX,ckb,accompanied,,\n")
    before = counts()
    result = run(runner, "children", path)
    assert result.exit_code == 1
    assert "line 3, birth_date: The birth date cannot be in the future." in result.output
    assert "line 4, sex:" in result.output and "line 4, country:" in result.output
    assert "Nothing was saved: 3 errors in 2 rows." in result.output
    assert counts() == before


def test_errors_are_listed_up_to_a_limit_then_counted(app, world):
    rows = "".join(f"C-AAAAAA,SA001,2020-01-{d:02d},present,\n" for d in range(1, 31)) * 3
    result = run_import("attendance", (ATTENDANCE_HEADER + rows).encode(), user=world.admin)
    assert not result.ok and result.error_count == 90 and len(result.errors) == 50 and result.more_errors == 40
    assert result.errors[0].line == 2 and result.errors[-1].line == 51


def test_control_characters_in_names_are_refused_but_leading_signs_are_data(runner, world, tmp_path):
    bad = write(tmp_path, "children", CHILDREN_HEADER + ',"Ma\x07riam",Sultani,,female,2013-04-12,0,AFG,prs,accompanied,,\n')
    result = run(runner, "children", bad)
    assert result.exit_code == 1 and "line 2, given_name: Contains a control character" in result.output
    good = write(tmp_path, "children", CHILDREN_HEADER + ",-Mariam,=Sultani,@x,female,2013-04-12,0,AFG,prs,accompanied,,\n")
    assert run(runner, "children", good).exit_code == 0
    assert db.session.scalar(sa.select(Child.family_name).where(Child.given_name == "-Mariam")) == "=Sultani"


def test_a_multi_line_cell_keeps_later_line_numbers_right(app, world):
    text = CHILDREN_HEADER + ',Mariam,Sultani,"two\nlines",female,2013-04-12,0,AFG,prs,accompanied,,\n' \
        + ",Omar,Haddad,,male,2013-04-12,0,SYR,ara,single,,\n"
    result = run_import("children", text.encode(), user=world.admin)
    assert [(e.line, e.column) for e in result.errors] == [(2, "name_original"), (4, "uasc_status")]


# The file as a whole.

def test_a_byte_order_mark_is_accepted(runner, world, tmp_path):
    path = write(tmp_path, "centres", "\ufeffcentre_code,name,kind,municipality\r\nBOG,Bogovađa,asylum,Ljig\r\n")
    result = run(runner, "centres", path)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(Centre.name).where(Centre.code == "BOG")) == "Bogovađa"


def test_an_unknown_column_is_refused_by_name(runner, world, tmp_path):
    path = write(tmp_path, "centres", "centre_code,name,kind,municipality,capacity\nBOG,Bogovađa,asylum,Ljig,200\n")
    result = run(runner, "centres", path)
    assert result.exit_code == 1
    assert "line 1, capacity: Unknown column “capacity”" in result.output
    assert count(Centre) == 2


def test_a_missing_column_and_a_missing_header_are_refused(runner, world, tmp_path):
    result = run(runner, "centres", write(tmp_path, "centres", "centre_code,name,kind\nBOG,Bogovađa,asylum\n"))
    assert result.exit_code == 1 and "line 1, municipality: The column “municipality” is missing." in result.output
    result = run(runner, "centres", write(tmp_path, "centres", "BOG,Bogovađa,asylum,Ljig\n"))
    assert result.exit_code == 1
    assert "line 1: The first line must be the header: centre_code, name, kind, municipality." in result.output
    result = run(runner, "centres", write(tmp_path, "centres", ""))
    assert result.exit_code == 1 and "The first line must be the header" in result.output
    result = run(runner, "centres", write(tmp_path, "centres", "centre_code;name;kind;municipality\n"))
    assert result.exit_code == 1 and "not semicolons" in result.output
    assert count(Centre) == 2


def test_a_file_not_in_utf8_is_refused_clearly(runner, world, tmp_path):
    path = write(tmp_path, "centres", "centre_code,name,kind,municipality\nBOG,Bogovađa,asylum,Ljig\n".encode("cp1250"))
    result = run(runner, "centres", path)
    assert result.exit_code == 1 and "not UTF-8" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("app_config", [{"IMPORT_MAX_BYTES": 200, "IMPORT_MAX_ROWS": 3}])
def test_size_and_row_caps_have_a_clear_message(runner, world, tmp_path):
    rows = "".join(f"C{i},Centre {i},asylum,Ljig\n" for i in range(4))
    result = run(runner, "centres", write(tmp_path, "centres", "centre_code,name,kind,municipality\n" + rows))
    assert result.exit_code == 1 and "more than 3 rows" in result.output
    big = write(tmp_path, "centres", "centre_code,name,kind,municipality\n" + "X" * 300)
    result = run(runner, "centres", big)
    assert result.exit_code == 1 and "at most" in result.output and "Split it" in result.output
    assert count(Centre) == 2


CELLS = ["", "C-AAAAAA", "C-BBBBBB", "c-k7m3q9", "SA001", "SB002", "KRN", "2025/26", "2026/27", "primary",
         "secondary", "primary+secondary", "asylum", "0", "1", "5", "9", "-1", "99999", "female", "male", "AFG", "prs",
         "unaccompanied", "present", "absent_excused", "illness", "completed", "moved_onward", "5-1", "2026-09-01",
         "2026-11-02", "2013-04-12", "0001-01-01", "9999-12-31", "2026-02-30", "=1+1", "@sum", "x" * 250, "Šid",
         "محمد", "a,b", 'say "hi"', "\t", "line\nbreak"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(ORDER), as_admin=st.booleans(), header_ok=st.booleans(),
       rows=st.lists(st.lists(st.one_of(st.sampled_from(CELLS), st.text(max_size=12)), min_size=1, max_size=13),
                     max_size=6),
       junk=st.binary(max_size=40))
def test_any_file_gives_a_report_never_a_crash(app, world, kind, as_admin, header_ok, rows, junk):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    columns = list(FORMATS[kind].columns)
    writer.writerow(columns if header_ok else columns[::-1][:-1] + ["extra"])
    for row in rows:
        writer.writerow((row * 13)[:len(columns)] if len(row) > 1 else row)
    data = out.getvalue().encode("utf-8", "surrogatepass") + (junk if not header_ok else b"")
    before = counts()
    result = run_import(kind, data, user=world.admin if as_admin else world.liaison_a)
    assert result.saved == result.ok
    if not result.ok:
        assert counts() == before
        assert all(e.line is None or e.line >= 1 for e in result.errors)
    db.session.rollback()


# Scope.

def test_reference_data_is_for_administrators_only(runner, world, tmp_path):
    result = run(runner, "schools", DATA / "schools.csv", "--as", "liaison.a@example.org")
    assert result.exit_code == 1 and "Only administrators import schools.csv" in result.output
    result = run(runner, "attendance", DATA / "attendance.csv", "--as", "teacher.a@example.org")
    assert result.exit_code == 1 and "You may not import data." in result.output
    result = run(runner, "attendance", DATA / "attendance.csv", "--as", "liaison.none@example.org")
    assert result.exit_code == 1 and "no schools assigned" in result.output
    assert count(School) == 2


def test_rows_outside_a_liaison_officers_scope_are_errors(runner, world, tmp_path):
    day = school_days(world, 1)[0]
    label = world.year.label
    attendance = write(tmp_path, "attendance", ATTENDANCE_HEADER + f"C-AAAAAA,SA001,{day},present,\n"
                       f"C-BBBBBB,SB002,{day},present,\nC-BBBBBB,SA001,{day},present,\n")
    result = run(runner, "attendance", attendance, "--as", "liaison.a@example.org")
    assert result.exit_code == 1
    assert "line 3, child_code: C-BBBBBB is not a child in your scope." in result.output
    assert "line 3, school_code: SB002 is not one of your schools." in result.output
    assert "line 4, child_code: C-BBBBBB is not a child in your scope." in result.output
    assert "line 2" not in result.output
    enrolments = write(tmp_path, "enrolments", ENROLMENT_HEADER
                       + f"C-AAAAAA,SB002,{label},primary,5,,{day},,\n")
    result = run(runner, "enrolments", enrolments, "--as", "liaison.a@example.org")
    assert result.exit_code == 1 and "line 2, school_code: SB002 is not one of your schools." in result.output
    children = write(tmp_path, "children", CHILDREN_HEADER
                     + "C-BBBBBB,Zahra,Hosseini,,female,2012-08-02,0,AFG,prs,accompanied,,\n")
    result = run(runner, "children", children, "--as", "liaison.a@example.org")
    assert result.exit_code == 1 and "line 2, child_code: C-BBBBBB is not a child in your scope." in result.output
    # A code that exists nowhere gets the same answer: the preview does not tell whether a child exists.
    unknown = write(tmp_path, "children", CHILDREN_HEADER
                    + "C-ZZZZZZ,Zahra,Hosseini,,female,2012-08-02,0,AFG,prs,accompanied,,\n")
    result = run(runner, "children", unknown, "--as", "liaison.a@example.org", "--dry-run")
    assert result.exit_code == 1 and "line 2, child_code: C-ZZZZZZ is not a child in your scope." in result.output
    assert "Zahra" not in result.output.replace("Zahra,Hosseini", "")
    assert count(AttendanceRecord) == 0 and count(Enrolment) == 2
    assert db.session.scalar(sa.select(Child.birth_date).where(Child.code == "C-BBBBBB")) != dt.date(2012, 8, 2)


def test_a_liaison_officer_registers_and_corrects_children_in_scope(runner, world, tmp_path):
    path = write(tmp_path, "children", CHILDREN_HEADER.rstrip("\n") + ",guardian_name\n"
                 + "C-AAAAAA,Ahmad,Rahimy,,male,2015-03-04,0,AFG,prs,separated,KRN,,Vesna Ilić\n"
                 + ",Mariam,Sultani,,female,2013-04-12,1,AFG,prs,accompanied,KRN,2025-08-20,\n")
    before_version = world.child_a.version
    born = world.child_a.birth_date
    path.write_text(path.read_text().replace("2015-03-04", born.isoformat()))
    result = run(runner, "children", path, "--as", "liaison.a@example.org")
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged" in result.output
    db.session.expire_all()
    ahmad = db.session.get(Child, world.child_a.id)
    assert ahmad.family_name == "Rahimy" and ahmad.name_key.startswith("ahmad rahimy")
    assert ahmad.version == before_version + 1
    assert [p.status.value for p in ahmad.uasc_periods] == ["accompanied", "separated"]
    assert ahmad.uasc_periods[0].end_date == dt.date.today() - dt.timedelta(days=1)
    assert [g.name for g in ahmad.guardians if g.end_date is None] == ["Vesna Ilić"]
    mariam = db.session.scalar(sa.select(Child).where(Child.given_name == "Mariam"))
    assert mariam.created_by_id == world.liaison_a.id and mariam.birth_date_estimated
    from tracker import scope
    assert mariam.id in set(db.session.scalars(scope.child_ids(world.liaison_a)))
    assert re.search(rf"line 3: new child {mariam.code}", result.output)
    again = run(runner, "children", path, "--as", "liaison.a@example.org")
    assert "0 created, 0 updated, 2 unchanged" in again.output, again.output


# Enrolments and attendance.

def test_enrolments_close_open_ones_create_classes_and_refuse_overlaps(runner, world, tmp_path):
    first, label = world.year.first_day, world.year.label
    end = first + dt.timedelta(days=13)
    path = write(tmp_path, "enrolments", ENROLMENT_HEADER
                 + f"C-AAAAAA,SA001,{label},primary,5,5-1,{first},{end},transferred\n"
                 + f"C-AAAAAA,SA001,{label},primary,5,5-3,{end + dt.timedelta(days=1)},,\n")
    result = run(runner, "enrolments", path, "--as", "liaison.a@example.org")
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged; 1 new classes" in result.output
    history = db.session.scalars(sa.select(Enrolment).where(Enrolment.child_id == world.child_a.id)
                                 .order_by(Enrolment.start_date)).all()
    assert [(e.end_date, e.exit_reason and e.exit_reason.value) for e in history] == [(end, "transferred"), (None, None)]
    assert history[1].school_class.name == "5-3" and history[1].created_by_id == world.liaison_a.id
    assert "0 created, 0 updated, 2 unchanged" in run(runner, "enrolments", path).output
    overlap = write(tmp_path, "enrolments", ENROLMENT_HEADER
                    + f"C-AAAAAA,SA001,{label},primary,5,,{end + dt.timedelta(days=5)},,\n"
                    + f"C-AAAAAA,SA001,{label},primary,9,,{end + dt.timedelta(days=8)},,\n"
                    + f"C-AAAAAA,SA001,{label},primary,5,,{first},{end},dropped_out\n")
    result = run(runner, "enrolments", overlap, "--as", "liaison.a@example.org")
    assert result.exit_code == 1
    assert "line 2, start_date: Overlaps the open enrolment at OŠ Vuk Karadžić" in result.output
    assert "line 3, grade: Grade must be between 1 and 8" in result.output
    assert "line 4, end_date: The enrolment ended on" in result.output
    assert count(Enrolment) == 3


def test_attendance_is_upserted_with_history_and_notes_kept(runner, world, tmp_path):
    d1, d2 = school_days(world, 2)
    enrolment = world.child_a.open_enrolment
    db.session.add(AttendanceRecord(enrolment_id=enrolment.id, date=d1, status="present", note="came with sister"))
    db.session.commit()
    path = write(tmp_path, "attendance", ATTENDANCE_HEADER + f"C-AAAAAA,SA001,{d1},absent_excused,illness\n"
                 f"c-aaaaaa,SA001,{d2},late,\n")
    result = run(runner, "attendance", path, "--as", "liaison.a@example.org")
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged" in result.output
    rec = db.session.scalar(sa.select(AttendanceRecord).where(AttendanceRecord.date == d1))
    db.session.refresh(rec)
    assert (rec.status.value, rec.reason, rec.note, rec.recorded_by_id) == ("absent_excused", "illness",
                                                                           "came with sister", world.liaison_a.id)
    change = db.session.scalar(sa.select(AttendanceChange))
    assert change.old_status.value == "present" and change.new_status.value == "absent_excused"
    assert "0 created, 0 updated, 2 unchanged" in run(runner, "attendance", path).output


def test_attendance_on_a_non_school_day_or_outside_an_enrolment_is_refused(runner, world, tmp_path):
    d1, d2 = school_days(world, 2)
    db.session.add(NonSchoolDay(year=world.year, date=d1, description="Armistice Day"))
    db.session.commit()
    saturday = d2 + dt.timedelta(days=(5 - d2.weekday()) % 7)
    if saturday >= dt.date.today():
        saturday -= dt.timedelta(days=7)
    before_year = world.year.first_day - dt.timedelta(days=3)
    path = write(tmp_path, "attendance", ATTENDANCE_HEADER
                 + f"C-AAAAAA,SA001,{d1},present,\n"
                 + f"C-AAAAAA,SA001,{saturday},present,\n"
                 + f"C-AAAAAA,SA001,{before_year},present,\n"
                 + f"C-AAAAAA,SA001,{d2},present,illness\n"
                 + f"C-AAAAAA,SA001,{d2},here,\n"
                 + f"C-AAAAAA,SA001,{dt.date.today() + dt.timedelta(days=7)},present,\n"
                 + f"C-AAAAAA,SA001,{d2},present,\n"
                 + f"C-AAAAAA,SA001,{d2},late,\n"
                 + f"C-AAAAAA,SA001,{d2.strftime('%d.%m.%Y')},late,\n")
    result = run(runner, "attendance", path)
    assert result.exit_code == 1
    out = result.output
    assert f"line 2, date: {d1} is not a school day (Armistice Day)." in out
    assert f"line 3, date: {saturday} is not a school day (weekend)." in out
    assert "line 4, date:" in out
    assert "line 5, reason: A reason is given only for an absence." in out
    assert "line 6, status: “here” is not one of present, late, absent_excused, absent_unexcused." in out
    assert "line 7, date: Attendance cannot be recorded for a future date." in out
    assert "line 8," not in out and "line 9, date: The same child, school and date are on line 8." in out
    assert "line 10, date:" in out and "YYYY-MM-DD" in out
    assert count(AttendanceRecord) == 0


# The upload page.

def _upload(client, kind: str, text: str, name: str | None = None):
    return client.post("/import/", data={"kind": kind, "file": (io.BytesIO(text.encode("utf-8")),
                                                                 name or f"{kind}.csv")},
                       content_type="multipart/form-data")


def test_upload_preview_then_confirm_for_a_liaison_officer(client, auth, world, app):
    auth.login(world.liaison_a)
    page = client.get("/import/")
    assert page.status_code == 200 and 'href="/import/"' in page.text
    assert "schools.csv" not in page.text and "attendance.csv" in page.text
    days = school_days(world, 3)
    text = ATTENDANCE_HEADER + "".join(f"C-AAAAAA,SA001,{d},absent_unexcused,unknown\n" for d in days)
    r = _upload(client, "attendance", text)
    assert r.status_code == 200, r.text
    assert "3 rows checked, no errors." in r.text and "absent_unexcused" in r.text and "new" in r.text
    assert count(AttendanceRecord) == 0
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', r.text).group(1)
    assert len(list(Path(app.instance_path, "imports").glob("*.csv"))) == 1
    r = client.post("/import/confirm", data={"token": token, "kind": "attendance"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/import/")
    assert "Attendance imported: 3 created, 0 updated, 0 unchanged." in client.get("/import/").text
    assert count(AttendanceRecord) == 3
    assert not list(Path(app.instance_path, "imports").glob("*.csv"))
    r = client.post("/import/confirm", data={"token": token, "kind": "attendance"})
    assert r.status_code == 400 and "expired" in r.text and count(AttendanceRecord) == 3


def test_the_confirmation_is_bound_to_the_session_user_and_kind(client, auth, world, app):
    auth.login(world.liaison_a)
    day = school_days(world, 1)[0]
    r = _upload(client, "attendance", ATTENDANCE_HEADER + f"C-AAAAAA,SA001,{day},present,\n")
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', r.text).group(1)
    assert client.post("/import/confirm", data={"token": token, "kind": "children"}).status_code == 400
    assert client.post("/import/confirm", data={"token": "../" * 8 + "x" * 8, "kind": "attendance"}).status_code == 400
    other = app.test_client()
    other.post("/login", data={"email": "liaison.b@example.org", "password": "tracker-test-passphrase"})
    assert other.post("/import/confirm", data={"token": token, "kind": "attendance"}).status_code == 400
    assert count(AttendanceRecord) == 0


def test_the_page_shows_numbered_errors_and_saves_nothing(client, auth, world):
    auth.login(world.liaison_a)
    r = _upload(client, "enrolments", ENROLMENT_HEADER + f"C-BBBBBB,SB002,{world.year.label},secondary,1,,"
                f"{world.year.first_day},,\n")
    assert r.status_code == 400
    assert "Nothing was saved." in r.text and "Line 2" in r.text and "school_code" in r.text
    assert 'name="token"' not in r.text
    r = _upload(client, "schools", (DATA / "schools.csv").read_text())
    assert r.status_code == 400 and count(School) == 2
    r = _upload(client, "attendance", "child_code,school_code,date,status,reason,teacher\n")
    assert r.status_code == 400 and "Unknown column “teacher”" in r.text
    r = _upload(client, "attendance", "C-AAAAAA,SA001,2025-01-01,present,\n")
    assert r.status_code == 400 and "The first line must be the header" in r.text
    r = client.post("/import/", data={"kind": "attendance", "file": (io.BytesIO("x".encode("utf-16")), "a.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "not UTF-8" in r.text
    r = client.post("/import/", data={"kind": "attendance"}, content_type="multipart/form-data")
    assert r.status_code == 400


def test_an_upload_over_the_page_limit_gets_a_clear_message(client, auth, world, app):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    auth.login(world.liaison_a)
    r = _upload(client, "attendance", ATTENDANCE_HEADER + "C-AAAAAA,SA001,2025-01-01,present,\n" * 100)
    assert r.status_code == 413 and "larger than" in r.text and "Split it" in r.text


def test_an_administrator_imports_reference_data_on_the_page(client, auth, world):
    auth.login(world.admin)
    r = _upload(client, "centres", (DATA / "centres.csv").read_text())
    assert r.status_code == 200 and "Šid RTC" in r.text
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', r.text).group(1)
    assert client.post("/import/confirm", data={"token": token, "kind": "centres"}).status_code == 302
    assert count(Centre) == 3


@pytest.mark.parametrize("who", ["teacher_a", "partner"])
def test_teachers_and_partners_get_404(client, auth, world, who):
    auth.login(getattr(world, who))
    assert client.get("/import/").status_code == 404
    assert _upload(client, "attendance", ATTENDANCE_HEADER).status_code == 404
    assert client.post("/import/confirm", data={"token": "x" * 32, "kind": "attendance"}).status_code == 404
    assert 'href="/import/"' not in client.get("/").text


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True, "MAX_CONTENT_LENGTH": 4000}])
def test_the_page_with_csrf_on_refuses_a_post_without_the_token_and_works_with_it(client, world):
    def csrf(html):
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    login = client.get("/login").text
    client.post("/login", data={"email": "liaison.a@example.org", "password": "tracker-test-passphrase",
                                "csrf_token": csrf(login)})
    day = school_days(world, 1)[0]
    text = ATTENDANCE_HEADER + f"C-AAAAAA,SA001,{day},late,\n"
    assert _upload(client, "attendance", text).status_code == 400
    token = csrf(client.get("/import/").text)
    r = client.post("/import/", data={"kind": "attendance", "csrf_token": token,
                                      "file": (io.BytesIO(text.encode()), "attendance.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.text
    upload = re.search(r'name="token" type="hidden" value="([^"]+)"', r.text).group(1)
    assert client.post("/import/confirm", data={"token": upload, "kind": "attendance"}).status_code == 400
    r = client.post("/import/confirm", data={"token": upload, "kind": "attendance", "csrf_token": csrf(r.text)})
    assert r.status_code == 302 and count(AttendanceRecord) == 1
    r = client.post("/import/", data={"kind": "attendance", "csrf_token": token,
                                      "file": (io.BytesIO(text.encode() * 200), "attendance.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 413 and "Split it" in r.text
