"""Every door gives the same numbers: random changes through the page, the CSV import, an integration
and a command, and after each one the summary equals the raw records and the indicators equal
those after a full rebuild."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.summaries import rebuilt, stored_summary
from tracker import unit_of_work
from tracker.attendance.models import AttendanceChange, AttendanceMonth, AttendanceRecord
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.indicators.compute import Params, compute
from tracker.integrations.models import SchoolIntegration
from tracker.schools.models import NonSchoolDay

STATUSES = ["present", "late", "absent_excused", "absent_unexcused"]
REGISTER_WORDS = {"present": ("prisutan", ""), "late": ("kasni", ""), "absent_excused": ("odsutan", "da"),
                  "absent_unexcused": ("odsutan", "ne")}
SETTINGS = {"delimiter": ",", "encoding": "utf-8", "column_child": "Šifra", "column_date": "Datum",
            "date_format": "%d/%m/%Y", "column_status": "Status",
            "status_map": "prisutan=present\nkasni=late\nodsutan=absent", "column_excused": "Opravdano",
            "excused_yes": "da", "excused_no": "ne"}
N_DAYS = 12

step = st.one_of(
    st.tuples(st.sampled_from(["page", "import", "integration"]), st.integers(0, N_DAYS - 1), st.sampled_from(STATUSES)),
    st.tuples(st.just("day_off"), st.integers(0, N_DAYS - 1), st.none()),
    st.tuples(st.just("exit"), st.integers(0, N_DAYS - 1), st.none()),
    st.tuples(st.just("enrol"), st.integers(0, N_DAYS - 1), st.none()),
)


def weekdays(world) -> list[dt.date]:
    day, out = world.year.first_day, []
    while len(out) < N_DAYS and day < dt.date.today():
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def indicators(world) -> list[dict]:
    today = dt.date.today()
    return compute(Params(frm=world.year.first_day, to=min(world.year.last_day, today), as_of=today,
                          by=["sex"]))


def assert_every_figure_matches_a_rebuild(world) -> None:
    db.session.expire_all()
    kept, figures = stored_summary(), indicators(world)
    after_rebuild, refigured = rebuilt(lambda: (stored_summary(), indicators(world)))
    assert kept == after_rebuild
    assert figures == refigured


def csv_file(tmp_path, kind: str, text: str) -> str:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def apply(step, world, client, runner, tmp_path, days) -> None:
    kind, i, status = step
    day = days[i]
    child = world.child_a
    if kind == "page":
        open_on_day = db.session.scalar(sa.select(Enrolment).where(
            Enrolment.child_id == child.id, Enrolment.start_date <= day,
            sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day)))
        marks = {f"status-{open_on_day.id}": status} if open_on_day is not None else {}
        client.post(f"/registers/{world.class_a.id}/{day.isoformat()}", data=marks)
    elif kind == "import":
        reason = "illness" if status.startswith("absent") else ""
        runner.invoke(args=["import", "attendance", csv_file(
            tmp_path, "attendance", f"child_code,school_code,date,status,reason\n"
            f"C-AAAAAA,SA001,{day.isoformat()},{status},{reason}\n")])
    elif kind == "integration":
        from tracker.integrations import operations as ops

        word, excused = REGISTER_WORDS[status]
        data = f"Šifra,Datum,Status,Opravdano\nC-AAAAAA,{day.strftime('%d/%m/%Y')},{word},{excused}\n".encode()
        result, _run = ops.run_import("school_register_csv", world.school_a, world.admin, data)
        unit_of_work.commit()  # as the page's request does
    elif kind == "day_off":
        runner.invoke(args=["import", "non_school_days", csv_file(
            tmp_path, "non_school_days", f"academic_year,date,description,school_code\n"
            f"{world.year.label},{day.isoformat()},Closed,\n")])
    elif kind == "exit":
        e = db.session.scalar(sa.select(Enrolment).where(Enrolment.child_id == child.id,
                                                        Enrolment.end_date.is_(None)))
        if e is not None:
            runner.invoke(args=["import", "enrolments", csv_file(
                tmp_path, "enrolments",
                "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n"
                f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{e.start_date.isoformat()},{day.isoformat()},"
                "dropped_out\n")])
    elif kind == "enrol":
        runner.invoke(args=["import", "enrolments", csv_file(
            tmp_path, "enrolments",
            "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n"
            f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{day.isoformat()},,\n")])


def reset(world, first_enrolment_id: int) -> None:
    db.session.rollback()
    db.session.execute(sa.delete(AttendanceChange))
    db.session.execute(sa.delete(AttendanceRecord))
    db.session.execute(sa.delete(AttendanceMonth))
    db.session.execute(sa.delete(NonSchoolDay))
    db.session.execute(sa.delete(Enrolment).where(Enrolment.child_id == world.child_a.id,
                                                  Enrolment.id != first_enrolment_id))
    db.session.execute(sa.update(Enrolment).where(Enrolment.id == first_enrolment_id)
                       .values(end_date=None, exit_reason=None, closed_at=None, closed_by_id=None))
    from tracker.schools.operations import refresh_calendar_days

    refresh_calendar_days()
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=6))
def test_every_door_keeps_the_figures_exact(app, client, auth, runner, world, tmp_path, steps):
    from tracker.integrations import operations as ops

    days = weekdays(world)
    first = world.child_a.open_enrolment.id if world.child_a.open_enrolment else None
    if not db.session.scalar(sa.select(sa.func.count()).select_from(SchoolIntegration)):
        ops.enable("school_register_csv", world.school_a, None, settings=SETTINGS)
        db.session.commit()
    auth.login(world.teacher_a)
    try:
        for s in steps:
            apply(s, world, client, runner, tmp_path, days)
            assert_every_figure_matches_a_rebuild(world)
    finally:
        first = first or db.session.scalar(sa.select(sa.func.min(Enrolment.id)).where(
            Enrolment.child_id == world.child_a.id))
        reset(world, first)
