"""Leaving Serbia is not being out of school: an exit moved onward or returned to origin ends the
centre stay (the form's box, ticked by default; always through the import), resolves the child's
flags with the exit as the outcome, and the indicator, the rule and the officer's home page never
count a child whose last known state is *left Serbia*, until they come back."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.flags.models import Flag
from tracker.indicators.compute import Params, compute
from tracker.models import AuditEvent, CentreStay, Child, Enrolment

# Each request ends its transaction, as in production (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("production_like_requests")

TODAY = dt.date.today()
HEADING = "Living in a centre, school age, not enrolled"
ENROLMENT_HEADER = "child_code,school_code,academic_year,level,grade,class_name,start_date,end_date,exit_reason\n"


def exit_day(world) -> dt.date:
    """A past school day of the current year, long enough after its start for a return to settle."""
    return world.year.first_day + dt.timedelta(days=10)


def child(code: str) -> Child:
    return db.session.scalar(sa.select(Child).where(Child.code == code))


def stays(code: str) -> list[tuple[str, dt.date, dt.date | None]]:
    return [(s.centre.code, s.start_date, s.end_date) for s in db.session.scalars(
        sa.select(CentreStay).join(Child).where(Child.code == code).order_by(CentreStay.start_date))]


def raise_flags(world, code: str) -> dict[str, Flag]:
    """An open, an acknowledged and an already cleared flag for the child."""
    cid = child(code).id
    day = world.year.first_day
    flags = {"open": Flag(child_id=cid, rule="chronic_absence", severity=2, evidence={"attended": 1, "recorded": 10},
                          raised_on=day, last_seen_on=day),
             "acknowledged": Flag(child_id=cid, rule="consecutive_absences", severity=2, status="acknowledged",
                                  evidence={"days": 5, "since": day.isoformat()}, raised_on=day, last_seen_on=day),
             "cleared": Flag(child_id=cid, rule="no_register", severity=1, evidence={"days": 10, "last": None},
                             raised_on=day, last_seen_on=day, cleared_on=day + dt.timedelta(days=3))}
    db.session.add_all(flags.values())
    db.session.commit()
    return flags


def active_rules(code: str) -> set[str]:
    return set(db.session.scalars(sa.select(Flag.rule).join(Child, Child.id == Flag.child_id).where(
        Child.code == code, Flag.cleared_on.is_(None), Flag.status != "resolved")))


def out_of_school(as_of: dt.date = TODAY) -> tuple[int, int]:
    """The partners' figure: (out of school, school-age children living in a centre)."""
    rows = [r for r in compute(Params(frm=as_of - dt.timedelta(days=30), to=as_of, as_of=as_of))
            if r["indicator"] == "out_of_school"]
    return (rows[0]["numerator"], rows[0]["denominator"]) if rows else (0, 0)


def waiting_list(client) -> str:
    """The officer's home page list of children living in a centre and not enrolled."""
    page = client.get("/").text
    return page[page.index(HEADING):]


def refresh(runner) -> None:
    result = runner.invoke(args=["flags", "refresh", "--as-of", TODAY.isoformat()])
    assert result.exit_code == 0, result.output


def post_exit(client, world, reason: str, *, end_stay: bool, day: dt.date | None = None):
    data = {"end_date": (day or exit_day(world)).isoformat(), "reason": reason, "note": ""}
    if end_stay:
        data["end_stay"] = "y"
    return client.post("/children/C-AAAAAA/exit", data=data)


def test_the_form_offers_the_box_ticked_and_says_what_it_does(client, auth, world):
    auth.login(world.liaison_a)
    page = client.get("/children/C-AAAAAA/exit").text
    box = re.search(r'<input[^>]*name="end_stay"[^>]*>', page).group(0)
    assert 'type="checkbox"' in box and re.search(r"\bchecked\b", box)
    assert '<label for="end_stay">The child left Serbia: end the centre stay on this date</label>' in page
    assert 'aria-describedby="end_stay-hint"' in page
    assert "Counts only for “Moved onward (left Serbia)” and “Returned to country of origin”" in page
    assert "the stay at Krnjača ends on the last day at school" in page


