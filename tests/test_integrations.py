"""The integrations core: enabling per school, running within scope, recording runs, allowed fields, pending matches.

This module is also a plugin: it registers a small "roll call" integration whose export lists the
school's enrolled children (names only when allowed) and whose import takes one child code per line.
"""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tracker import hookimpl
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.extensions import db
from tracker.integrations import operations as ops
from tracker.integrations.models import ExternalId, IntegrationPending, IntegrationRun, SchoolIntegration
from tracker.integrations.types import Integration, RunResult

pytestmark = pytest.mark.usefixtures("production_like_requests")


class RollCall(Integration):
    slug = "roll_call"
    label = "Roll call"
    can_import = can_export = True
    personal_fields = ("names",)

    def export(self, scope, params):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["code", "name"])
        q = (sa.select(Child).join(Enrolment, Enrolment.child_id == Child.id)
             .where(Enrolment.school_id == scope.school.id).order_by(Child.code))
        for child in db.session.scalars(q):
            writer.writerow([child.code, f"{child.given_name} {child.family_name}" if scope.allows("names") else ""])
        return "roll.csv", "text/csv", out.getvalue().encode()

    def import_file(self, stream, scope, dry_run):
        result = RunResult(ok=True, dry_run=dry_run, counts={"matched": 0})
        for line, raw in enumerate(stream.read().decode().splitlines(), start=1):
            code = raw.strip()
            if not code.startswith("C-"):
                result.error("not a child code", file="roll.txt", line=line, column="code")
                continue
            child = db.session.scalar(sa.select(Child).where(Child.code == code))
            if child is None:
                pending = IntegrationPending(school_id=scope.school.id, slug=self.slug, kind="student", key=code,
                                             data={"given_name": "Unknown", "family_name": code})
                db.session.add(pending)
                result.pending.append(code)
            else:
                result.counts["matched"] += 1
        if result.ok and not dry_run:
            db.session.flush()
        return result


@hookimpl
def register_integrations():
    return [RollCall]


@pytest.fixture
def app_config():
    return {"PLUGINS": ["tests.test_integrations"]}


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code in (302, 303)


def runs() -> list[IntegrationRun]:
    db.session.expire_all()
    return db.session.scalars(sa.select(IntegrationRun).order_by(IntegrationRun.id)).all()


def test_a_disabled_integration_cannot_run_for_a_school(app, client, world, runner):
    login(client, world.liaison_a)
    assert client.get("/integrations/roll_call/SA001/export").status_code == 403
    result = runner.invoke(args=["integrations", "run", "roll_call", "--school", "SA001", "--export", "/tmp/x.csv"])
    assert result.exit_code != 0 and "not enabled" in result.output
    assert runs() == []


def test_enabled_from_the_command_line_it_runs_and_every_run_is_recorded(app, client, world, runner, tmp_path):
    r = runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001"])
    assert r.exit_code == 0, r.output
    login(client, world.liaison_a)
    page = client.get("/integrations/").get_data(as_text=True)
    assert "Roll call" in page and "No names or birth dates" in page
    export = client.get("/integrations/roll_call/SA001/export")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows == [["code", "name"], [world.child_a.code, ""]]  # names are off unless allowed
    out = tmp_path / "roll.csv"
    r = runner.invoke(args=["integrations", "run", "roll_call", "--school", "SA001", "--export", str(out)])
    assert r.exit_code == 0, r.output and out.exists()
    recorded = runs()
    assert [(x.direction, x.ok, x.user_id) for x in recorded] == [("export", True, world.liaison_a.id),
                                                                  ("export", True, None)]


def test_names_are_exported_only_when_the_admin_allows_them(app, client, world, runner):
    bad = runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001", "--allow", "birth_date"])
    assert bad.exit_code != 0 and "never exports birth_date" in bad.output
    runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001", "--allow", "names"])
    login(client, world.liaison_a)
    rows = list(csv.reader(io.StringIO(client.get("/integrations/roll_call/SA001/export").get_data(as_text=True))))
    assert rows[1] == [world.child_a.code, f"{world.child_a.given_name} {world.child_a.family_name}"]


