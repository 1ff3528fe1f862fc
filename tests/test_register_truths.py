"""Registers that tell the truth: a child enrolled after the register was saved is not recorded (not
silently present), the day stays incomplete until they are, the saved message counts the marks, and
the history of corrections is summarised (the latest per child, the whole list on request)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.test_attendance import add_pupil, school_day_before, url
from tracker.attendance.queries import incomplete_classes
from tracker.extensions import db
from tracker.indicators import Params, compute
from tracker.models import AttendanceChange, AttendanceRecord, School


@pytest.fixture
def day(world):
    d = school_day_before(dt.date.today())
    assert d >= world.year.first_day
    return d


def fieldset(page: str, enrolment_id: int) -> str:
    """The part of the register page about one child."""
    match = re.search(rf'<fieldset class="pupil[^"]*" id="pupil-{enrolment_id}">(.*?)</fieldset>', page, re.S)
    assert match, f"no fieldset for enrolment {enrolment_id}"
    return match.group(0)


def records(enrolment_id: int, day: dt.date) -> list[AttendanceRecord]:
    db.session.expire_all()
    return db.session.scalars(sa.select(AttendanceRecord).where(AttendanceRecord.enrolment_id == enrolment_id,
                                                               AttendanceRecord.date == day)).all()


def test_a_child_enrolled_after_the_register_was_saved_is_not_recorded(client, auth, world, day):
    auth.login(world.teacher_a)
    first = world.child_a.open_enrolment
    assert client.post(url(world, day), data={f"status-{first.id}": "late"}).status_code == 302
    newcomer = add_pupil(world, "Newcomer", start=day)  # enrolled (from that day) after the save
    page = client.get(url(world, day)).text
    theirs = fieldset(page, newcomer.id)
    assert "Not recorded" in theirs and "checked" not in theirs
    assert 'value="late" checked' in fieldset(page, first.id)
    assert "1 child is not recorded yet" in page
    # Saving the register again without a mark for them leaves them not recorded, never present.
    r = client.post(url(world, day), data={f"status-{first.id}": "late", f"reason-{newcomer.id}": "",
                                           f"note-{newcomer.id}": ""}, follow_redirects=True)
    assert r.status_code == 200 and "Saved: 0 present, 0 absent, 1 late, 1 not recorded." in r.text
    assert records(newcomer.id, day) == []
    assert [rec.status.value for rec in records(first.id, day)] == ["late"]


def test_a_register_not_taken_yet_still_marks_everyone_present(client, auth, world, day):
    second = add_pupil(world, "Second", start=world.year.first_day)
    auth.login(world.teacher_a)
    page = client.get(url(world, day)).text
    assert 'value="present" checked' in fieldset(page, second.id) and "Not recorded" not in page
    r = client.post(url(world, day), data={}, follow_redirects=True)
    assert "Saved: 2 present, 0 absent, 0 late." in r.text
    assert [rec.status.value for rec in records(second.id, day)] == ["present"]


def test_the_day_counts_as_incomplete_until_the_late_child_is_recorded(client, auth, world, day):
    auth.login(world.teacher_a)
    first = world.child_a.open_enrolment
    client.post(url(world, day), data={f"status-{first.id}": "present"})
    assert world.class_a.id not in incomplete_classes([world.class_a.id], day)
    auth.logout()
    newcomer = add_pupil(world, "Newcomer", start=day)
    assert world.class_a.id in incomplete_classes([world.class_a.id], day)
    auth.login(world.liaison_a)
    assert f'href="{url(world, day)}"' in client.get("/registers/missing").text
    # Completeness counts the enrolled day without a record; the attendance rate counts records only.
    p = Params(day, day, day, school_ids=sa.select(School.id).where(School.id == world.school_a.id))
    rows = {r["indicator"]: r for r in compute(p)}
    assert (rows["register_completeness"]["numerator"], rows["register_completeness"]["denominator"]) == (1, 2)
    assert (rows["attendance_rate"]["numerator"], rows["attendance_rate"]["denominator"]) == (1, 1)
    r = client.post(url(world, day), data={f"status-{first.id}": "present", f"status-{newcomer.id}": "absent_excused",
                                           f"reason-{newcomer.id}": "illness"}, follow_redirects=True)
    assert "Saved: 1 present, 1 absent, 0 late." in r.text
    assert world.class_a.id not in incomplete_classes([world.class_a.id], day)
    assert f'href="{url(world, day)}"' not in client.get("/registers/missing").text
    rows = {r["indicator"]: r for r in compute(p)}
    assert (rows["register_completeness"]["numerator"], rows["register_completeness"]["denominator"]) == (2, 2)


def test_a_child_who_left_before_the_day_does_not_make_it_incomplete(app, world, day):
    earlier = school_day_before(day, 3)
    add_pupil(world, "Leaver", start=world.year.first_day, end=earlier, reason="moved_onward")
    db.session.add(AttendanceRecord(enrolment_id=world.child_a.open_enrolment.id, date=day, status="present"))
    db.session.commit()
    assert incomplete_classes([world.class_a.id], day) == set()


def test_the_saved_message_counts_present_absent_and_late(client, auth, world, day):
    pupils = [world.child_a.open_enrolment] + [add_pupil(world, f"Pupil{i}", start=world.year.first_day)
                                               for i in range(4)]
    marks = ["present", "absent_excused", "absent_unexcused", "late", "present"]
    auth.login(world.teacher_a)
    r = client.post(url(world, day), data={f"status-{e.id}": m for e, m in zip(pupils, marks)}, follow_redirects=True)
    assert r.status_code == 200
    assert r.text.count('role="status"') == 1  # the one status message: what was saved
    assert "Saved: 2 present, 2 absent, 1 late." in r.text
    r = client.post(url(world, day), data={f"status-{e.id}": "present" for e in pupils}, follow_redirects=True)
    assert "Saved: 5 present, 0 absent, 0 late." in r.text


def test_the_history_shows_the_latest_correction_per_child_and_all_on_request(client, auth, world, day):
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    other = add_pupil(world, "Other", start=world.year.first_day)
    for status in ("present", "late", "absent_excused", "absent_unexcused", "present"):
        client.post(url(world, day), data={f"status-{e.id}": status, f"status-{other.id}": "present"})
    client.post(url(world, day), data={f"status-{e.id}": "present", f"status-{other.id}": "late"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceChange)) == 5
    page = client.get(url(world, day)).text
    mine, theirs = fieldset(page, e.id), fieldset(page, other.id)
    assert "Corrected 4 times" in mine and "Absent (unexcused) → Present" in mine
    assert "Present → Late" not in mine and "Late → Absent (excused)" not in mine  # only the latest
    assert "Corrected once" in theirs and "Present → Late" in theirs
    record = records(e.id, day)[0]
    show_all = f"{url(world, day)}?history={record.id}#pupil-{e.id}"
    assert f'href="{show_all}"' in mine and "Show all 4 corrections" in mine
    assert "Show all" not in theirs  # one correction: the latest is the whole history
    full = fieldset(client.get(f"{url(world, day)}?history={record.id}").text, e.id)
    assert [m for m in ("Present → Late", "Late → Absent (excused)", "Absent (excused) → Absent (unexcused)",
                        "Absent (unexcused) → Present") if m in full] == [
        "Present → Late", "Late → Absent (excused)", "Absent (excused) → Absent (unexcused)",
        "Absent (unexcused) → Present"]
    assert full.index("Present → Late") < full.index("Late → Absent (excused)")
    assert "Hide the history" in full
    # Another child's record id, or nonsense, shows no list and no error.
    assert client.get(f"{url(world, day)}?history=999999").status_code == 200
    assert client.get(f"{url(world, day)}?history=abc").status_code == 200


def test_the_register_page_reads_one_correction_per_child(app, client, auth, world, day):
    """However often a register was corrected, the page loads the latest change of each record only."""
    auth.login(world.teacher_a)
    e = world.child_a.open_enrolment
    for status in ["late", "present"] * 10:
        client.post(url(world, day), data={f"status-{e.id}": status})
    loaded = []

    @sa.event.listens_for(db.session, "loaded_as_persistent")
    def seen(session, instance):
        if isinstance(instance, AttendanceChange):
            loaded.append(instance.id)

    page_url, record_id = url(world, day), records(e.id, day)[0].id

    def forget_changes():
        for obj in list(db.session):
            if isinstance(obj, AttendanceChange):
                db.session.expunge(obj)
    try:
        forget_changes()
        page = client.get(page_url).text
        assert "Corrected 19 times" in page
        assert len(loaded) == 1
        loaded.clear()
        forget_changes()
        client.get(f"{page_url}?history={record_id}")
        assert len(loaded) == 19
    finally:
        sa.event.remove(db.session, "loaded_as_persistent", seen)


def test_todays_list_says_a_taken_register_still_needs_a_late_child(app, client, auth, world, day):
    """The list of the day's registers (here for ``day``, as the page does for today) tells a taken register with a
    child enrolled since apart from a complete one."""
    from werkzeug.datastructures import MultiDict

    from tracker.attendance import listing

    auth.login(world.teacher_a)
    first = world.child_a.open_enrolment
    assert client.post(url(world, day), data={f"status-{first.id}": "present"}).status_code == 302

    def incomplete():
        with app.test_request_context():
            form = listing.today_form(world.teacher_a, MultiDict())
            page = listing.todays_registers(world.teacher_a, day, form, MultiDict())
            assert [c.id for c, at in page.rows if at is not None] == [world.class_a.id]  # taken
            return world.class_a.id in page.extra["incomplete"]

    assert not incomplete()
    add_pupil(world, "Newcomer", start=day)
    assert incomplete()