@pytest.mark.parametrize("reason", ["moved_onward", "returned_to_origin"])
def test_an_exit_on_the_page_ends_the_stay_resolves_the_flags_and_stops_the_counting(client, auth, runner, world,
                                                                                     reason):
    flags = raise_flags(world, "C-AAAAAA")
    start = world.year.first_day - dt.timedelta(days=60)
    assert out_of_school() == (0, 2)
    auth.login(world.liaison_a)
    r = post_exit(client, world, reason, end_stay=True)
    assert r.status_code == 302, r.text
    assert stays("C-AAAAAA") == [("KRN", start, exit_day(world))]
    db.session.expire_all()
    assert flags["open"].status == flags["acknowledged"].status == "resolved"
    assert {flags["open"].outcome, flags["acknowledged"].outcome} == {"exit_recorded"}
    assert {flags["open"].resolved_by_id, flags["acknowledged"].resolved_by_id} == {world.liaison_a.id}
    assert flags["open"].resolved_at is not None
    assert flags["cleared"].status == "open" and flags["cleared"].outcome == ""  # cleared before: left as it was
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.user_id == world.liaison_a.id)).all()
    assert actions.count("flag_resolved") == 2 and actions.count("centre_changed") == 1
    refresh(runner)
    assert active_rules("C-AAAAAA") == set()
    assert "C-AAAAAA" not in waiting_list(client)
    assert out_of_school() == (0, 1)  # Zahra, enrolled; Ahmad is neither out of school nor in a centre


def test_with_the_box_unticked_the_stay_stays_open_but_the_child_is_not_out_of_school(client, auth, runner, world):
    flags = raise_flags(world, "C-AAAAAA")
    auth.login(world.liaison_a)
    r = post_exit(client, world, "moved_onward", end_stay=False)
    assert r.status_code == 302, r.text
    assert stays("C-AAAAAA") == [("KRN", world.year.first_day - dt.timedelta(days=60), None)]
    db.session.expire_all()
    assert flags["open"].status == "resolved" and flags["open"].outcome == "exit_recorded"
    refresh(runner)
    assert "out_of_school" not in active_rules("C-AAAAAA")
    assert not db.session.scalar(sa.select(Flag).where(Flag.child_id == world.child_a.id,
                                                       Flag.rule == "out_of_school"))
    assert "C-AAAAAA" not in waiting_list(client)
    assert out_of_school() == (0, 1)


def test_an_exit_today_with_the_box_unticked_is_not_on_the_home_page_list(client, auth, runner, world):
    auth.login(world.liaison_a)
    assert post_exit(client, world, "moved_onward", end_stay=False, day=TODAY).status_code == 302
    assert "C-AAAAAA" not in waiting_list(client)
    refresh(runner)
    assert "out_of_school" not in active_rules("C-AAAAAA")
    assert out_of_school() == (0, 2)  # on the last day at school the child is still enrolled


def test_the_box_does_nothing_for_other_reasons(client, auth, runner, world):
    flags = raise_flags(world, "C-AAAAAA")
    auth.login(world.liaison_a)
    r = post_exit(client, world, "dropped_out", end_stay=True)
    assert r.status_code == 302, r.text
    assert stays("C-AAAAAA")[-1][2] is None
    db.session.expire_all()
    assert flags["open"].status == "open"
    refresh(runner)
    assert "out_of_school" in active_rules("C-AAAAAA")
    assert "C-AAAAAA" in waiting_list(client)
    assert out_of_school() == (1, 2)


