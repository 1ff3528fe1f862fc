"""One write path: a request or command commits once, and plugins hear of a change only after it is saved.

The hooks here look at the database through a second connection, which sees committed rows
only: a hook delivered before the commit (or for a change that was rolled back) sees nothing.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tests.summaries import rebuilt, stored_summary
from tracker import hookimpl, unit_of_work
from tracker.attendance.models import AttendanceRecord
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.extensions import db

SEEN: list[tuple] = []
ROOT = Path(__file__).resolve().parent.parent


def committed(statement: str, **params) -> int:
    """A count read through a second connection: only what is committed."""
    with db.engine.connect() as conn:
        return conn.execute(sa.text(statement), params).scalar_one()


@hookimpl
def attendance_saved(school_class, date, records, user):
    ids = [r.id for r in records]
    stmt = sa.select(sa.func.count()).select_from(AttendanceRecord).where(AttendanceRecord.id.in_(ids))
    with db.engine.connect() as conn:
        SEEN.append(("attendance_saved", getattr(school_class, "name", None), date, len(ids), conn.scalar(stmt)))


@hookimpl
def child_registered(child, user):
    SEEN.append(("child_registered", child.code,
                 committed("SELECT count(*) FROM child WHERE code = :c", c=child.code)))


@hookimpl
def enrolment_changed(enrolment, change, previous, user):
    SEEN.append(("enrolment_changed", change,
                 committed("SELECT count(*) FROM enrolment WHERE id = :i AND (end_date IS NULL) = :open",
                           i=enrolment.id, open=change != "exited")))


@pytest.fixture
def app_config():
    return {"PLUGINS": ["tests.test_unit_of_work"]}


@pytest.fixture(autouse=True)
def _clear():
    SEEN.clear()
    yield
    SEEN.clear()


def school_days(world, n: int) -> list[dt.date]:
    day, out = world.year.first_day, []
    while len(out) < n and day < dt.date.today():
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def write(tmp_path, kind: str, text: str) -> str:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def rebuilt_summary() -> set[tuple]:
    return rebuilt(stored_summary)


# Event hooks after the commit ------------------------------------------------------------------------------------

def test_a_register_saved_on_the_page_is_told_after_its_commit(client, auth, world):
    (day,) = school_days(world, 1)
    e = world.child_a.open_enrolment
    auth.login(world.teacher_a)
    r = client.post(f"/registers/{world.class_a.id}/{day.isoformat()}", data={f"status-{e.id}": "late"})
    assert r.status_code == 302
    assert SEEN == [("attendance_saved", "5-1", day, 1, 1)]  # the hook's own connection saw the saved row


def test_a_refused_register_writes_nothing_and_tells_nobody(client, auth, world):
    (day,) = school_days(world, 1)
    e = world.child_a.open_enrolment
    auth.login(world.teacher_a)
    r = client.post(f"/registers/{world.class_a.id}/{day.isoformat()}", data={f"status-{e.id}": "asleep"})
    assert r.status_code == 400
    assert SEEN == [] and committed("SELECT count(*) FROM attendance_record") == 0


def test_operations_only_flush_and_queue(app, world):
    from tracker.enrolment import operations as ops

    ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "dropped_out")
    assert [hook for hook, _kw in unit_of_work.pending()] == ["enrolment_changed"] and SEEN == []
    assert committed("SELECT count(*) FROM enrolment WHERE end_date IS NOT NULL") == 0
    unit_of_work.commit()
    assert SEEN == [("enrolment_changed", "exited", 1)] and unit_of_work.pending() == []


def test_a_rollback_drops_the_queued_events(app, world):
    from tracker.enrolment import operations as ops

    ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "dropped_out")
    db.session.rollback()
    unit_of_work.commit()
    assert SEEN == [] and unit_of_work.pending() == []


def test_imports_tell_plugins_after_the_command_commits(runner, world, tmp_path):
    days = school_days(world, 2)
    path = write(tmp_path, "attendance", "child_code,school_code,date,status,reason\n" + "".join(
        f"C-AAAAAA,SA001,{d.isoformat()},present,\n" for d in days))
    result = runner.invoke(args=["import", "attendance", path])
    assert result.exit_code == 0, result.output
    # once per class and day, each seen saved through the hook's own connection
    assert SEEN == [("attendance_saved", "5-1", d, 1, 1) for d in days]
    SEEN.clear()
    children = write(tmp_path, "children", "child_code,given_name,family_name,name_original,sex,birth_date,"
                     "birth_date_estimated,country,first_language,uasc_status,centre_code,arrival_date\n"
                     ",Samir,Karimi,,male,2014-06-30,0,IRQ,ckb,accompanied,KRN,\n")
    result = runner.invoke(args=["import", "children", children])
    assert result.exit_code == 0, result.output
    (event,) = SEEN
    assert event[0] == "child_registered" and event[2] == 1


def test_a_failed_command_commits_nothing_and_tells_nobody(runner, world, tmp_path):
    (day,) = school_days(world, 1)
    path = write(tmp_path, "attendance", "child_code,school_code,date,status,reason\n"
                 f"C-AAAAAA,SA001,{day.isoformat()},present,\nC-AAAAAA,SA001,{day.isoformat()},late,\n")
    result = runner.invoke(args=["import", "attendance", path])
    assert result.exit_code == 1 and "line 3" in result.output
    assert SEEN == [] and committed("SELECT count(*) FROM attendance_record") == 0


def test_no_code_commits_but_the_unit_of_work():
    """Operations flush; only tracker/unit_of_work.py commits (and the database migrations)."""
    offenders = []
    for folder in ("tracker", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "unit_of_work.py":
                continue
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if re.search(r"\.commit\(\)", line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    assert offenders == []


# Imports keep the summary exact ---------------------------------------------------------------------------------

def test_an_imported_exit_before_recorded_registers_keeps_the_summary_exact(runner, world, tmp_path):
    days = school_days(world, 6)
    runner.invoke(args=["import", "attendance", write(tmp_path, "attendance", "child_code,school_code,date,status,reason\n"
                        + "".join(f"C-AAAAAA,SA001,{d.isoformat()},present,\n" for d in days))])
    assert count(AttendanceRecord) == 6
    e = world.child_a.open_enrolment
    exit_row = (f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{e.start_date.isoformat()},"
                f"{days[2].isoformat()},dropped_out\n")
    result = runner.invoke(args=["import", "enrolments", write(
        tmp_path, "enrolments",
        "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n" + exit_row)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert stored_summary() == rebuilt_summary()
    (month_row,) = [r for r in stored_summary() if r[0] == e.id] or [None]
    assert month_row is None or month_row[2] <= 3  # the registers after the exit no longer count


def test_a_non_school_day_imported_after_its_registers_keeps_the_summary_exact(runner, world, tmp_path):
    days = school_days(world, 4)
    runner.invoke(args=["import", "attendance", write(tmp_path, "attendance", "child_code,school_code,date,status,reason\n"
                        + "".join(f"C-AAAAAA,SA001,{d.isoformat()},absent_unexcused,unknown\n" for d in days))])
    before = stored_summary()
    result = runner.invoke(args=["import", "non_school_days", write(
        tmp_path, "non_school_days", "academic_year,date,description,school_code\n"
        f"{world.year.label},{days[1].isoformat()},Snow day,\n")])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    after = stored_summary()
    assert after != before and after == rebuilt_summary()
    assert sum(r[2] for r in after) == 3


def test_the_children_import_applies_the_registration_rules(runner, world, tmp_path):
    header = ("child_code,given_name,family_name,name_original,sex,birth_date,birth_date_estimated,country,"
              "first_language,uasc_status,centre_code,arrival_date")
    refused = runner.invoke(args=["import", "children", write(
        tmp_path, "children", header + "\n,Omar,Haddad,,male,2010-01-01,0,SYR,ara,unaccompanied,SUB,\n")])
    assert refused.exit_code == 1 and "guardian_name: An unaccompanied or separated child needs the name" in \
        refused.output
    assert count(Child) == 2
    saved = runner.invoke(args=["import", "children", write(
        tmp_path, "children", header + ",guardian_name,guardian_organisation,legal_basis\n"
        ",Omar,Haddad,,male,2010-01-01,0,SYR,ara,unaccompanied,SUB,,Jelena Petrović,CSR Subotica,vital_interests\n")])
    assert saved.exit_code == 0, saved.output
    omar = db.session.scalar(sa.select(Child).where(Child.given_name == "Omar"))
    assert omar.legal_basis.value == "vital_interests"
    assert [(g.name, g.organisation) for g in omar.guardians] == [("Jelena Petrović", "CSR Subotica")]
    bad = runner.invoke(args=["import", "children", write(
        tmp_path, "children", header + ",legal_basis\n,Ali,Haddad,,male,2011-01-01,0,SYR,ara,accompanied,,,whim\n")])
    assert bad.exit_code == 1 and "legal_basis" in bad.output


def test_enrolments_imported_are_told_once_committed(runner, world, tmp_path):
    e = world.child_a.open_enrolment
    day = school_days(world, 3)[-1]
    result = runner.invoke(args=["import", "enrolments", write(
        tmp_path, "enrolments",
        "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n"
        f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{e.start_date.isoformat()},{day.isoformat()},"
        "dropped_out\n")])
    assert result.exit_code == 0, result.output
    assert SEEN == [("enrolment_changed", "exited", 1)]
    assert db.session.get(Enrolment, e.id).end_date == day


def test_a_savepoint_rolled_back_keeps_what_the_transaction_queued(app, world):
    """A retried SAVEPOINT (a register save after a deadlock) does not drop the request's other events."""
    from tracker.enrolment import operations as ops

    ops.exit_enrolment(world.child_a, world.year.first_day + dt.timedelta(days=3), "dropped_out")
    unit_of_work.keep()
    db.session.begin_nested().rollback()
    assert [hook for hook, _kw in unit_of_work.pending()] == ["enrolment_changed"]
    unit_of_work.commit()
    assert SEEN == [("enrolment_changed", "exited", 1)]