def test_a_liaison_officer_cannot_run_one_outside_their_scope(app, client, world, runner):
    runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SB002"])
    login(client, world.liaison_a)
    assert client.get("/integrations/roll_call/SB002/export").status_code == 404
    assert client.post("/integrations/roll_call/SB002/import",
                       data={"file": (io.BytesIO(b"C-AAAAAA\n"), "roll.txt")}).status_code == 404
    r = runner.invoke(args=["integrations", "run", "roll_call", "--school", "SB002", "--export", "/tmp/y.csv",
                            "--as", world.liaison_a.email])
    assert r.exit_code != 0 and "in your scope" in r.output
    assert runs() == []


def test_teachers_and_partners_have_no_integrations(client, world):
    for user in (world.teacher_a, world.partner):
        login(client, user)
        assert client.get("/integrations/").status_code == 404
        client.post("/logout")


def test_an_import_with_a_bad_line_saves_nothing_and_names_the_line(app, client, world, runner):
    runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001"])
    login(client, world.liaison_a)
    r = client.post("/integrations/roll_call/SA001/import",
                    data={"file": (io.BytesIO(b"C-ZZZZZZ\nhello\n"), "roll.txt")})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "not a child code" in page and "nothing was saved" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationPending)) == 0
    last = runs()[-1]
    assert (last.direction, last.ok, last.error_count, last.errors[0]["line"]) == ("import", False, 1, 2)


def test_a_dry_run_writes_nothing_then_the_import_leaves_a_record_for_a_person_to_match(app, client, world, runner):
    runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001"])
    login(client, world.liaison_a)
    r = client.post("/integrations/roll_call/SA001/import",
                    data={"file": (io.BytesIO(b"C-ZZZZZZ\n"), "roll.txt"), "dry_run": "1"})
    assert r.status_code == 200 and "Nothing was saved" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IntegrationPending)) == 0
    r = client.post("/integrations/roll_call/SA001/import", data={"file": (io.BytesIO(b"C-ZZZZZZ\n"), "roll.txt")})
    assert r.status_code == 200 and "wait for a person" in r.get_data(as_text=True)
    pending = db.session.scalar(sa.select(IntegrationPending))
    page = client.get("/integrations/pending").get_data(as_text=True)
    assert "C-ZZZZZZ" in page and "Register a new child" in page
    # A code outside the officer's scope is refused; the child of their school is linked.
    bad = client.post(f"/integrations/pending/{pending.id}/match", data={"child_code": world.child_b.code})
    assert bad.status_code == 400
    ok = client.post(f"/integrations/pending/{pending.id}/match", data={"child_code": world.child_a.code})
    assert ok.status_code == 302
    db.session.expire_all()
    link = db.session.scalar(sa.select(ExternalId))
    assert (link.child_id, link.system, link.value) == (world.child_a.id, "roll_call:SA001", "C-ZZZZZZ")
    assert "Nothing is waiting." in client.get("/integrations/pending").get_data(as_text=True)


def test_the_admin_enables_and_disables_from_the_page(app, client, world):
    login(client, world.admin)
    assert "Roll call" in client.get("/integrations/admin").get_data(as_text=True)
    r = client.post("/integrations/admin/roll_call/SA001", data={"action": "enable", "allow": ["names"]})
    assert r.status_code == 302
    row = db.session.scalar(sa.select(SchoolIntegration))
    assert (row.enabled, row.allowed_fields) == (True, ["names"])
    client.post("/integrations/admin/roll_call/SA001", data={"action": "disable"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(SchoolIntegration)).enabled is False
    client.post("/logout")
    login(client, world.liaison_a)
    assert client.get("/integrations/admin").status_code == 404


def test_the_command_line_import_exits_1_when_refused(app, world, runner, tmp_path):
    runner.invoke(args=["integrations", "enable", "roll_call", "--school", "SA001"])
    bad = tmp_path / "roll.txt"
    bad.write_text("oops\n")
    r = runner.invoke(args=["integrations", "run", "roll_call", "--school", "SA001", "--import", str(bad)])
    assert r.exit_code == 1 and "roll.txt:1:code: not a child code" in r.output and "nothing was saved" in r.output
    good = tmp_path / "good.txt"
    good.write_text(f"{world.child_a.code}\n")
    r = runner.invoke(args=["integrations", "run", "roll_call", "--school", "SA001", "--import", str(good),
                            "--dry-run"])
    assert r.exit_code == 0 and "dry run, nothing saved: matched 1" in r.output
    listed = runner.invoke(args=["integrations", "list"])
    assert "roll_call" in listed.output and "SA001" in listed.output
