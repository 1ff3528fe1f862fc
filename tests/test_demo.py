"""`tracker demo`: a realistic, reproducible population that keeps every invariant."""
from __future__ import annotations

import datetime as dt
import itertools
import shutil
from dataclasses import dataclass

import pycountry
import pytest
import sqlalchemy as sa
from flask import current_app

from tests.conftest import BACKENDS, base_config, count
from tracker import create_app
from tracker.children.names import name_key
from tracker.demo.builder import Planner
from tracker.demo.calendar import YEARS, non_school_days, orthodox_easter
from tracker.extensions import db
from tracker.models import (AcademicYear, AttendanceMonth, AttendanceRecord, AuditEvent, Centre, CentreStay, Child,
                            Enrolment, Guardian, NonSchoolDay, School, SchoolClass, UascPeriod, User)
from tracker.types import ExitReason, Level, Role

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
ARGS = ["demo", "--children", "120", "--seed", "7"]
_databases = itertools.count()
MODELS = [AcademicYear, NonSchoolDay, Centre, School, SchoolClass, User, Child, CentreStay, UascPeriod, Guardian,
          Enrolment, AttendanceRecord, AttendanceMonth]


def counts() -> dict:
    return {m.__name__: count(m) for m in MODELS}


def scalar(sql: str, **params):
    return db.session.execute(sa.text(sql), params).scalar()


@dataclass
class Built:
    app: object
    result: object


@pytest.fixture(scope="module", params=BACKENDS)
def built(request, tmp_path_factory):
    """The demo built once per backend for the tests that only read it (each build takes seconds)."""
    server = name = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "tracker.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"demo_{next(_databases)}"
        server.execute(f"CREATE DATABASE {name} TEMPLATE tracker_template")
        url = server.url(name)
    app = create_app(base_config(url))
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=ARGS)
        db.session.remove()
    yield Built(app, result)
    with app.app_context():
        db.engine.dispose()
    if server is not None:
        server.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def demo(built):
    assert built.result.exit_code == 0, built.result.output + repr(built.result.exception)
    with built.app.app_context():
        yield built.result
        db.session.remove()


def test_the_population_has_the_expected_shape(demo):
    assert 5 <= count(Centre) <= 7 and count(School) == 30 and count(Child) == 120
    assert {y.label for y in db.session.scalars(sa.select(AcademicYear))} == {"2025/26", "2026/27"}
    users = {u.email: u.role for u in db.session.scalars(sa.select(User))}
    assert users == {"admin@demo.tracker": Role.admin, "liaison@demo.tracker": Role.liaison,
                     "teacher@demo.tracker": Role.teacher, "partner@demo.tracker": Role.partner}
    girls = scalar("SELECT count(*) FROM child WHERE sex = 'female'")
    assert 25 <= girls <= 55  # about a third of 120
    uasc = db.session.execute(sa.select(Child.id, Child.sex).join(UascPeriod)
                              .where(UascPeriod.status != "accompanied").distinct()).all()
    assert 5 <= len(uasc) <= 35 and sum(sex == "male" for _id, sex in uasc) > len(uasc) / 2
    # Codes, countries and languages are well-formed; the search key matches the names.
    children = db.session.scalars(sa.select(Child)).all()
    for c in children:
        assert len(c.code) == 8 and c.code.startswith("C-") and set(c.code[2:]) <= set(CODE_ALPHABET)
        assert pycountry.countries.get(alpha_3=c.country) is not None
        assert pycountry.languages.get(alpha_3=c.first_language) is not None
        assert c.name_key == name_key(c.given_name, c.family_name, c.name_original)
    assert {"AFG", "SYR"} <= {c.country for c in children}
    arabic_script = [c for c in children if any("\u0600" <= ch <= "\u06ff" for ch in c.name_original)]
    assert len(arabic_script) > 30
    assert any(c.birth_date_estimated for c in children) and not all(c.birth_date_estimated for c in children)


