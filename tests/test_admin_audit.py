"""The audit log page: administrators only, newest first, 50 a page, filtered by user, record and dates,
with translated action labels, and never a value (the table holds none)."""
from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from urllib.parse import urlsplit

import flask
import pytest
import sqlalchemy as sa

from tests.conftest import Auth
from tracker.extensions import db

pytestmark = pytest.mark.usefixtures("production_like_requests")


def new_client():
    return flask.current_app.test_client()


def signed_in_as(user):
    client = new_client()
    assert Auth(client).login(user).status_code == 302
    return client


@pytest.fixture
def admin(world):
    return signed_in_as(world.admin)


def add_events(events) -> None:
    """Events as (at, user, action, object_type, object_id), written straight into the log."""
    from tracker.audit.models import AuditEvent

    db.session.add_all([AuditEvent(at=at, user_id=getattr(user, "id", None), action=action, object_type=kind,
                                   object_id=oid) for at, user, action, kind, oid in events])
    db.session.commit()


def listed(html: str) -> list[tuple[str, str]]:
    """(action, record) of each row shown, in order."""
    body = html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out.append((" ".join(cells[2]), " ".join(cells[3])))
    return out


BASE = dt.datetime(2026, 3, 10, 9, 0)  # naive UTC, as stored


@pytest.mark.parametrize("who", ["liaison_a", "teacher_a", "partner"])
def test_only_administrators_see_the_log(world, who):
    client = signed_in_as(getattr(world, who))
    assert client.get("/admin/audit").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    r = client.get("/admin/audit")
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"


def test_newest_first_fifty_a_page(admin, world):
    add_events([(BASE + dt.timedelta(minutes=i), world.liaison_a, "child_viewed", "child", f"C-{i:06d}")
                for i in range(60)])
    # the admin's own sign-in is there too, newest of all
    first = admin.get("/admin/audit")
    assert first.status_code == 200
    assert "61 events" in first.text and "page 1 of 2" in first.text
    shown = listed(first.text)
    assert len(shown) == 50
    assert shown[0] == ("Signed in", f"User {world.admin.id}")
    assert shown[1] == ("Child's record opened", "Child C-000059") and shown[49][1] == "Child C-000011"
    assert 'href="/admin/audit?page=2"' in first.text and "Show older" in first.text
    second = admin.get("/admin/audit", query_string={"page": 2})
    assert [r for _a, r in listed(second.text)] == [f"Child C-{i:06d}" for i in range(10, -1, -1)]
    assert "Show older" not in second.text and "Newer" in second.text
    # a page past the end shows the last one
    assert listed(admin.get("/admin/audit", query_string={"page": 99}).text) == listed(second.text)


def test_filters_by_user_record_and_dates(admin, world):
    add_events([
        (BASE, world.liaison_a, "child_registered", "child", world.child_a.code),
        (BASE + dt.timedelta(days=1), world.liaison_a, "enrolled", "enrolment", "7"),
        (BASE + dt.timedelta(days=2), world.liaison_b, "child_viewed", "child", world.child_b.code),
        (BASE + dt.timedelta(days=3), world.teacher_a, "child_viewed", "child", world.child_a.code),
        (BASE + dt.timedelta(days=3, hours=22, minutes=30), None, "login_failed", "user", ""),  # 23:30 UTC = next day in Belgrade
    ])

    def actions(**query):
        r = admin.get("/admin/audit", query_string=query)
        assert r.status_code == 200, r.text
        return [a for a, _r in listed(r.text)]

    assert actions(user=world.liaison_a.id) == ["Enrolled in a school", "Child registered"]
    # a child's code, as typed: case does not matter
    assert actions(object_type="child", object_id=world.child_a.code.lower()) == ["Child's record opened",
                                                                                 "Child registered"]
    assert actions(object_id=world.child_b.code) == ["Child's record opened"]
    assert actions(object_type="enrolment") == ["Enrolled in a school"]
    # dates are days in the user's time zone (Europe/Belgrade), both ends included
    assert actions(date_from="2026-03-11", date_to="2026-03-12") == ["Child's record opened", "Enrolled in a school"]
    assert actions(date_from="2026-03-14", date_to="2026-03-14") == ["Sign-in failed"]
    assert actions(date_from="2026-03-13", date_to="2026-03-13") == ["Child's record opened"]
    page = admin.get("/admin/audit", query_string={"user": world.liaison_a.id}).text
    assert "2 events" in page
    # the child's code links to the child's page, the user to the user's page
    assert f'href="/children/{world.child_a.code}"' in page
    assert f'href="/admin/users/{world.liaison_a.id}"' in page


@pytest.mark.parametrize("query, message", [
    ({"date_from": "2026-13-45"}, "Not a valid date value."),
    ({"date_from": "2026-03-12", "date_to": "2026-03-11"}, "The end date must not be before the start date."),
    ({"user": "999999"}, "Not a valid choice"),
    ({"user": "x"}, "Not a valid choice"),
    ({"object_type": "nope"}, "Not a valid choice"),
    ({"object_id": "C-\x00"}, "control characters"),
    ({"object_id": "x" * 51}, "Field cannot be longer than 50 characters."),
])
def test_bad_filters_are_400_with_a_message(admin, world, query, message):
    before = db.session.scalar(sa.text("SELECT count(*) FROM audit_event"))
    r = admin.get("/admin/audit", query_string=query)
    assert r.status_code == 400
    assert message in r.text
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_event")) == before


def test_unknown_actions_are_shown_by_their_key_and_times_in_the_locale(admin, world):
    add_events([(BASE, world.liaison_a, "plugin_did_something", "centre_note", "42")])
    page = admin.get("/admin/audit", query_string={"user": world.liaison_a.id}).text
    assert listed(page) == [("plugin_did_something", "centre_note 42")]
    assert "Mar 10, 2026, 10:00:00" in page  # 09:00 UTC in Belgrade, English format
    serbian = admin.get("/admin/audit", query_string={"user": world.liaison_a.id},
                        headers={"Accept-Language": "sr-Latn"}).text
    assert "10. 3. 2026. 10:00:00" in serbian or "10.03.2026. 10:00:00" in serbian or "10. mar 2026. 10:00:00" in serbian


def test_the_log_of_user_changes_holds_no_values(admin, world):
    page = admin.get(f"/admin/users/{world.teacher_a.id}")
    once = re.search(r'name="once" type="hidden" value="([^"]+)"', page.text).group(1)
    r = admin.post(f"/admin/users/{world.teacher_a.id}/password", data={"password": "a typed one-time secret",
                                                                        "once": once})
    assert r.status_code == 200
    admin.post(f"/admin/users/{world.teacher_a.id}", data={"name": "Renamed Teacher", "role": "teacher"})
    log = admin.get("/admin/audit", query_string={"object_type": "user", "object_id": world.teacher_a.id}).text
    assert [a for a, _r in listed(log)] == ["User's schools or classes changed", "User's name changed",
                                            "One-time password given"]
    assert "Renamed Teacher" not in log.split("<tbody>")[1] and "a typed one-time secret" not in log
    everything = " ".join(str(v) for row in db.session.execute(sa.text("SELECT * FROM audit_event")) for v in row)
    assert "a typed one-time secret" not in everything and "Renamed" not in everything and "5-1" not in everything
