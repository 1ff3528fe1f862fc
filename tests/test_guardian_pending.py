"""An unaccompanied child registered before a guardian is appointed ("guardian pending"): allowed on the
registration form, the UASC form and the children import, shown on the child's page, followed up by the
flag "UASC without a guardian", which clears when a guardian is recorded."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tests.test_children import FORM, register
from tests.test_import import CHILDREN_HEADER, run, write
from tracker.extensions import db
from tracker.flags.models import Flag
from tracker.flags.operations import refresh
from tracker.models import Child

UASC = {**FORM, "uasc_status": "unaccompanied", "name_original": ""}


def stored(family_name: str) -> Child | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Child).where(Child.family_name == family_name))


def guardian_flags(child) -> list[Flag]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Flag).where(Flag.child_id == child.id, Flag.rule == "uasc_no_guardian")
                              .order_by(Flag.id)).all()


def test_an_unaccompanied_child_needs_a_guardian_or_guardian_pending(client, auth, world):
    auth.login(world.liaison_a)
    r = register(client, **UASC)
    assert r.status_code == 400 and "needs the name of the legal guardian" in r.text and "guardian pending" in r.text
    assert stored("Ahmadi") is None
    both = register(client, **UASC, guardian_name="Vesna Ilić", guardian_pending="y")
    assert both.status_code == 400 and "not both" in both.text and stored("Ahmadi") is None
    r = register(client, **UASC, guardian_pending="y")
    assert r.status_code == 302
    child = stored("Ahmadi")
    assert child.uasc_status.value == "unaccompanied" and child.guardians == []


def test_the_childs_page_says_the_guardian_is_pending_or_names_them(client, auth, world):
    auth.login(world.liaison_a)
    location = register(client, **UASC, guardian_pending="y").headers["Location"]
    page = client.get(location).text
    assert "<dt>Guardian</dt>" in page and "pending appointment" in page
    register(client, **{**UASC, "given_name": "Ali", "family_name": "Karimi"}, guardian_name="Vesna Ilić",
             guardian_organisation="CSR Beograd")
    other = stored("Karimi")
    page = client.get(f"/children/{other.code}").text
    assert "Vesna Ilić, CSR Beograd" in page and "pending appointment" not in page
    # An accompanied child has no guardian line.
    assert "<dt>Guardian</dt>" not in client.get(f"/children/{world.child_a.code}").text


def test_the_flag_is_raised_and_clears_when_a_guardian_is_recorded(client, auth, world):
    auth.login(world.liaison_a)
    register(client, **UASC, guardian_pending="y")
    child = stored("Ahmadi")
    refresh()
    db.session.commit()
    [flag] = guardian_flags(child)
    assert flag.cleared_on is None and flag.severity == 2 and flag.evidence["status"] == "unaccompanied"
    follow_up = client.get("/follow-up/").text
    assert "no legal guardian recorded (unaccompanied since" in follow_up
    # The officer records the guardian on the UASC form: same status, the guardian named.
    today = dt.date.today()
    r = client.post(f"/children/{child.code}/uasc", data={"status": "unaccompanied", "since": today.isoformat(),
                                                          "guardian_name": "Vesna Ilić"})
    assert r.status_code == 302, r.text
    [flag] = guardian_flags(child)
    assert flag.cleared_on == today
    assert [p.status.value for p in stored("Ahmadi").uasc_periods] == ["unaccompanied"]  # the status stays
    assert "Vesna Ilić" in client.get(f"/children/{child.code}").text
    refresh()
    db.session.commit()
    assert len(guardian_flags(child)) == 1  # no second flag: a guardian is on record


def test_the_flag_leaves_out_accompanied_children_and_those_with_a_guardian(app, world):
    refresh()
    db.session.commit()
    # world.child_b is unaccompanied with no guardian on record; world.child_a is accompanied.
    assert len(guardian_flags(world.child_b)) == 1 and guardian_flags(world.child_a) == []


def test_becoming_unaccompanied_with_guardian_pending_on_the_uasc_form(client, auth, world):
    auth.login(world.liaison_a)
    url = f"/children/{world.child_a.code}/uasc"
    today = dt.date.today().isoformat()
    r = client.post(url, data={"status": "separated", "since": today})
    assert r.status_code == 400 and "guardian pending" in r.text
    r = client.post(url, data={"status": "separated", "since": today, "guardian_pending": "y"})
    assert r.status_code == 302
    assert stored("Rahimi").uasc_status.value == "separated"
    assert "pending appointment" in client.get(f"/children/{world.child_a.code}").text


def test_the_children_import_accepts_guardian_pending(runner, world, tmp_path):
    header = CHILDREN_HEADER.rstrip("\n") + ",guardian_name,guardian_pending\n"
    refused = write(tmp_path, "children", header + ",Omar,Haddad,,male,2012-01-01,1,SYR,ara,unaccompanied,KRN,,,0\n")
    result = run(runner, "children", refused, "--as", "liaison.a@example.org")
    assert result.exit_code != 0 and "guardian" in result.output and stored("Haddad") is None
    both = write(tmp_path, "children", header + ",Omar,Haddad,,male,2012-01-01,1,SYR,ara,unaccompanied,KRN,,"
                 "Vesna Ilić,1\n")
    result = run(runner, "children", both, "--as", "liaison.a@example.org")
    assert result.exit_code != 0 and "not both" in result.output
    path = write(tmp_path, "children", header + ",Omar,Haddad,,male,2012-01-01,1,SYR,ara,unaccompanied,KRN,,,1\n")
    result = run(runner, "children", path, "--as", "liaison.a@example.org")
    assert result.exit_code == 0, result.output
    omar = stored("Haddad")
    assert omar.uasc_status.value == "unaccompanied" and omar.guardians == []
    refresh()
    db.session.commit()
    assert len(guardian_flags(omar)) == 1
    # A later file names the guardian: recorded, and the flag clears at once.
    named = write(tmp_path, "children", header + f"{omar.code},Omar,Haddad,,male,2012-01-01,1,SYR,ara,unaccompanied,"
                  "KRN,,Jelena Petrović,\n")
    result = run(runner, "children", named, "--as", "liaison.a@example.org")
    assert result.exit_code == 0, result.output
    assert [g.name for g in stored("Haddad").guardians] == ["Jelena Petrović"]
    assert guardian_flags(omar)[0].cleared_on == dt.date.today()