def test_the_output_lists_the_logins(demo):
    password = current_app.config["DEMO_PASSWORD"]
    for role in ("admin", "liaison", "teacher", "partner"):
        assert f"{role}@demo.tracker" in demo.output
    assert f"Sign in at http://127.0.0.1:5000 as liaison@demo.tracker / {password}" in demo.output
    assert "120 children" in demo.output
    user = db.session.scalar(sa.select(User).where(User.email == "teacher@demo.tracker"))
    assert user.check_password(password)
    users = db.session.scalars(sa.select(User)).all()
    # Created by the same operation as any user: each with its own salt.
    assert len({u.password_hash for u in users}) == len(users) == 4
    assert all(u.password_hash.startswith("scrypt:") and u.check_password(password) for u in users)


def test_staff_are_assigned_like_real_staff(demo):
    liaison = db.session.scalar(sa.select(User).where(User.email == "liaison@demo.tracker"))
    teacher = db.session.scalar(sa.select(User).where(User.email == "teacher@demo.tracker"))
    assert 4 <= len(liaison.schools) <= 8 and len({s.municipality for s in liaison.schools}) <= 2
    assert len(teacher.classes) == 2
    latest = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.first_day <= dt.date.today())
                               .order_by(AcademicYear.first_day.desc()).limit(1))
    assert {c.year_id for c in teacher.classes} == {latest.id}
    assert len({c.school_id for c in teacher.classes}) == 1
    assert teacher.classes[0].school in liaison.schools


def test_attendance_falls_on_school_days_inside_enrolments(demo):
    assert count(AttendanceRecord) > 1000
    outside = scalar("""
        SELECT count(*) FROM attendance_record r JOIN enrolment e ON e.id = r.enrolment_id
        JOIN academic_year y ON y.id = e.year_id
        WHERE r.date < e.start_date OR (e.end_date IS NOT NULL AND r.date > e.end_date)
           OR r.date < y.first_day OR r.date > y.last_day""")
    assert outside == 0
    on_days_off = scalar("""
        SELECT count(*) FROM attendance_record r JOIN enrolment e ON e.id = r.enrolment_id
        JOIN non_school_day n ON n.date = r.date AND n.year_id = e.year_id
        WHERE n.school_id IS NULL OR n.school_id = e.school_id""")
    assert on_days_off == 0
    dates = db.session.scalars(sa.select(AttendanceRecord.date).distinct()).all()
    assert all(d.weekday() < 5 for d in dates) and max(dates) <= dt.date.today()
    # Absences have a reason from the register's list, presences none.
    assert scalar("SELECT count(*) FROM attendance_record WHERE status IN ('present', 'late') AND reason <> ''") == 0
    bad = scalar("""SELECT count(*) FROM attendance_record WHERE status LIKE 'absent%'
                    AND reason NOT IN ('illness', 'appointment', 'asylum_procedure', 'moved_centre', 'no_transport',
                                       'work', 'unknown')""")
    assert bad == 0
    # Most children come most days; some are chronically absent.
    rates = [a / n for n, a in db.session.execute(sa.text("""
        SELECT count(*), sum(CASE WHEN status IN ('present', 'late') THEN 1 ELSE 0 END)
        FROM attendance_record GROUP BY enrolment_id HAVING count(*) >= 20"""))]
    assert sum(r >= 0.85 for r in rates) > len(rates) / 2 and any(r < 0.8 for r in rates)
    # The monthly summary is kept exact.
    assert db.session.scalar(sa.select(sa.func.sum(AttendanceMonth.recorded))) == count(AttendanceRecord)


