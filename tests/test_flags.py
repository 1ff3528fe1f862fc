"""Early warning: rules in SQL, refresh idempotent, flags clear by themselves, the follow-up page."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tracker.attendance.operations import upsert_records
from tracker.extensions import db
from tracker.flags.models import Flag, FollowUp
from tracker.flags.operations import refresh
from tracker.models import AcademicYear, Centre, CentreStay, Child, Enrolment, School, UascPeriod

FIRST, LAST = dt.date(2024, 9, 2), dt.date(2025, 6, 20)


def weekdays(start: dt.date, n: int) -> list[dt.date]:
    out, day = [], start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.fixture
def town(app, world):
    """A past school year with one school of liaison A; children with hand-made attendance."""
    year = AcademicYear(label="2024/25", first_day=FIRST, last_day=LAST)
    db.session.add(year)
    db.session.commit()
    return year


def pupil(world, year, code, sex="male", uasc="accompanied", born=dt.date(2012, 1, 1), statuses=(), start=FIRST,
          centre=None, enrol=True):
    c = Child(code=code, given_name=code, family_name="Test", name_key=code.lower(), sex=sex, birth_date=born,
              country="AFG", first_language="prs", legal_basis="public_task")
    c.uasc_periods.append(UascPeriod(status=uasc, start_date=dt.date(2024, 1, 1)))
    if centre is not None:
        c.centre_stays.append(CentreStay(centre=centre, start_date=dt.date(2024, 6, 1)))
    db.session.add(c)
    if enrol:
        e = Enrolment(child=c, school=world.school_a, year=year, level="primary", grade=5, start_date=start)
        db.session.add(e)
        db.session.flush()
        days = weekdays(start, len(statuses))
        upsert_records([{"enrolment_id": e.id, "date": d, "status": s} for d, s in zip(days, statuses)])
    db.session.commit()
    return c


def flags_of(child):
    return {f.rule: f for f in db.session.scalars(sa.select(Flag).where(Flag.child_id == child.id))}


def test_rules_raise_the_right_flags(app, world, town):
    as_of = weekdays(FIRST, 30)[-1]
    steady = pupil(world, town, "C-STEADY", statuses=["present"] * 30)
    run = pupil(world, town, "C-RUN", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    gone = pupil(world, town, "C-GONE", statuses=["present"] * 5 + ["absent_unexcused"] * 25)
    patchy = pupil(world, town, "C-PATCHY", statuses=(["present"] * 4 + ["absent_excused"]) * 6)  # 80 % recently
    silent = pupil(world, town, "C-SILENT", statuses=["present"] * 15)  # then 15 school days without a register
    waiting = pupil(world, town, "C-WAIT", centre=world.centre_a, enrol=False)
    counts = refresh(as_of)
    assert flags_of(steady) == {}
    assert set(flags_of(run)) == {"consecutive_absences", "chronic_absence"}  # 14 of the last 20 days
    assert flags_of(run)["consecutive_absences"].evidence == {"days": 6, "since": weekdays(FIRST, 25)[-1].isoformat()}
    assert set(flags_of(gone)) == {"consecutive_absences", "presumed_dropout", "chronic_absence"}
    assert set(flags_of(patchy)) == {"chronic_absence"}
    assert flags_of(patchy)["chronic_absence"].evidence == {"attended": 16, "recorded": 20}
    assert set(flags_of(silent)) == {"no_register"}
    assert flags_of(silent)["no_register"].evidence["days"] == 15
    assert set(flags_of(waiting)) == {"out_of_school"}
    assert counts["raised"] == 8


def test_refresh_twice_changes_nothing_and_flags_clear_themselves(app, world, town):
    days = weekdays(FIRST, 40)
    run = pupil(world, town, "C-RUN", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    refresh(days[29])
    before = [(f.id, f.status, f.evidence, f.last_seen_on) for f in db.session.scalars(sa.select(Flag))]
    counts = refresh(days[29])
    assert counts["raised"] == counts["cleared"] == counts["updated"] == 0
    assert [(f.id, f.status, f.evidence, f.last_seen_on) for f in db.session.scalars(sa.select(Flag))] == before
    e = run.enrolments[0]
    upsert_records([{"enrolment_id": e.id, "date": days[30], "status": "present"}])
    db.session.commit()
    refresh(days[30])
    flag = flags_of(run)["consecutive_absences"]
    assert flag.cleared_on == days[30] and flag.evidence["days"] == 6  # history kept
    refresh(days[30])
    assert len(db.session.scalars(sa.select(Flag).where(Flag.rule == "consecutive_absences")).all()) == 1


def test_follow_up_page_puts_uasc_girls_first_and_resolves(client, auth, world, town):
    as_of = weekdays(FIRST, 30)[-1]
    boy = pupil(world, town, "C-BOY", statuses=["present"] * 5 + ["absent_unexcused"] * 25)
    girl = pupil(world, town, "C-GIRL", sex="female", uasc="unaccompanied",
                 statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    refresh(as_of)
    auth.login(world.liaison_a)
    page = client.get("/follow-up/").text
    assert page.index("C-GIRL") < page.index("C-BOY")
    assert "absent 6 school days in a row since" in page
    flag = flags_of(girl)["consecutive_absences"]
    r = client.post(f"/follow-up/{flag.id}", data={"action": "follow_up", "f-kind": "home_visit",
                                                   "f-date": dt.date.today().isoformat(), "f-note": "Met her guardian",
                                                   "f-version": flag.version})
    assert r.status_code == 302
    r = client.post(f"/follow-up/{flag.id}", data={"action": "resolve", "r-outcome": "back_in_school",
                                                   "r-note": "Back on Monday", "r-version": flag.version})
    assert r.status_code == 302, r.text
    db.session.expire_all()
    assert flag.status == "resolved" and flag.outcome == "back_in_school"
    assert f'href="/follow-up/{flag.id}"' not in client.get("/follow-up/").text
    child_page = client.get(f"/children/{girl.code}").text
    assert "Home visit (centre)" in child_page and "Met her guardian" in child_page
    assert boy.code in client.get("/follow-up/").text


def test_stale_form_is_refused(client, auth, world, town):
    girl = pupil(world, town, "C-GIRL", sex="female", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    refresh(weekdays(FIRST, 30)[-1])
    flag = flags_of(girl)["consecutive_absences"]
    old = flag.version
    auth.login(world.liaison_a)
    client.post(f"/follow-up/{flag.id}", data={"action": "acknowledge", "version": old})
    r = client.post(f"/follow-up/{flag.id}", data={"action": "resolve", "r-outcome": "referred", "r-version": old})
    assert r.status_code == 400 and "changed this flag meanwhile" in r.text
    db.session.expire_all()
    assert flag.status == "acknowledged"


def test_teachers_see_but_do_not_act_and_others_get_404(client, auth, world, town):
    c = pupil(world, town, "C-RUN", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    c.enrolments[0].school_class = world.class_a
    db.session.commit()
    refresh(weekdays(FIRST, 30)[-1])
    flag = flags_of(c)["consecutive_absences"]
    auth.login(world.teacher_a)
    assert "C-RUN" in client.get("/follow-up/").text
    assert client.post(f"/follow-up/{flag.id}", data={"action": "acknowledge"}).status_code == 404
    auth.logout()
    auth.login(world.liaison_b)
    assert client.get(f"/follow-up/{flag.id}").status_code == 404
    assert "C-RUN" not in client.get("/follow-up/").text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


def test_thresholds_come_from_config(app, world, town):
    app.config["RISK_RULES"] = {"consecutive_absences": {"min_days": 10}}
    run = pupil(world, town, "C-RUN", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    refresh(weekdays(FIRST, 30)[-1])
    assert "consecutive_absences" not in flags_of(run)


def test_flags_refresh_command(runner, world, town):
    pupil(world, town, "C-RUN", statuses=["present"] * 24 + ["absent_unexcused"] * 6)
    result = runner.invoke(args=["flags", "refresh", "--as-of", weekdays(FIRST, 30)[-1].isoformat()])
    assert result.exit_code == 0 and "raised 2" in result.output
    again = runner.invoke(args=["flags", "refresh", "--as-of", weekdays(FIRST, 30)[-1].isoformat()])
    assert "raised 0" in again.output and "unchanged 2" in again.output
