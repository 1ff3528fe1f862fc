"""Two records of the same child merged into one (administrators): enrolments with their attendance,
assessments, flags and histories come along; the other code keeps leading to the child."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tests.conftest import count
from tests.summaries import rebuilt, stored_summary
from tracker.extensions import db
from tracker.models import (AuditEvent, CentreStay, Child, Enrolment, Flag, FollowUp, MergedCode, RecordChange,
                            UascPeriod)


def duplicate(world, *, enrolled_from: dt.date | None = None):
    """A second record of world.child_a's child, registered later by another officer."""
    from tracker.children.operations import register_child
    from tracker.enrolment.operations import enrol

    dup = register_child(given_name="Ahmed", family_name="Rahimi", name_original="احمد رحیمی", sex="male",
                         birth_date=world.child_a.birth_date, country="AFG", first_language="prs",
                         centre=world.centre_a, centre_since=world.year.first_day - dt.timedelta(days=30),
                         temporary_id="T-77", user=world.liaison_a)
    if enrolled_from is not None:
        enrol(dup, world.school_a, "primary", 5, enrolled_from, school_class=world.class_a)
    db.session.commit()
    return dup


def school_days(start: dt.date, n: int) -> list[dt.date]:
    day, out = start, []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    assert out[-1] < dt.date.today(), "the test needs school days behind today"
    return out


def preview_and_merge(client, keep, other_code):
    r = client.post(f"/children/{keep.code}/merge", data={"other": other_code})
    assert r.status_code == 200, r.text
    assert f"Merge {other_code} into {keep.code}" in r.text
    return client.post(f"/children/{keep.code}/merge", data={"other": other_code, "confirmed": other_code})


def test_admin_merges_a_duplicate_and_its_code_leads_to_the_child(client, auth, world):
    from tracker.attendance.operations import save_register
    from tracker.enrolment.operations import exit_enrolment

    first = world.year.first_day
    exit_enrolment(world.child_a, first + dt.timedelta(days=9), "dropped_out")
    db.session.commit()
    dup = duplicate(world, enrolled_from=first + dt.timedelta(days=14))
    dup_code, dup_enrolment = dup.code, dup.open_enrolment.id
    days = school_days(first + dt.timedelta(days=14), 3)
    for day in days:
        save_register(world.class_a, day, {dup_enrolment: {"status": "absent_unexcused"}}, user=world.teacher_a)
    flag = Flag(child_id=dup.id, rule="chronic_absence", raised_on=days[-1], last_seen_on=days[-1],
                evidence={"attended": 0, "recorded": 3})
    flag.follow_ups.append(FollowUp(kind="home_visit", date=days[-1], note="visited"))
    db.session.add(flag)
    db.session.add(RecordChange(child_id=dup.id, object_type="child", object_id=dup.id, field="given_name",
                                old_value="Ahmet", new_value="Ahmed"))
    db.session.commit()
    summary_before = stored_summary()

    auth.login(world.admin)
    page = client.get(f"/children/{world.child_a.code}").text
    assert f'href="/children/{world.child_a.code}/merge"' in page
    r = client.post(f"/children/{world.child_a.code}/merge", data={"other": dup_code.lower()})
    assert r.status_code == 200 and "This record stays" in r.text and "Merged into it" in r.text
    assert "Ahmed Rahimi" in r.text and "Ahmad Rahimi" in r.text
    assert count(MergedCode) == 0  # a preview writes nothing
    r = preview_and_merge(client, world.child_a, dup_code)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/children/{world.child_a.code}")

    db.session.expire_all()
    assert db.session.scalar(sa.select(Child).where(Child.code == dup_code)) is None
    child = db.session.get(Child, world.child_a.id)
    assert [e.id for e in child.enrolments][-1] == dup_enrolment and child.open_enrolment.id == dup_enrolment
    assert stored_summary() == summary_before == rebuilt()  # the attendance came along unchanged
    flag = db.session.get(Flag, flag.id)
    assert flag.child_id == child.id and [u.note for u in flag.follow_ups] == ["visited"]
    # The same centre stay and UASC status, recorded twice, are kept once; blank identifiers filled.
    assert [s.centre.code for s in child.centre_stays] == ["KRN"] and len(child.uasc_periods) == 1
    assert (child.temporary_id, child.name_original, child.given_name) == ("T-77", "احمد رحیمی", "Ahmad")
    assert count(Child) == 2 and count(CentreStay) == 2 and count(UascPeriod) == 2
    changes = {(c.field, c.old_value, c.new_value) for c in db.session.scalars(
        sa.select(RecordChange).where(RecordChange.child_id == child.id))}
    assert {("given_name", "Ahmet", "Ahmed"), ("merged_from", None, dup_code), ("temporary_id", None, "T-77")} <= changes
    actions = {(e.action, e.object_id) for e in db.session.scalars(sa.select(AuditEvent))}
    assert {("children_merged", child.code), ("child_merged", dup_code)} <= actions

    # The old code leads to the child, for those who may see it.
    r = client.get(f"/children/{dup_code}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/children/{child.code}")
    page = client.get(f"/children/{child.code}").text
    history = page[page.index("History of corrections"):]
    assert "Another record of this child merged into this one" in history and dup_code in history
    auth.logout()
    auth.login(world.liaison_b)
    assert client.get(f"/children/{dup_code}").status_code == 404