def test_registers_cover_school_days_except_the_missing_ones(demo):
    today = dt.date.today()
    off = {}
    for year_id, day, school_id in db.session.execute(sa.select(NonSchoolDay.year_id, NonSchoolDay.date,
                                                                NonSchoolDay.school_id)):
        off.setdefault((year_id, school_id), set()).add(day)
    recorded: dict[int, list] = {}
    for eid, day, status in db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date,
                                                         AttendanceRecord.status).order_by(AttendanceRecord.date)):
        recorded.setdefault(eid, []).append(status)
    short = silent = 0
    for e in db.session.scalars(sa.select(Enrolment)):
        last = min(e.end_date or e.year.last_day, e.year.last_day, today)
        closed = off.get((e.year_id, None), set()) | off.get((e.year_id, e.school_id), set())
        days = [e.start_date + dt.timedelta(days=i) for i in range((last - e.start_date).days + 1)]
        school_days = [d for d in days if d.weekday() < 5 and d not in closed]
        statuses = recorded.get(e.id, [])
        assert len(statuses) <= len(school_days)
        short += len(statuses) < len(school_days)  # a class without a register that day
        if e.exit_reason in (ExitReason.moved_onward, ExitReason.dropped_out) and len(statuses) >= 4:
            silent += set(statuses[-4:]) == {"absent_unexcused"}  # gone silent before the exit
    assert short > 0 and silent > 0


def test_enrolments_keep_the_rules(demo):
    today = dt.date.today()
    wrong_class = scalar("""
        SELECT count(*) FROM enrolment e JOIN school_class c ON c.id = e.class_id
        WHERE c.school_id <> e.school_id OR c.year_id <> e.year_id OR c.level <> e.level OR c.grade <> e.grade""")
    assert wrong_class == 0 and scalar("SELECT count(*) FROM enrolment WHERE class_id IS NULL") == 0
    not_offered = scalar("""
        SELECT count(*) FROM enrolment e JOIN school s ON s.id = e.school_id
        WHERE (e.level = 'primary' AND NOT s.offers_primary) OR (e.level = 'secondary' AND NOT s.offers_secondary)""")
    assert not_offered == 0
    enrolments = db.session.scalars(sa.select(Enrolment).order_by(Enrolment.child_id, Enrolment.start_date)).all()
    by_child: dict[int, list[Enrolment]] = {}
    for e in enrolments:
        by_child.setdefault(e.child_id, []).append(e)
        assert e.start_date <= today and (e.end_date is None or e.start_date <= e.end_date <= today)
        assert e.year.first_day - dt.timedelta(days=92) <= e.start_date <= e.year.last_day
        assert e.end_date is None or e.end_date <= e.year.last_day
    for history in by_child.values():
        assert sum(e.end_date is None for e in history) <= 1
        for before, after in zip(history, history[1:]):
            assert before.end_date is not None and after.start_date > before.end_date
            if before.exit_reason == ExitReason.transferred:  # the next school starts the next day
                assert after.start_date == before.end_date + dt.timedelta(days=1)
                assert after.school_id != before.school_id
            if before.exit_reason == ExitReason.completed and after.year_id != before.year_id:
                if before.level == after.level:
                    assert after.grade == before.grade + 1
                else:
                    assert (before.level, before.grade, after.level, after.grade) == (Level.primary, 8,
                                                                                   Level.secondary, 1)
    reasons = {e.exit_reason for e in enrolments}
    assert {ExitReason.moved_onward, ExitReason.completed, ExitReason.transferred, None} <= reasons
    assert any(e.start_date >= YEARS[1].first_day for e in enrolments)


