"""Correcting what was recorded: a child's details, an enrolment's dates, grade and class, a wrong exit.
Every earlier value is kept in the history the child's page shows; the audit log names fields only."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.conftest import count
from tests.summaries import rebuilt, stored_summary
from tracker.attendance.models import AttendanceMonth
from tracker.extensions import db
from tracker.indicators.compute import Params, compute
from tracker.models import AuditEvent, CentreStay, Child, Enrolment, Guardian, RecordChange, SchoolClass
from tracker.types import Level


def form_of(child, **overrides) -> dict:
    """The correction form as it opens for ``child``, with ``overrides`` typed in."""
    guardian = next((g for g in child.guardians if g.end_date is None), None)
    data = {
        "given_name": child.given_name, "family_name": child.family_name, "name_original": child.name_original,
        "sex": child.sex.value, "birth_date": child.birth_date.isoformat(), "country": child.country,
        "first_language": child.first_language,
        "arrival_date": child.arrival_date.isoformat() if child.arrival_date else "",
        "temporary_id": child.temporary_id or "", "asylum_number": child.asylum_number or "",
        "guardian_name": guardian.name if guardian else "", "guardian_organisation": guardian.organisation if guardian
        else "", "guardian_phone": guardian.phone if guardian else "", "version": str(child.version),
    }
    if child.birth_date_estimated:
        data["birth_date_estimated"] = "y"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit(client, child, **overrides):
    return client.post(f"/children/{child.code}/edit", data=form_of(child, **overrides))


def history(child) -> list[tuple]:
    return [(c.object_type, c.field, c.old_value, c.new_value) for c in db.session.scalars(
        sa.select(RecordChange).where(RecordChange.child_id == child.id).order_by(RecordChange.id))]


def test_officer_corrects_every_detail_and_the_page_shows_the_earlier_values(client, auth, world):
    child = world.child_a
    born = child.birth_date
    auth.login(world.liaison_a)
    page = client.get(f"/children/{child.code}")
    assert page.status_code == 200 and f'href="/children/{child.code}/edit"' in page.text
    assert "No corrections." in page.text
    opened = client.get(f"/children/{child.code}/edit")
    assert opened.status_code == 200 and 'value="Ahmad"' in opened.text
    r = edit(client, child, given_name="Ahmed", family_name="Rahimy", name_original="احمد رحیمی", sex="female",
             birth_date=(born - dt.timedelta(days=400)).isoformat(), birth_date_estimated="y", country="IRN",
             first_language="fas", arrival_date=(born + dt.timedelta(days=3000)).isoformat(),
             temporary_id="T-123", asylum_number="AS-9")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/children/{child.code}")
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert (child.given_name, child.family_name, child.name_original, child.sex.value, child.country,
            child.first_language, child.temporary_id, child.asylum_number) == (
        "Ahmed", "Rahimy", "احمد رحیمی", "female", "IRN", "fas", "T-123", "AS-9")
    assert child.birth_date == born - dt.timedelta(days=400) and child.birth_date_estimated
    assert child.name_key.startswith("ahmed rahimy")  # the name search follows the corrected names
    assert {f for _t, f, _o, _n in history(child)} == {
        "given_name", "family_name", "name_original", "sex", "birth_date", "birth_date_estimated", "country",
        "first_language", "arrival_date", "temporary_id", "asylum_number"}
    assert ("child", "given_name", "Ahmad", "Ahmed") in history(child)
    assert ("child", "birth_date", born.isoformat(), child.birth_date.isoformat()) in history(child)
    assert ("child", "temporary_id", None, "T-123") in history(child)
    assert client.post("/children/", data={"q": "rahimy"}).text.count(child.code) >= 1

    page = client.get(f"/children/{child.code}").text
    section = page[page.index("History of corrections"):]
    assert "Given name (Latin script)" in section and "Ahmad" in section and "Ahmed" in section
    assert "Birth date" in section and f"{born:%b} {born.day}, {born.year}" in section  # the locale's date format
    assert "Country of origin" in section and "Afghanistan" in section and "Iran" in section
    assert "liaison.a" in section  # who corrected it
    assert "11 earlier values kept" in section


def test_the_history_is_in_the_readers_language(client, auth, world):
    auth.login(world.liaison_a)
    assert edit(client, world.child_a, sex="female").status_code == 302
    page = client.get(f"/children/{world.child_a.code}", headers={"Accept-Language": "sr-Latn"}).text
    section = page[page.index('id="h-corrections"'):]
    assert "Sex" not in section and "Male" not in section


def test_nothing_changed_writes_no_history(client, auth, world):
    auth.login(world.admin)
    r = edit(client, world.child_a)
    assert r.status_code == 302
    assert count(RecordChange) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "child_corrected")) == 0


def test_the_current_guardian_is_corrected_in_place_and_kept(client, auth, world):
    child = world.child_b  # unaccompanied, no guardian on record yet
    auth.login(world.liaison_b)
    r = edit(client, child)
    assert r.status_code == 400 and "legal guardian" in r.text
    assert count(Guardian) == 0
    assert edit(client, child, guardian_name="Jelena Petrović", guardian_phone="011 123").status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert edit(client, child, guardian_name="Jelena Petrovic", guardian_organisation="CSR Subotica"
                ).status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert [(g.name, g.organisation, g.phone) for g in child.guardians] == [("Jelena Petrovic", "CSR Subotica",
                                                                             "011 123")]
    assert ("guardian", "guardian_name", "Jelena Petrović", "Jelena Petrovic") in history(child)
    assert ("guardian", "guardian_organisation", None, "CSR Subotica") in history(child)
    r = edit(client, child, guardian_name="")
    assert r.status_code == 400 and "guardian" in r.text
    db.session.expire_all()
    assert db.session.get(Child, child.id).guardians[0].name == "Jelena Petrovic"


def test_a_child_out_of_scope_is_not_found(client, auth, world):
    auth.login(world.liaison_b)
    assert client.get(f"/children/{world.child_a.code}/edit").status_code == 404
    assert edit(client, world.child_a, given_name="X").status_code == 404
    e = world.child_a.enrolments[0]
    assert client.get(f"/children/{world.child_a.code}/enrolments/{e.id}/correct").status_code == 404
    assert client.post(f"/children/{world.child_a.code}/enrolments/{e.id}/undo-exit").status_code == 404
    # Another child's enrolment under this child's code: not found either.
    auth.logout()
    auth.login(world.liaison_a)
    other = world.child_b.enrolments[0]
    assert client.get(f"/children/{world.child_a.code}/enrolments/{other.id}/correct").status_code == 404
    db.session.expire_all()
    assert db.session.get(Child, world.child_a.id).given_name == "Ahmad" and count(RecordChange) == 0


@pytest.mark.parametrize("who", ["teacher_a", "partner", "liaison_none"])
def test_teachers_and_partners_cannot_correct(client, auth, world, who):
    auth.login(getattr(world, who))
    if who == "teacher_a":  # sees the child, is offered no correction
        page = client.get(f"/children/{world.child_a.code}")
        assert page.status_code == 200 and "/edit" not in page.text and "/correct" not in page.text
    assert client.get(f"/children/{world.child_a.code}/edit").status_code == 404
    assert edit(client, world.child_a, given_name="X").status_code == 404
    e = world.child_a.enrolments[0]
    assert client.post(f"/children/{world.child_a.code}/enrolments/{e.id}/correct",
                       data={"start_date": e.start_date.isoformat(), "grade": "6"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Child, world.child_a.id).given_name == "Ahmad" and count(RecordChange) == 0


def test_a_stale_form_is_refused_with_nothing_lost(client, auth, world):
    child = world.child_a
    stale = form_of(child, given_name="Ahmet", temporary_id="T-1")
    auth.login(world.admin)
    assert edit(client, child, family_name="Rahimi-Karimi").status_code == 302  # someone else saves meanwhile
    before = (count(RecordChange), count(AuditEvent))
    auth.logout()
    auth.login(world.liaison_a)
    r = client.post(f"/children/{child.code}/edit", data=stale)
    assert r.status_code == 409
    assert "Someone else saved this child" in r.text
    assert 'value="Ahmet"' in r.text and 'value="T-1"' in r.text  # what the officer typed is kept
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert (child.given_name, child.family_name, child.temporary_id) == ("Ahmad", "Rahimi-Karimi", None)
    assert count(RecordChange) == before[0]
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "child_corrected")) == 1
    # The page carries the record's version now: saving it again applies the officer's entries.
    version = re.search(r'name="version" type="hidden" value="(\d+)"|type="hidden" name="version" value="(\d+)"'
                        r'|id="version" name="version" type="hidden" value="(\d+)"', r.text)
    assert version is not None
    assert int(next(g for g in version.groups() if g)) == child.version
    again = {**stale, "version": str(child.version)}
    assert client.post(f"/children/{child.code}/edit", data=again).status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert (child.given_name, child.family_name, child.temporary_id) == ("Ahmet", "Rahimi", "T-1")


def test_a_stale_operation_writes_nothing(app, world):
    from tracker.children.operations import StaleRecord, correct_child

    with pytest.raises(StaleRecord):
        correct_child(world.child_a, {"given_name": "Ahmet"}, version=world.child_a.version - 1)
    db.session.rollback()
    assert db.session.get(Child, world.child_a.id).given_name == "Ahmad" and count(RecordChange) == 0


def test_the_audit_event_names_the_fields_never_the_values(client, auth, world):
    auth.login(world.liaison_a)
    new_birth = world.child_a.birth_date - dt.timedelta(days=31)
    assert edit(client, world.child_a, given_name="Zmaragd", birth_date=new_birth.isoformat()).status_code == 302
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "child_corrected")).one()
    assert (event.object_type, event.object_id, event.user_id) == ("child", "C-AAAAAA", world.liaison_a.id)
    assert sorted(event.fields.split(",")) == ["birth_date", "given_name"]
    for e in db.session.scalars(sa.select(AuditEvent)):
        text = " ".join(str(getattr(e, c.name)) for c in AuditEvent.__table__.columns)
        for value in ("Zmaragd", "Ahmad", new_birth.isoformat(), world.child_a.birth_date.isoformat()):
            assert value not in text


@pytest.mark.parametrize("field,value,message", [
    ("birth_date", (dt.date.today() + dt.timedelta(days=1)).isoformat(), "cannot be in the future"),
    ("birth_date", "2020-13-45", "Not a valid date value"),
    ("given_name", "  ", "This field is required"),
    ("country", "XXX", "Not a valid choice"),
    ("arrival_date", "1990-01-01", "between the birth date and today"),
    ("given_name", "Ah\x00mad", "control characters"),
])
def test_bad_input_is_refused_and_nothing_written(client, auth, world, field, value, message):
    auth.login(world.liaison_a)
    r = edit(client, world.child_a, **{field: value, "family_name": "Changed"})
    assert r.status_code == 400 and message in r.text
    db.session.expire_all()
    child = db.session.get(Child, world.child_a.id)
    assert (child.family_name, child.version) == ("Rahimi", world.child_a.version)
    assert count(RecordChange) == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "child_corrected")) == 0


def test_a_birth_date_after_the_first_day_at_school_is_refused(client, auth, world):
    auth.login(world.liaison_a)
    late = world.year.first_day + dt.timedelta(days=1)
    r = edit(client, world.child_a, birth_date=late.isoformat())
    assert r.status_code == 400 and "first day at school" in r.text
    assert count(RecordChange) == 0


# --- Enrolments ---------------------------------------------------------------------------------

def school_days(world, n: int) -> list[dt.date]:
    day, out = world.year.first_day, []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    assert out[-1] < dt.date.today(), "the test needs school days behind today"
    return out


def take_registers(world, days) -> None:
    from tracker.attendance.operations import save_register

    enrolment = world.child_a.open_enrolment
    for i, day in enumerate(days):
        save_register(world.class_a, day, {enrolment.id: {"status": "absent_unexcused" if i % 2 else "present"}},
                      user=world.teacher_a)
    db.session.commit()


def indicators(world) -> list[dict]:
    today = dt.date.today()
    return compute(Params(frm=world.year.first_day, to=min(world.year.last_day, today), as_of=today, by=["sex"]))


def assert_figures_match_a_rebuild(world) -> None:
    db.session.expire_all()
    kept, figures = stored_summary(), indicators(world)
    after_rebuild, refigured = rebuilt(lambda: (stored_summary(), indicators(world)))
    assert kept == after_rebuild
    assert figures == refigured


def recorded(enrolment_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(AttendanceMonth.recorded), 0))
                             .where(AttendanceMonth.enrolment_id == enrolment_id))


def test_correcting_the_start_date_moves_the_attendance_figures_as_a_rebuild(client, auth, world):
    days = school_days(world, 8)
    take_registers(world, days)
    enrolment = world.child_a.open_enrolment
    assert recorded(enrolment.id) == 8
    before = indicators(world)
    auth.login(world.liaison_a)
    page = client.get(f"/children/{world.child_a.code}")
    assert f"/children/{world.child_a.code}/enrolments/{enrolment.id}/correct" in page.text
    form = client.get(f"/children/{world.child_a.code}/enrolments/{enrolment.id}/correct")
    assert form.status_code == 200 and "end_date" not in form.text  # an open enrolment ends with an exit
    r = client.post(f"/children/{world.child_a.code}/enrolments/{enrolment.id}/correct",
                    data={"start_date": days[5].isoformat(), "grade": "5", "class_id": str(world.class_a.id)})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).start_date == days[5]
    assert recorded(enrolment.id) == 3  # the registers before the corrected start no longer count
    assert_figures_match_a_rebuild(world)
    assert indicators(world) != before
    assert ("enrolment", "start_date", world.year.first_day.isoformat(), days[5].isoformat()) in history(world.child_a)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "enrolment_corrected")).one()
    assert event.fields == "start_date"
    # Back to the first day: every register counts again.
    r = client.post(f"/children/{world.child_a.code}/enrolments/{enrolment.id}/correct",
                    data={"start_date": days[0].isoformat(), "grade": "5", "class_id": str(world.class_a.id)})
    assert r.status_code == 302 and recorded(enrolment.id) == 8
    assert_figures_match_a_rebuild(world)
    page = client.get(f"/children/{world.child_a.code}").text
    assert "First day at school" in page[page.index("History of corrections"):]


def test_correcting_the_end_date_of_an_exit_moves_the_figures(client, auth, world):
    from tracker.enrolment.operations import exit_enrolment

    days = school_days(world, 6)
    take_registers(world, days)
    enrolment = world.child_a.open_enrolment
    exit_enrolment(world.child_a, days[1], "dropped_out", user=world.liaison_a)
    db.session.commit()
    assert recorded(enrolment.id) == 2
    auth.login(world.liaison_a)
    r = client.post(f"/children/{world.child_a.code}/enrolments/{enrolment.id}/correct",
                    data={"start_date": enrolment.start_date.isoformat(), "end_date": days[4].isoformat(),
                          "grade": "5", "class_id": str(world.class_a.id)})
    assert r.status_code == 302
    assert recorded(enrolment.id) == 5
    assert_figures_match_a_rebuild(world)


def test_grade_and_class_are_corrected_with_the_placement_rules(client, auth, world):
    other = SchoolClass(school=world.school_a, year=world.year, level=Level.primary, grade=6, name="6-2")
    db.session.add(other)
    db.session.commit()
    e = world.child_a.open_enrolment
    url = f"/children/{world.child_a.code}/enrolments/{e.id}/correct"
    auth.login(world.liaison_a)
    assert "6-2" in client.get(url).text
    r = client.post(url, data={"start_date": e.start_date.isoformat(), "grade": "5", "class_id": str(other.id)})
    assert r.status_code == 400 and "same school, year, level and grade" in r.text
    r = client.post(url, data={"start_date": e.start_date.isoformat(), "grade": "6", "class_id": str(other.id)})
    assert r.status_code == 302
    db.session.expire_all()
    e = db.session.get(Enrolment, e.id)
    assert (e.grade, e.class_id) == (6, other.id)
    assert ("enrolment", "class_id", str(world.class_a.id), str(other.id)) in history(world.child_a)
    page = client.get(f"/children/{world.child_a.code}").text
    section = page[page.index("History of corrections"):]
    assert "5-1" in section and "6-2" in section and "Grade" in section


def test_bad_enrolment_corrections_are_refused_and_nothing_written(client, auth, world):
    from tracker.enrolment.operations import exit_enrolment

    first = world.year.first_day
    exit_enrolment(world.child_a, first + dt.timedelta(days=10), "dropped_out")
    db.session.commit()
    e = world.child_a.enrolments[0]
    url = f"/children/{world.child_a.code}/enrolments/{e.id}/correct"
    auth.login(world.liaison_a)
    base = {"start_date": e.start_date.isoformat(), "end_date": e.end_date.isoformat(), "grade": "5",
            "class_id": str(world.class_a.id)}
    for changes, message in [
        ({"end_date": (first - dt.timedelta(days=1)).isoformat()}, "before the enrolment started"),
        ({"end_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ({"start_date": (first - dt.timedelta(days=200)).isoformat()}, "academic year"),
        ({"grade": "9"}, "Number must be between"),
        ({"grade": "6"}, "same school, year, level and grade"),
        ({"end_date": ""}, "undo the exit"),
        ({"start_date": "not a date"}, "Not a valid date value"),
    ]:
        r = client.post(url, data={**base, **changes})
        assert r.status_code == 400 and message in r.text, (changes, r.status_code)
    db.session.expire_all()
    e = db.session.get(Enrolment, e.id)
    assert (e.start_date, e.end_date, e.grade) == (first, first + dt.timedelta(days=10), 5)
    assert count(RecordChange) == 0


def test_corrected_dates_may_not_overlap_another_enrolment(client, auth, world):
    from tracker.enrolment.operations import enrol, exit_enrolment

    first = world.year.first_day
    exit_enrolment(world.child_a, first + dt.timedelta(days=10), "dropped_out")
    enrol(world.child_a, world.school_a, "primary", 5, first + dt.timedelta(days=20), school_class=world.class_a)
    db.session.commit()
    old = world.child_a.enrolments[0]
    auth.login(world.liaison_a)
    r = client.post(f"/children/{world.child_a.code}/enrolments/{old.id}/correct",
                    data={"start_date": first.isoformat(), "end_date": (first + dt.timedelta(days=25)).isoformat(),
                          "grade": "5", "class_id": str(world.class_a.id)})
    assert r.status_code == 400 and "overlap" in r.text
    db.session.expire_all()
    assert db.session.get(Enrolment, old.id).end_date == first + dt.timedelta(days=10)


def test_undo_exit_reopens_the_enrolment_and_the_stay_it_ended(client, auth, world):
    days = school_days(world, 6)
    take_registers(world, days)
    child = world.child_a
    enrolment = child.open_enrolment
    auth.login(world.liaison_a)
    r = client.post(f"/children/{child.code}/exit", data={"end_date": days[2].isoformat(), "reason": "moved_onward",
                                                          "end_stay": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(CentreStay, child.centre_stays[0].id).end_date == days[2]
    assert recorded(enrolment.id) == 3
    page = client.get(f"/children/{child.code}").text
    url = f"/children/{child.code}/enrolments/{enrolment.id}/undo-exit"
    assert url in page and "Undo exit" in page
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Undo the exit" in confirm.text
    r = client.post(url)
    assert r.status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    e = db.session.get(Enrolment, enrolment.id)
    assert (e.end_date, e.exit_reason, e.closed_at) == (None, None, None)
    assert child.current_stay is not None and child.current_stay.centre.code == "KRN"
    assert recorded(enrolment.id) == 6  # the registers after the wrong exit count again
    assert_figures_match_a_rebuild(world)
    assert ("enrolment", "end_date", days[2].isoformat(), None) in history(child)
    assert ("enrolment", "exit_reason", "moved_onward", None) in history(child)
    assert ("centre_stay", "end_date", days[2].isoformat(), None) in history(child)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "exit_undone")).one()
    assert event.object_id == str(enrolment.id) and "moved_onward" not in (event.fields or "")
    page = client.get(f"/children/{child.code}").text
    assert "Undo exit" not in page and "Moved onward (left Serbia)" in page[page.index("History of corrections"):]
    # Nothing left to undo: refused, nothing written.
    before = count(RecordChange)
    r = client.post(url)
    assert r.status_code == 400 and "no exit to undo" in r.text and count(RecordChange) == before


def test_undo_exit_keeps_a_stay_that_began_since(client, auth, world):
    from tracker.children.operations import move_centre
    from tracker.enrolment.operations import exit_enrolment

    days = school_days(world, 4)
    child = world.child_a
    exit_enrolment(child, days[1], "moved_onward", user=world.liaison_a)
    move_centre(child, world.centre_b, days[3])
    db.session.commit()
    auth.login(world.liaison_a)
    r = client.post(f"/children/{child.code}/enrolments/{child.enrolments[0].id}/undo-exit")
    assert r.status_code == 302
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert [(s.centre.code, s.end_date) for s in child.centre_stays] == [("KRN", days[1]), ("SUB", None)]
    assert child.open_enrolment is not None


def test_only_the_latest_exit_can_be_undone_and_never_a_transfer(client, auth, world):
    from tracker.enrolment.operations import enrol, exit_enrolment, transfer

    first = world.year.first_day
    child = world.child_a
    exit_enrolment(child, first + dt.timedelta(days=5), "dropped_out")
    enrol(child, world.school_a, "primary", 5, first + dt.timedelta(days=10), school_class=world.class_a)
    transfer(child, world.school_b, first + dt.timedelta(days=20))
    db.session.commit()
    dropped, moved, _now = child.enrolments
    auth.login(world.admin)
    page = client.get(f"/children/{child.code}").text
    assert "Undo exit" not in page
    for e, message in ((dropped, "only the latest exit"), (moved, "transfer cannot be undone")):
        r = client.post(f"/children/{child.code}/enrolments/{e.id}/undo-exit")
        assert r.status_code == 400 and message in r.text
    assert count(RecordChange) == 0