def test_records_enrolled_at_the_same_time_are_not_merged(client, auth, world):
    dup = duplicate(world)
    from tracker.enrolment.operations import enrol

    enrol(dup, world.school_b, "primary", 5, world.year.first_day + dt.timedelta(days=3))
    db.session.commit()
    auth.login(world.admin)
    r = client.post(f"/children/{world.child_a.code}/merge", data={"other": dup.code})
    assert r.status_code == 409 and "enrolled at the same time" in r.text and "Merge C-" not in r.text
    r = client.post(f"/children/{world.child_a.code}/merge", data={"other": dup.code, "confirmed": dup.code})
    assert r.status_code == 409
    db.session.expire_all()
    assert db.session.scalar(sa.select(Child).where(Child.code == dup.code)) is not None
    assert count(MergedCode) == 0 and count(Enrolment) == 3


def test_only_administrators_merge(client, auth, world):
    dup = duplicate(world)
    for user in (world.liaison_a, world.teacher_a, world.partner):
        auth.logout()
        auth.login(user)
        assert client.get(f"/children/{world.child_a.code}/merge").status_code == 404
        assert client.post(f"/children/{world.child_a.code}/merge",
                           data={"other": dup.code, "confirmed": dup.code}).status_code == 404
        if user is world.liaison_a:
            assert "/merge" not in client.get(f"/children/{world.child_a.code}").text
    assert count(MergedCode) == 0 and count(Child) == 3


def test_a_flag_raised_on_both_records_is_kept_once(client, auth, world):
    today = dt.date.today()
    dup = duplicate(world)
    for child_id in (world.child_a.id, dup.id):
        db.session.add(Flag(child_id=child_id, rule="chronic_absence", raised_on=today, last_seen_on=today,
                            evidence={"attended": 5, "recorded": 10}))
    db.session.commit()
    auth.login(world.admin)
    assert preview_and_merge(client, world.child_a, dup.code).status_code == 302
    db.session.expire_all()
    flags = db.session.scalars(sa.select(Flag).where(Flag.child_id == world.child_a.id).order_by(Flag.id)).all()
    assert [f.cleared_on for f in flags] == [None, today]


def test_unknown_or_same_code_is_refused(client, auth, world):
    auth.login(world.admin)
    r = client.post(f"/children/{world.child_a.code}/merge", data={"other": "C-ZZZZZZ"})
    assert r.status_code == 400 and "No child has this code." in r.text
    r = client.post(f"/children/{world.child_a.code}/merge", data={"other": world.child_a.code})
    assert r.status_code == 409 and "the same record" in r.text