def test_children_live_in_centres_and_uasc_children_have_guardians(demo):
    today = dt.date.today()
    stays = db.session.scalars(sa.select(CentreStay).order_by(CentreStay.child_id, CentreStay.start_date)).all()
    by_child: dict[int, list[CentreStay]] = {}
    for s in stays:
        by_child.setdefault(s.child_id, []).append(s)
        assert s.start_date <= today and (s.end_date is None or s.end_date <= today)
    assert len(by_child) == 120
    assert any(len(v) > 1 for v in by_child.values())  # some move between centres
    for history in by_child.values():
        for before, after in zip(history, history[1:]):
            assert before.end_date is not None and after.start_date > before.end_date
    uasc_children = set(db.session.scalars(sa.select(UascPeriod.child_id).where(UascPeriod.status != "accompanied")))
    with_guardian = set(db.session.scalars(sa.select(Guardian.child_id)))
    assert uasc_children and uasc_children <= with_guardian
    assert all(g.organisation.startswith(("Centar za socijalni rad", "Gradski centar za socijalni rad"))
               for g in db.session.scalars(sa.select(Guardian)))
    periods = db.session.scalars(sa.select(UascPeriod).order_by(UascPeriod.child_id, UascPeriod.start_date)).all()
    for a, b in zip(periods, periods[1:]):
        if a.child_id == b.child_id:
            assert a.end_date is not None and b.start_date > a.end_date


def test_the_calendar_has_the_serbian_days_off(demo):
    days = {(d, s) for d, s in db.session.execute(sa.select(NonSchoolDay.date, NonSchoolDay.school_id))}
    general = {d for d, s in days if s is None}
    for day in ("2025-11-11", "2026-01-07", "2026-01-27", "2026-02-16", "2026-02-17", "2026-04-10", "2026-04-13",
                "2026-05-01", "2026-11-11", "2027-01-07", "2027-02-15", "2027-02-16", "2027-04-30", "2027-05-03"):
        assert dt.date.fromisoformat(day) in general, day
    assert all(d.weekday() < 5 for d, _s in days)
    assert any(s is not None for _d, s in days)


def test_running_it_again_changes_nothing(app, runner):
    assert runner.invoke(args=ARGS).exit_code == 0
    before, audited = counts(), count(AuditEvent)
    assert audited > 1  # written by the same operations as everything else, audited as they are
    again = runner.invoke(args=ARGS)
    assert again.exit_code == 0 and "already loaded" in again.output
    assert "liaison@demo.tracker" in again.output and app.config["DEMO_PASSWORD"] in again.output
    assert counts() == before
    other_seed = runner.invoke(args=["demo", "--children", "5", "--seed", "8"])
    assert other_seed.exit_code == 0 and counts() == before
    assert count(AuditEvent) == audited


def test_a_database_with_other_data_is_refused(app, runner):
    db.session.add(School(code="X1", name="OŠ Real School", municipality="Niš", offers_primary=True))
    db.session.commit()
    result = runner.invoke(args=ARGS)
    assert result.exit_code != 0 and "not the demo's" in result.output and "1 schools" in result.output
    assert count(Child) == 0 and count(User) == 0 and count(School) == 1


def test_a_failure_leaves_nothing_half_written(app, runner, monkeypatch):
    from tracker.demo import builder

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder.Registers, "rows", broken)
    result = runner.invoke(args=ARGS)
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    db.session.rollback()
    assert all(n == 0 for n in counts().values())
    monkeypatch.undo()
    assert runner.invoke(args=ARGS).exit_code == 0 and count(Child) == 120


def _people() -> list[tuple]:
    return db.session.execute(sa.select(Child.code, Child.given_name, Child.family_name, Child.name_original, Child.sex,
                                        Child.birth_date, Child.country, Child.first_language)
                              .order_by(Child.code)).all()


def test_the_same_seed_gives_the_same_children_in_a_fresh_database(app, runner, sqlite_template, tmp_path):
    assert runner.invoke(args=ARGS).exit_code == 0
    first = [tuple(row) for row in _people()]
    path = tmp_path / "second.sqlite3"
    shutil.copy(sqlite_template, path)
    other = create_app(base_config(f"sqlite:///{path}"))
    other.instance_path = str(tmp_path)
    with other.app_context():
        result = other.test_cli_runner().invoke(args=ARGS)
        assert result.exit_code == 0, result.output
        second = [tuple(row) for row in _people()]
        db.session.remove()
        db.engine.dispose()
    assert first == second
    assert any("\u200c" in row[3] or any("\u0600" <= ch <= "\u06ff" for ch in row[3]) for row in second)


