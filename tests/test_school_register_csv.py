"""The school register CSV integration: a school's own layout imported through run_import, the monthly export."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from plugins.school_register_csv import SchoolRegisterCsv, SchoolRegisterSettingsForm, parse_status_map
from tests.conftest import count
from tracker.attendance import summary
from tracker.extensions import db
from tracker.integrations.types import Scope, all_integrations
from tracker.models import AttendanceMonth, AttendanceRecord, AuditEvent, Child, Enrolment, SchoolClass
from tracker.types import LegalBasis, Level, Sex

DATA = Path(__file__).resolve().parent / "data" / "school_register"
SERBIAN = {
    "delimiter": ";", "encoding": "utf-8", "column_given_name": "Ime", "column_family_name": "Prezime",
    "column_date": "Datum", "date_format": "%d.%m.%Y", "column_status": "Status",
    "status_map": "prisutan=present, kasni=late, opravdano=absent_excused, neopravdano=absent_unexcused",
}
CODE_AND_EXCUSED = {
    "delimiter": ",", "encoding": "utf-8", "column_child": "Šifra", "column_date": "Datum", "date_format": "%d/%m/%Y",
    "column_status": "Status", "status_map": "prisutan=present\nkasni=late\nodsutan=absent",
    "column_excused": "Opravdano", "excused_yes": "da", "excused_no": "ne",
}


def school_days(world, n: int) -> list[dt.date]:
    """The last ``n`` weekdays of the current academic year up to yesterday, oldest first."""
    day, days = dt.date.today() - dt.timedelta(days=1), []
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    assert days[-1] >= world.year.first_day
    return sorted(days)


def sample(name: str, fmt: str = "%d.%m.%Y.", **dates: dt.date) -> bytes:
    """A sample file with its {d1}, {d2}... placeholders replaced by dates written as the school writes them."""
    data = (DATA / name).read_bytes()
    for key, day in dates.items():
        data = data.replace(b"{%s}" % key.encode(), day.strftime(fmt).encode())
    return data


def run(world, data: bytes, settings: dict, *, user="admin", dry_run: bool = False, school=None):
    scope = Scope(school=school or world.school_a, user=getattr(world, user) if user else None, settings=settings)
    return SchoolRegisterCsv().import_file(io.BytesIO(data), scope, dry_run)


def saved(child) -> dict[dt.date, str]:
    return {day: status.value for day, status in db.session.execute(
        sa.select(AttendanceRecord.date, AttendanceRecord.status)
        .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id).where(Enrolment.child_id == child.id))}


def add_child(world, code: str, given: str, family: str, *, school_class=None, temporary_id=None) -> Child:
    child = Child(code=code, given_name=given, family_name=family, name_original="", sex=Sex.male,
                  birth_date=dt.date(world.year.first_day.year - 11, 1, 1), country="AFG", first_language="prs",
                  legal_basis=LegalBasis.public_task, temporary_id=temporary_id)
    db.session.add(child)
    db.session.add(Enrolment(child=child, school=world.school_a, year=world.year, level=Level.primary, grade=5,
                             school_class=school_class, start_date=world.year.first_day))
    db.session.commit()
    return child


def locations(result) -> list[tuple[int | None, str | None]]:
    return [(e["line"], e["column"]) for e in result.errors]


# Import.

def test_the_integration_is_registered(app):
    integration = all_integrations()["school_register_csv"]
    assert integration.can_import and integration.can_export
    assert integration.personal_fields == ("names",) and integration.settings_form is SchoolRegisterSettingsForm


def test_a_serbian_register_is_saved_as_attendance(app, world):
    d1, d2, d3, d4 = school_days(world, 4)
    result = run(world, sample("dnevnik.csv", d1=d1, d2=d2, d3=d3, d4=d4), SERBIAN, user="liaison_a")
    assert result.ok, result.errors
    assert not result.dry_run and result.counts == {"created": 4, "updated": 0, "unchanged": 0}
    assert saved(world.child_a) == {d1: "present", d2: "late", d3: "absent_excused", d4: "absent_unexcused"}
    assert db.session.scalar(sa.select(sa.func.sum(AttendanceMonth.recorded))) == 4  # the summary is kept too
    again = run(world, sample("dnevnik.csv", d1=d1, d2=d2, d3=d3, d4=d4), SERBIAN)
    assert again.ok and again.counts == {"created": 0, "updated": 0, "unchanged": 4}


def test_a_windows_1250_register_matches_names_across_spellings(app, world):
    djordje = add_child(world, "C-DJORDJ", "Djordje", "Djordjevic", school_class=world.class_a)
    zeljko = add_child(world, "C-ZELJKO", "Željko", "Šćepanović")
    d1, d2 = school_days(world, 2)
    data = sample("dnevnik-windows-1250.csv", d1=d1, d2=d2)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = run(world, data, {**SERBIAN, "encoding": "windows-1250"}, user=None)  # the command line
    assert result.ok, result.errors
    assert saved(djordje) == {d1: "present", d2: "late"}  # "Kasni": words are matched case-insensitively
    assert saved(zeljko) == {d1: "absent_unexcused"}
    # The same file saved as UTF-8 is read as UTF-8 although the settings still say Windows-1250.
    utf8 = data.decode("windows-1250").encode("utf-8")
    assert run(world, utf8, {**SERBIAN, "encoding": "windows-1250"}).counts["unchanged"] == 3


def test_a_code_column_and_an_excused_column(app, world):
    d1, d2, d3 = school_days(world, 3)
    result = run(world, sample("sifra-opravdano.csv", "%d/%m/%Y", d1=d1, d2=d2, d3=d3), CODE_AND_EXCUSED,
                 user="liaison_a")
    assert result.ok, result.errors
    assert saved(world.child_a) == {d1: "absent_excused", d2: "absent_unexcused", d3: "present"}
    record = db.session.scalar(sa.select(AttendanceRecord).where(AttendanceRecord.date == d1))
    assert record.recorded_by_id == world.liaison_a.id


def test_errors_name_the_schools_line_and_column_and_nothing_is_saved(app, world):
    d1, d2, d3 = school_days(world, 3)
    weekend = d3 - dt.timedelta(days=(d3.weekday() - 5) % 7)  # the Saturday before
    before = count(AttendanceRecord), count(AuditEvent)
    result = run(world, sample("greske.csv", d1=d1, d2=d2, d3=d3, weekend=weekend), SERBIAN)
    assert not result.ok and count(AttendanceRecord) == before[0] and count(AuditEvent) == before[1]
    assert locations(result) == [(3, "Status"), (4, "Datum"), (5, "Ime / Prezime"), (6, "Datum")]
    status, date, child, school_day = (e["message"] for e in result.errors)
    assert status == "“bolestan” is not one of prisutan, kasni, opravdano, neopravdano."
    assert date == "“31.02.2025.” is not a date written as 23.11.2025."
    assert child == "No child with this name is enrolled at SA001."
    assert "is not a school day" in school_day  # found by run_import on its line 3, reported on the school's line 6
    assert result.message == "Nothing was saved: 4 errors in 4 rows."


def test_a_missing_column_is_reported_on_the_header(app, world):
    (d1,) = school_days(world, 1)
    result = run(world, sample("bez-statusa.csv", d1=d1), SERBIAN)
    assert not result.ok and count(AttendanceRecord) == 0
    assert locations(result) == [(1, "Status")]
    assert result.errors[0]["message"] == "The column “Status” is missing."
    wrong_separator = run(world, sample("dnevnik.csv", d1=d1, d2=d1, d3=d1, d4=d1), {**SERBIAN, "delimiter": ","})
    assert "separated by “;”" in wrong_separator.errors[-1]["message"]


def test_an_unknown_or_ambiguous_child_and_a_child_of_another_school(app, world):
    add_child(world, "C-AHMEDR", "Ahmed", "Rahimi")
    d1, d2 = school_days(world, 2)
    text = ("Ime;Prezime;Datum;Status\n"
            f"Ahmed;Rahimi;{d1:%d.%m.%Y.};prisutan\n"      # exactly one child has this name
            f"Ahmed;Rahimy;{d1:%d.%m.%Y.};prisutan\n"      # spelt like both Ahmad and Ahmed Rahimi
            f"Zahra;Hosseini;{d1:%d.%m.%Y.};prisutan\n"    # enrolled at the other school
            f"AHMAD;RAHIMI;{d2:%d.%m.%Y.};prisutan\n"
            f"Ahmad;Rahimi;{d2:%d.%m.%Y.};kasni\n")
    result = run(world, text.encode(), SERBIAN)
    assert locations(result) == [(3, "Ime / Prezime"), (4, "Ime / Prezime"), (6, "Datum")]
    assert "C-AAAAAA, C-AHMEDR" in result.errors[0]["message"]
    assert result.errors[2]["message"] == "The same child, school and date are on line 5."
    assert count(AttendanceRecord) == 0


def test_an_error_found_by_run_import_keeps_the_schools_column(app, world):
    (d1,) = school_days(world, 1)
    text = f"Šifra,Datum,Status,Opravdano\nC-BBBBBB,{d1:%d/%m/%Y},prisutan,\nC-NOSUCH,{d1:%d/%m/%Y},prisutan,\n"
    result = run(world, text.encode(), CODE_AND_EXCUSED)
    assert locations(result) == [(2, "Datum"), (3, "Šifra")]
    assert result.errors[0]["message"] == f"C-BBBBBB has no enrolment at SA001 on {d1}."
    assert result.errors[1]["message"] == "No child C-NOSUCH."


def test_a_dry_run_writes_nothing(app, world):
    d1, d2, d3, d4 = school_days(world, 4)
    before = count(AttendanceRecord), count(AttendanceMonth), count(AuditEvent)
    result = run(world, sample("dnevnik.csv", d1=d1, d2=d2, d3=d3, d4=d4), SERBIAN, dry_run=True)
    assert result.ok and result.dry_run and result.counts["created"] == 4
    assert result.message.endswith("Dry run: nothing was saved.")
    assert (count(AttendanceRecord), count(AttendanceMonth), count(AuditEvent)) == before


def test_an_import_without_settings_says_so(app, world):
    result = run(world, b"Ime;Prezime;Datum;Status\n", {})
    assert not result.ok and {e["column"] for e in result.errors} >= {"column_child", "column_date", "status_map"}


# Settings.

@pytest.mark.parametrize("status_map, message", [
    ("prisutan present", "has no “=”"),
    ("prisutan=here", "“here” is not one of present, late, absent_excused, absent_unexcused, absent."),
    ("prisutan=present, Prisutan=late", "“Prisutan” is listed twice."),
    ("=present", "A word is missing"),
    (" , ", "List the register's words"),
])
def test_the_settings_form_refuses_a_malformed_status_map(app, status_map, message):
    with app.test_request_context(method="POST", data={**SERBIAN, "status_map": status_map}):
        form = SchoolRegisterSettingsForm()
        assert not form.validate()
        assert any(message in str(e) for e in form.status_map.errors), form.errors
    with pytest.raises(ValueError):
        parse_status_map(status_map)


def test_the_settings_form_accepts_a_good_mapping_and_checks_the_rest(app):
    with app.test_request_context(method="POST", data=SERBIAN):
        form = SchoolRegisterSettingsForm()
        assert form.validate(), form.errors
        assert form.to_settings()["status_map"] == SERBIAN["status_map"]
        assert parse_status_map(form.status_map.data)["neopravdano"] == "absent_unexcused"
    bad = {**SERBIAN, "column_family_name": "", "date_format": "%d.%m.", "status_map": "odsutan=absent"}
    with app.test_request_context(method="POST", data=bad):
        form = SchoolRegisterSettingsForm()
        assert not form.validate()
        assert set(form.errors) == {"column_family_name", "date_format", "column_excused"}


# Export.

def _export(world, month: dt.date, *, names: bool):
    scope = Scope(school=world.school_a, user=world.admin, settings={},
                  allowed_fields=frozenset({"names"}) if names else frozenset())
    filename, mimetype, data = SchoolRegisterCsv().export(scope, {"month": f"{month:%Y-%m}"})
    assert data.startswith(b"\xef\xbb\xbf") and mimetype.startswith("text/csv")
    return filename, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


@pytest.fixture
def september(world):
    """Records in the first month of the year: child A in class 5-1; child C with no class."""
    month = world.year.first_day.replace(day=1)
    weekdays = [d for d in (month + dt.timedelta(days=i) for i in range(28)) if d.weekday() < 5]
    child_c = add_child(world, "C-CCCCCC", "Omar", '=HYPERLINK("http://example.org")', temporary_id="+381 123")
    a, c = world.child_a.open_enrolment, child_c.open_enrolment
    for enrolment, statuses in ((a, ["present", "present", "late", "absent_excused"]),
                                (c, ["absent_unexcused", "absent_unexcused", "present"])):
        for day, status in zip(weekdays, statuses):
            db.session.add(AttendanceRecord(enrolment_id=enrolment.id, date=day, status=status))
    db.session.flush()
    summary.refresh([(a.id, month), (c.id, month)])
    db.session.commit()
    return month


def test_the_monthly_export_without_names(app, world, september):
    filename, rows = _export(world, september, names=False)
    assert filename == f"attendance-SA001-{september:%Y-%m}.csv"
    assert rows == [
        ["Class", "Temporary ID number or child code", "Days recorded", "Present", "Late", "Absent (excused)",
         "Absent (unexcused)"],
        ["5-1", "C-AAAAAA", "4", "2", "1", "1", "0"],
        ["5-1", "Total", "4", "2", "1", "1", "0"],
        ["No class", "'+381 123", "3", "1", "0", "0", "2"],  # the temporary ID where present, neutralised
        ["No class", "Total", "3", "1", "0", "0", "2"],
        ["All classes", "Total", "7", "3", "1", "1", "2"],
    ]
    assert not any("Omar" in cell or "Ahmad" in cell for row in rows for cell in row)


def test_the_monthly_export_with_names_allowed(app, world, september):
    _name, rows = _export(world, september, names=True)
    assert rows[0][:4] == ["Class", "Temporary ID number or child code", "Given name", "Family name"]
    assert rows[1] == ["5-1", "C-AAAAAA", "Ahmad", "Rahimi", "4", "2", "1", "1", "0"]
    assert rows[3] == ["No class", "'+381 123", "Omar", "'=HYPERLINK(\"http://example.org\")", "3", "1", "0", "0", "2"]
    assert rows[-1] == ["All classes", "Total", "", "", "7", "3", "1", "1", "2"]


def test_a_month_without_records_lists_the_children_with_zeros(app, world, september):
    later = (september + dt.timedelta(days=32)).replace(day=1)
    _name, rows = _export(world, later, names=False)
    assert rows[1] == ["5-1", "C-AAAAAA", "0", "0", "0", "0", "0"] and rows[-1][2:] == ["0"] * 5


def test_the_export_month_defaults_to_the_previous_one_and_refuses_nonsense(app, world):
    scope = Scope(school=world.school_a, user=None)
    filename, _mimetype, _data = SchoolRegisterCsv().export(scope, {})
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1))
    assert filename == f"attendance-SA001-{last_month:%Y-%m}.csv"
    with pytest.raises(ValueError, match="YYYY-MM"):
        SchoolRegisterCsv().export(scope, {"month": "2025-13"})


def test_the_export_headers_are_translated(app, world):
    scope = Scope(school=world.school_a, user=None)
    with app.test_request_context(), force_locale("sr_Latn"):
        _filename, _mimetype, data = SchoolRegisterCsv().export(scope, {})
    header = data.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[0] == "Odeljenje" and "Evidentirani dani" in header


def test_classes_are_in_natural_order(app, world):
    for name in ("5-10", "5-2"):
        cls = SchoolClass(school=world.school_a, year=world.year, level=Level.primary, grade=5, name=name)
        db.session.add(cls)
        add_child(world, f"C-{name.replace('-', 'X')}", "A", name, school_class=cls)
    _name, rows = _export(world, world.year.first_day.replace(day=1), names=False)
    assert [r[0] for r in rows[1:] if r[1] != "Total"] == ["5-1", "5-2", "5-10"]


# Through the core's command line: settings given as KEY=VALUE go through the settings form (defaults included).

def test_enabled_from_the_command_line_and_run(app, runner, world, tmp_path):
    d1, d2, d3, d4 = school_days(world, 4)
    path = tmp_path / "dnevnik.csv"
    path.write_bytes(sample("dnevnik.csv", d1=d1, d2=d2, d3=d3, d4=d4))
    settings = ["column_given_name=Ime", "column_family_name=Prezime", "column_date=Datum", "column_status=Status"]
    enabled = runner.invoke(args=["integrations", "enable", "school_register_csv", "--school", "SA001",
                                  *(f"--setting={s}" for s in settings)])
    assert enabled.exit_code == 0, enabled.output
    dry = runner.invoke(args=["integrations", "run", "school_register_csv", "--school", "SA001", "--import",
                              str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert count(AttendanceRecord) == 0
    done = runner.invoke(args=["integrations", "run", "school_register_csv", "--school", "SA001", "--import",
                               str(path)])
    assert done.exit_code == 0, done.output
    assert saved(world.child_a)[d4] == "absent_unexcused"
    refused = runner.invoke(args=["integrations", "enable", "school_register_csv", "--school", "SA001",
                                  *(f"--setting={s}" for s in settings), "--setting=status_map=prisutan"])
    assert refused.exit_code != 0 and "has no “=”" in refused.output