def test_the_import_always_ends_the_stay_and_resolves_the_flags(runner, client, auth, world, tmp_path):
    flags = raise_flags(world, "C-AAAAAA")
    first, end = world.year.first_day, exit_day(world)
    path = tmp_path / "enrolments.csv"
    path.write_text(ENROLMENT_HEADER + f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{first},{end},moved_onward\n",
                    encoding="utf-8")
    result = runner.invoke(args=["import", "enrolments", str(path), "--as", "liaison.a@example.org"])
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated" in result.output
    assert stays("C-AAAAAA") == [("KRN", first - dt.timedelta(days=60), end)]
    db.session.expire_all()
    assert flags["open"].status == flags["acknowledged"].status == "resolved"
    assert {flags["open"].outcome, flags["acknowledged"].outcome} == {"exit_recorded"}
    assert flags["open"].resolved_by_id == world.liaison_a.id
    refresh(runner)
    assert active_rules("C-AAAAAA") == set()
    auth.login(world.liaison_a)
    assert "C-AAAAAA" not in waiting_list(client)
    assert out_of_school() == (0, 1)


def test_a_child_who_left_and_came_back_to_a_centre_counts_again(client, auth, runner, world):
    auth.login(world.liaison_a)
    assert post_exit(client, world, "moved_onward", end_stay=True).status_code == 302
    back = exit_day(world) + dt.timedelta(days=10)
    r = client.post("/children/C-AAAAAA/centre", data={"centre": "KRN", "since": back.isoformat()})
    assert r.status_code == 302, r.text
    assert stays("C-AAAAAA")[-1] == ("KRN", back, None)
    refresh(runner)
    assert "out_of_school" in active_rules("C-AAAAAA")
    assert "C-AAAAAA" in waiting_list(client)
    assert out_of_school() == (1, 2)
    # As of a day before the return the child had left.
    assert out_of_school(back - dt.timedelta(days=1)) == (0, 1)


def test_a_child_who_came_back_to_school_and_dropped_out_counts_again(client, auth, runner, world):
    """The box unticked: the old stay stays open; the later enrolment says the child is in Serbia again."""
    from tracker.enrolment.operations import enrol, exit_enrolment

    auth.login(world.liaison_a)
    assert post_exit(client, world, "moved_onward", end_stay=False).status_code == 302
    again = exit_day(world) + dt.timedelta(days=20)
    a = child("C-AAAAAA")
    enrol(a, world.school_a, "primary", 5, again, user=world.liaison_a)
    db.session.commit()
    assert out_of_school() == (0, 2)
    exit_enrolment(child("C-AAAAAA"), again + dt.timedelta(days=10), "dropped_out", user=world.liaison_a)
    db.session.commit()
    refresh(runner)
    assert "out_of_school" in active_rules("C-AAAAAA")
    assert "C-AAAAAA" in waiting_list(client)
    assert out_of_school() == (1, 2)


def test_an_old_leaving_exit_does_not_end_the_stay_of_a_child_who_came_back(runner, world, tmp_path):
    """An import of history: the exit is followed by a later enrolment, so it is not the child's last news."""
    first, end = world.year.first_day, exit_day(world)
    path = tmp_path / "enrolments.csv"
    path.write_text(ENROLMENT_HEADER
                    + f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{first},{end},moved_onward\n"
                    + f"C-AAAAAA,SA001,{world.year.label},primary,5,5-1,{end + dt.timedelta(days=30)},,\n",
                    encoding="utf-8")
    result = runner.invoke(args=["import", "enrolments", str(path), "--as", "liaison.a@example.org"])
    assert result.exit_code == 0, result.output
    assert stays("C-AAAAAA")[-1][2] is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
        Enrolment.child_id == world.child_a.id, Enrolment.end_date.is_(None))) == 1
    assert out_of_school() == (0, 2)


def test_the_reasons_on_the_exit_form_are_in_the_officers_language(client, auth, world):
    """The reasons (and the box's hint naming them) are translated per request, not once at start-up."""
    from tests.test_translations import _compile_if_needed
    from tracker.extensions import babel

    _compile_if_needed()
    babel.domain_instance.cache.clear()
    auth.login(world.liaison_a)
    page = client.get("/children/C-AAAAAA/exit", headers={"Accept-Language": "sr-Latn"}).text
    assert "Nastavak puta (napuštanje Srbije)" in page and "Povratak u zemlju porekla" in page
    assert "Moved onward (left Serbia)" not in page
    page = client.get("/children/C-AAAAAA/exit", headers={"Accept-Language": "en"}).text
    assert "Moved onward (left Serbia)" in page