# Without a database: the plan and the calendar.

def test_the_same_seed_and_day_give_an_identical_plan():
    day = dt.date(2026, 11, 23)
    a, b = Planner(60, 3, day).plan(), Planner(60, 3, day).plan()
    assert a.children == b.children and a.teacher_classes == b.teacher_classes
    c = Planner(60, 4, day).plan()
    assert [x.code for x in a.children] != [x.code for x in c.children]
    # The children themselves do not depend on the day the demo is built.
    later = Planner(60, 3, dt.date(2027, 3, 1)).plan()
    assert [(x.code, x.given, x.family, x.original, x.sex) for x in a.children] == \
        [(x.code, x.given, x.family, x.original, x.sex) for x in later.children]


def test_nothing_happens_after_today():
    day = dt.date(2026, 2, 10)
    plan = Planner(200, 11, day).plan()
    for c in plan.children:
        assert c.arrival <= day and c.birth < c.arrival
        assert all(s <= day and (e is None or e <= day) for _c, s, e in c.stays)
        assert all(e.start <= day and (e.end is None or e.end <= day) for e in c.enrolments)
        assert all(e.year == 0 for e in c.enrolments)
    assert sum(e.end is None for c in plan.children for e in c.enrolments) > 30


def test_orthodox_easter_and_holidays_moved_from_sunday():
    assert orthodox_easter(2026) == dt.date(2026, 4, 12) and orthodox_easter(2027) == dt.date(2027, 5, 2)
    first, second = (non_school_days(y) for y in YEARS)
    # Statehood Day 2026: 15 February is a Sunday, so Monday and Tuesday are free.
    assert {dt.date(2026, 2, 16), dt.date(2026, 2, 17)} <= set(first) and dt.date(2026, 2, 18) not in first
    # 2027: Labour Day's Sunday falls on Easter Sunday; both Monday and Tuesday are free.
    assert {dt.date(2027, 5, 3), dt.date(2027, 5, 4)} <= set(second)
    assert dt.date(2026, 1, 19) not in first and dt.date(2026, 1, 16) in first  # winter break to mid-January
    assert all(d.weekday() < 5 for d in [*first, *second])


def test_the_report_for_the_demo_data_opens_and_downloads_in_every_format(demo, tmp_path):
    """As the partner: the page, then CSV, XLSX and PDF; the PDF's headline figures are the page's."""
    import csv
    import io
    import re
    import subprocess

    from openpyxl import load_workbook

    client = current_app.test_client()
    r = client.post("/login", data={"email": "partner@demo.tracker", "password": current_app.config["DEMO_PASSWORD"]})
    assert r.status_code in (302, 303)
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    headline = html.split('id="section-headline"', 1)[1].split("</section>", 1)[0]
    figures = re.findall(r"<dd>([^<]+)</dd>", headline)
    assert figures and figures[0].strip().isdigit()  # enrolled, published
    query = page.request.query_string.decode()
    files = {fmt: client.get(f"/reports/report.{fmt}" + (f"?{query}" if query else "")) for fmt in ("csv", "xlsx", "pdf")}
    assert all(f.status_code == 200 for f in files.values())
    rows = list(csv.DictReader(io.StringIO(files["csv"].get_data(as_text=True).lstrip("\ufeff"))))
    assert any(r["section"] == "headline" and r["indicator"] == "enrolled" and r["numerator"] == figures[0].strip()
               for r in rows)
    assert "About" in load_workbook(io.BytesIO(files["xlsx"].data)).sheetnames
    pdf = tmp_path / "demo.pdf"
    pdf.write_bytes(files["pdf"].data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text_headline = text.split("Headline figures", 1)[1].split("UASC and girls", 1)[0]
    for figure in figures:
        assert figure.strip().replace("&lt;", "<") in text_headline, figure
