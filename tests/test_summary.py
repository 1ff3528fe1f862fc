"""The attendance summary stays identical to the raw records after any sequence of saves."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.attendance import summary
from tracker.attendance.models import AttendanceMonth, AttendanceRecord
from tracker.attendance.operations import save_register, upsert_records
from tracker.extensions import db

STATUSES = ["present", "late", "absent_excused", "absent_unexcused"]


def raw_summary() -> set[tuple]:
    rows = db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date, AttendanceRecord.status))
    out: dict[tuple, list] = {}
    for eid, day, status in rows:
        key = (eid, day.replace(day=1))
        agg = out.setdefault(key, [0, 0, 0, 0, 0, None])
        agg[0] += 1
        agg[1 + STATUSES.index(status.value)] += 1
        agg[5] = max(agg[5] or day, day)
    return {(*k, *v) for k, v in out.items()}


def stored_summary() -> set[tuple]:
    return {tuple(r) for r in db.session.execute(sa.select(
        AttendanceMonth.enrolment_id, AttendanceMonth.month, AttendanceMonth.recorded, AttendanceMonth.present,
        AttendanceMonth.late, AttendanceMonth.absent_excused, AttendanceMonth.absent_unexcused,
        AttendanceMonth.last_date))}


def weekdays(world, n):
    day, out = world.year.first_day, []
    while len(out) < n and day <= min(world.year.last_day, dt.date.today()):
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(STATUSES)), min_size=1, max_size=30))
def test_summary_matches_raw_records_after_random_edits(app, world, edits):
    days = weekdays(world, 40)
    e = world.child_a.open_enrolment
    for i, status in edits:
        if i < len(days):
            upsert_records([{"enrolment_id": e.id, "date": days[i], "status": status}], user=world.teacher_a)
    db.session.commit()
    assert stored_summary() == raw_summary()
    db.session.execute(sa.delete(AttendanceRecord))
    db.session.execute(sa.delete(AttendanceMonth))
    db.session.commit()


def test_register_saves_keep_the_summary_and_rebuild_agrees(app, world):
    days = weekdays(world, 3)
    e = world.child_a.open_enrolment
    for i, day in enumerate(days):
        save_register(world.class_a, day, {e.id: {"status": STATUSES[i % 4]}}, user=world.teacher_a)
    save_register(world.class_a, days[0], {e.id: {"status": "absent_unexcused"}}, user=world.teacher_a)
    incremental = stored_summary()
    assert incremental == raw_summary()
    summary.rebuild()
    db.session.commit()
    assert stored_summary() == incremental


def test_a_month_left_without_counted_records_loses_its_row_as_in_a_rebuild(app, world):
    days = weekdays(world, 40)
    e = world.child_a.open_enrolment
    first, later = days[0], next(d for d in days if d.month != days[0].month)
    for day in (first, later):
        save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    summary.refresh([(e.id, later)])  # an upsert of an unchanged month changes nothing
    assert len(stored_summary()) == 2
    e.end_date, e.exit_reason = later.replace(day=1) - dt.timedelta(days=1), "transferred"  # later stops counting
    db.session.flush()
    summary.refresh([(e.id, later)])
    incremental = stored_summary()
    assert {row[1] for row in incremental} == {first.replace(day=1)}
    summary.rebuild()
    assert stored_summary() == incremental
    db.session.rollback()
