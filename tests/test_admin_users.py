"""The users page as an administrator meets it: the list and its filters, adding a user with a one-time
password, the first sign-in that sets her own password, changing assignments (in force on the next
request), deactivating, giving a new one-time password, the last administrator; and the sign-in
lockout counted per account and source address."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import flask
import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Auth
from tracker.extensions import db

pytestmark = pytest.mark.usefixtures("production_like_requests")

NEW_PASSWORD = "a fresh long passphrase 4 me"
TYPED = "given by the admin 2026"


def rows(sql: str, **params) -> list:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def new_client():
    return flask.current_app.test_client()


def signed_in_as(world_user, **environ):
    client = new_client()
    r = Auth(client).login(world_user) if not environ else client.post(
        "/login", data={"email": world_user.email, "password": PASSWORD}, environ_base=environ)
    assert r.status_code == 302, r.text
    return client


@pytest.fixture
def admin(world):
    return signed_in_as(world.admin)


def once(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    match = re.search(r'name="once" type="hidden" value="([^"]+)"', r.text)
    assert match, "no one-time form value on the page"
    return match.group(1)


def user_row(email: str):
    found = rows('SELECT id, role, active, must_change_password, session_version FROM "user" WHERE email = :e', e=email)
    return found[0] if found else None


def audit_actions(object_id=None) -> list[str]:
    sql = "SELECT action FROM audit_event" + (" WHERE object_id = :o" if object_id else "") + " ORDER BY id"
    return [a for (a,) in rows(sql, o=str(object_id))]


def shown_password(html: str) -> str:
    match = re.search(r'id="one-time" class="one-time" type="text" value="([^"]+)"', html)
    assert match, "no one-time password on the page"
    return match.group(1)


def add_teacher(admin, world, email="nastavnica@example.org", **extra) -> tuple[int, str]:
    data = {"email": email, "name": "Milica Jovanović", "role": "teacher", "classes": [str(world.class_a.id)],
            "once": once(admin, "/admin/users/new"), **extra}
    r = admin.post("/admin/users/new", data=data)
    assert r.status_code == 200, r.text
    return user_row(email)[0], r.text


# --- who may open the pages ------------------------------------------------------------------------------------------

ADMIN_URLS = ["/admin/", "/admin/users", "/admin/users/new", "/admin/users/{id}", "/admin/audit"]
ADMIN_POSTS = ["/admin/users/new", "/admin/users/{id}", "/admin/users/{id}/deactivate", "/admin/users/{id}/reactivate",
               "/admin/users/{id}/password"]


@pytest.mark.parametrize("who", ["liaison_a", "teacher_a", "partner", "liaison_none"])
def test_the_pages_are_for_administrators_only(world, who):
    client = signed_in_as(getattr(world, who))
    target = world.liaison_b.id
    before = rows('SELECT id, role, active, session_version, password_hash FROM "user" ORDER BY id')
    for url in ADMIN_URLS:
        assert client.get(url.format(id=target)).status_code == 404, url
    for url in ADMIN_POSTS:
        r = client.post(url.format(id=target), data={"email": "x@example.org", "name": "X", "role": "admin",
                                                     "password": TYPED, "once": "x"})
        assert r.status_code == 404, url
    assert rows('SELECT id, role, active, session_version, password_hash FROM "user" ORDER BY id') == before
    assert "/admin/users" not in client.get("/").text  # no menu entry


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    for url in ADMIN_URLS:
        r = client.get(url.format(id=world.admin.id))
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login", url


def test_the_menu_offers_users_and_the_audit_log_to_admins(admin):
    page = admin.get("/").text
    assert 'href="/admin/users"' in page and 'href="/admin/audit"' in page


# --- the list --------------------------------------------------------------------------------------------------------

def test_the_list_counts_and_filters_users(admin, world):
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert "7 users" in page.text
    assert world.school_a.name in page.text and "5-1 (OŠ Vuk Karadžić)" in page.text
    assert "Never" in page.text  # nobody else has signed in yet

    teachers = admin.get("/admin/users", query_string={"role": "teacher"}).text
    assert "2 users" in teachers and world.teacher_a.email in teachers and world.liaison_a.email not in teachers

    at_a = admin.get("/admin/users", query_string={"school": world.school_a.code}).text
    assert "2 users" in at_a  # the liaison officer of school A and the teacher of its class
    assert world.liaison_a.email in at_a and world.teacher_a.email in at_a and world.liaison_b.email not in at_a

    found = admin.get("/admin/users", query_string={"q": "LIAISON.B"}).text
    assert "1 user" in found and world.liaison_b.email in found
    assert "0 users" in admin.get("/admin/users", query_string={"q": "100%_"}).text  # wildcards are plain text

    world.partner.active = False
    db.session.commit()
    off = admin.get("/admin/users", query_string={"status": "inactive"}).text
    assert "1 user" in off and world.partner.email in off and "Deactivated" in off


@pytest.mark.parametrize("query", [{"role": "wizard"}, {"school": "NOPE"}, {"status": "maybe"}, {"q": "a\x00b"}])
def test_a_bad_filter_is_400(admin, world, query):
    r = admin.get("/admin/users", query_string=query)
    assert r.status_code == 400
    assert "0 users" in r.text


def test_the_last_sign_in_is_shown(admin, world):
    assert rows('SELECT last_login_at FROM "user" WHERE id = :i', i=world.teacher_a.id)[0][0] is None
    signed_in_as(world.teacher_a)
    stored = rows('SELECT last_login_at FROM "user" WHERE id = :i', i=world.teacher_a.id)[0][0]
    assert stored is not None
    page = admin.get(f"/admin/users/{world.teacher_a.id}").text
    assert "Last sign-in" in page and "Never" not in page.split("Last sign-in")[1].split("</dd>")[0]


# --- adding a user, and her first sign-in ----------------------------------------------------------------------------

def test_a_new_teacher_sets_her_own_password_and_sees_only_her_class(admin, world):
    uid, page = add_teacher(admin, world)
    password = shown_password(page)
    assert len(password) >= 12 and "It will not be shown again" in page
    _id, role, active, must_change, _v = user_row("nastavnica@example.org")
    assert (role, bool(active), bool(must_change)) == ("teacher", True, True)
    assert rows("SELECT class_id FROM class_teacher WHERE user_id = :u", u=uid) == [(world.class_a.id,)]
    assert password not in admin.get(f"/admin/users/{uid}").text  # shown once, on the answer to the form

    teacher = new_client()
    r = Auth(teacher).login("nastavnica@example.org", password)
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/account/password"
    # every other page leads to the password page, and nothing is written meanwhile
    for url in ("/", f"/children/{world.child_a.code}", "/attendance/today"):
        r = teacher.get(url)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/account/password", url
    page = teacher.get("/account/password")
    assert page.status_code == 200 and "One-time password" in page.text and "Choose your password" in page.text

    r = teacher.post("/account/password", data={"current": password, "new": password})
    assert r.status_code == 400 and "different from the current one" in r.text
    r = teacher.post("/account/password", data={"current": password, "new": "short"})
    assert r.status_code == 400 and bool(user_row("nastavnica@example.org")[3])

    r = teacher.post("/account/password", data={"current": password, "new": NEW_PASSWORD})
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/"
    assert not user_row("nastavnica@example.org")[3]
    home = teacher.get("/")
    assert home.status_code == 200 and "Your password is set" in home.text and "5-1" in home.text
    assert teacher.get(f"/children/{world.child_a.code}").status_code == 200
    assert teacher.get(f"/children/{world.child_b.code}").status_code == 404
    assert Auth(new_client()).login("nastavnica@example.org", password).status_code == 401
    assert Auth(new_client()).login("nastavnica@example.org", NEW_PASSWORD).status_code == 302

    assert audit_actions(uid)[:1] == ["user_created"] and "password_changed" in audit_actions(uid)
    everything = " ".join(str(v) for row in rows("SELECT * FROM audit_event") for v in row)
    for secret in (password, NEW_PASSWORD, "Milica"):
        assert secret not in everything


def test_a_password_typed_by_the_admin_is_not_shown_again(admin, world):
    _uid, page = add_teacher(admin, world, password=TYPED)
    assert 'id="one-time"' not in page and "The password you typed is set" in page
    r = Auth(new_client()).login("nastavnica@example.org", TYPED)
    assert urlsplit(r.headers["Location"]).path == "/account/password"


def test_sending_the_form_again_adds_nobody_and_shows_no_password(admin, world):
    data = {"email": "again@example.org", "name": "Again", "role": "partner", "once": once(admin, "/admin/users/new")}
    first = admin.post("/admin/users/new", data=data)
    assert first.status_code == 200 and 'id="one-time"' in first.text
    second = admin.post("/admin/users/new", data=data)
    assert second.status_code == 302
    assert 'id="one-time"' not in admin.get(second.headers["Location"]).text
    assert rows('SELECT count(*) FROM "user" WHERE email = :e', e="again@example.org")[0][0] == 1


@pytest.mark.parametrize("data, message", [
    ({"email": "not-an-email"}, "Invalid email address"),
    ({"email": "ADMIN@example.org"}, "exists already"),
    ({"role": "wizard"}, "Not a valid choice"),
    ({"role": ""}, "This field is required."),  # no role is chosen for the admin
    ({"password": "short-pass1"}, "Use at least 12 characters."),
    ({"password": "correcthorsebatterystaple"}, "too common"),
    ({"role": "liaison", "classes": []}, None),  # valid: a liaison officer without a school yet
    ({"classes": ["999999"]}, "Choose classes from the list."),
    ({"role": "liaison", "classes": [], "schools": ["NOPE"]}, "Choose schools from the list."),
    ({"name": ""}, "This field is required."),
])
def test_bad_input_is_refused_and_writes_nothing(admin, world, data, message):
    before = rows('SELECT count(*) FROM "user"')[0][0], rows("SELECT count(*) FROM audit_event")[0][0]
    form = {"email": "someone@example.org", "name": "Someone", "role": "teacher", "classes": [str(world.class_a.id)],
            "once": once(admin, "/admin/users/new"), **data}
    r = admin.post("/admin/users/new", data=form)
    if message is None:
        assert r.status_code == 200
        return
    assert r.status_code == 400, r.text
    assert message in r.text
    after = rows('SELECT count(*) FROM "user"')[0][0], rows("SELECT count(*) FROM audit_event")[0][0]
    assert after == before


# --- assignments -----------------------------------------------------------------------------------------------------

def test_revoking_a_class_takes_effect_on_the_teachers_next_request(admin, world):
    teacher = signed_in_as(world.teacher_a)
    assert teacher.get(f"/children/{world.child_a.code}").status_code == 200
    r = admin.post(f"/admin/users/{world.teacher_a.id}", data={"name": "teacher.a", "role": "teacher"})
    assert r.status_code == 302
    assert rows("SELECT count(*) FROM class_teacher WHERE user_id = :u", u=world.teacher_a.id)[0][0] == 0
    # the same session, not signed in again: scope reads the assignments on every request
    assert teacher.get(f"/children/{world.child_a.code}").status_code == 404
    assert "No classes are assigned to you yet" in teacher.get("/").text
    assert audit_actions(world.teacher_a.id)[-1] == "user_assignments_changed"

    r = admin.post(f"/admin/users/{world.teacher_a.id}",
                   data={"name": "teacher.a", "role": "teacher", "classes": [str(world.class_b.id)]})
    assert r.status_code == 302
    assert teacher.get(f"/children/{world.child_b.code}").status_code == 200


def test_changing_a_liaison_officers_schools_and_role(admin, world):
    officer = signed_in_as(world.liaison_a)
    assert officer.get(f"/children/{world.child_a.code}").status_code == 200
    r = admin.post(f"/admin/users/{world.liaison_a.id}",
                   data={"name": "Jelena", "role": "liaison", "schools": [world.school_b.code]})
    assert r.status_code == 302
    assert officer.get(f"/children/{world.child_a.code}").status_code == 404
    assert officer.get(f"/children/{world.child_b.code}").status_code == 200

    # the page shows (and saves) only the list of the role chosen: another role takes the schools away
    r = admin.post(f"/admin/users/{world.liaison_a.id}",
                   data={"name": "Jelena", "role": "teacher", "schools": [world.school_b.code]})
    assert r.status_code == 302 and user_row(world.liaison_a.email)[1] == "teacher"
    assert rows("SELECT count(*) FROM user_school WHERE user_id = :u", u=world.liaison_a.id)[0][0] == 0
    r = admin.post(f"/admin/users/{world.liaison_a.id}",
                   data={"name": "Jelena", "role": "partner"})
    assert r.status_code == 302
    assert user_row(world.liaison_a.email)[1] == "partner"
    assert officer.get(f"/children/{world.child_b.code}").status_code == 404  # partners see no records
    assert {"user_renamed", "user_role_changed", "user_assignments_changed"} <= set(audit_actions(world.liaison_a.id))


def test_the_page_of_a_user_shows_what_is_stored(admin, world):
    page = admin.get(f"/admin/users/{world.teacher_a.id}").text
    assert '<option selected value="teacher">' in page and 'value="admin"' in page
    assert f'id="classes-{world.class_a.id}" value="{world.class_a.id}" checked' in page
    assert "<details class=\"class-group\" open>" in page
    page = admin.get(f"/admin/users/{world.liaison_a.id}").text
    assert '<option selected value="liaison">' in page and f'value="{world.school_a.code}" checked' in page


def test_a_role_without_assignments_is_refused_by_the_operations(world):
    from tracker.auth import operations

    with pytest.raises(operations.UserError, match="only liaison officers are assigned schools"):
        operations.update_user(world.teacher_a, by=world.admin, role="teacher", school_codes=[world.school_a.code])
    with pytest.raises(operations.UserError, match="only teachers are assigned classes"):
        operations.create_user("p@example.org", "partner", None, class_ids=[world.class_a.id])
    db.session.rollback()


def test_an_unknown_user_is_404(admin):
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999/deactivate").status_code == 404
    assert admin.post("/admin/users/999999/password", data={}).status_code == 404


# --- deactivating ----------------------------------------------------------------------------------------------------

def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(admin, world):
    officer = signed_in_as(world.liaison_a)
    assert officer.get("/").status_code == 200
    r = admin.post(f"/admin/users/{world.liaison_a.id}/deactivate")
    assert r.status_code == 302
    assert "is deactivated" in admin.get(r.headers["Location"]).text
    r = officer.get("/")
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"  # her open session ended
    r = Auth(new_client()).login(world.liaison_a)
    assert r.status_code == 401 and "Email or password is wrong." in r.text

    assert admin.post(f"/admin/users/{world.liaison_a.id}/reactivate").status_code == 302
    assert Auth(new_client()).login(world.liaison_a).status_code == 302
    changes = [a for a in audit_actions(world.liaison_a.id) if a.startswith("user_")]
    assert changes == ["user_deactivated", "user_reactivated"]


def test_an_admin_cannot_deactivate_herself(admin, world):
    version = user_row(world.admin.email)[4]
    r = admin.post(f"/admin/users/{world.admin.id}/deactivate")
    assert r.status_code == 400 and "You cannot deactivate yourself" in r.text
    assert user_row(world.admin.email)[2] and user_row(world.admin.email)[4] == version
    assert admin.get("/admin/users").status_code == 200
    r = admin.post(f"/admin/users/{world.admin.id}", data={"name": "admin", "role": "liaison"})
    assert r.status_code == 400 and "cannot change your own role" in r.text
    assert user_row(world.admin.email)[1] == "admin"


def test_the_last_active_administrator_stays(admin, world):
    from tracker.auth import operations
    from tracker.models import User
    from tracker.types import Role

    second = User(email="second.admin@example.org", name="Second", role=Role.admin,
                  password_hash=world.admin.password_hash)
    db.session.add(second)
    db.session.commit()
    other = signed_in_as(second)
    # two administrators: one may take the other's rights away
    assert other.post(f"/admin/users/{world.admin.id}/deactivate").status_code == 302
    assert admin.get("/admin/users").status_code == 302  # signed out
    # now the second is the last one: nobody may deactivate her or change her role, whoever asks
    db.session.rollback()
    world_admin = db.session.get(User, world.admin.id)
    second = db.session.get(User, second.id)
    with pytest.raises(operations.UserError, match="last active administrator"):
        operations.set_active(second, False, by=world_admin)
    with pytest.raises(operations.UserError, match="last active administrator"):
        operations.update_user(second, by=world_admin, role="liaison")
    db.session.rollback()
    page = other.get(f"/admin/users/{second.id}").text
    assert "You cannot deactivate yourself" in page
    assert other.post(f"/admin/users/{world.admin.id}/reactivate").status_code == 302
    # with two again, the page offers deactivation of the other one
    assert 'action="/admin/users/%d/deactivate"' % second.id in admin_page(second.id, world)


def admin_page(user_id, world) -> str:
    return signed_in_as(world.admin).get(f"/admin/users/{user_id}").text


def test_the_page_tells_that_the_last_admin_cannot_be_deactivated(world):
    from tracker.models import User
    from tracker.types import Role

    second = User(email="second.admin@example.org", name="Second", role=Role.admin, active=False,
                  password_hash=world.admin.password_hash)
    db.session.add(second)
    db.session.commit()
    # seen by the only active admin, on her own page: she is told why there is no button
    page = signed_in_as(world.admin).get(f"/admin/users/{world.admin.id}").text
    assert "You cannot deactivate yourself" in page and "/deactivate" not in page


# --- one-time password -----------------------------------------------------------------------------------------------

def test_giving_a_one_time_password(admin, world):
    officer = signed_in_as(world.liaison_a)
    for _ in range(5):
        Auth(new_client()).login(world.liaison_a, "a wrong password here")
    assert Auth(new_client()).login(world.liaison_a).status_code == 429  # locked out from this address
    r = admin.post(f"/admin/users/{world.liaison_a.id}/password",
                   data={"once": once(admin, f"/admin/users/{world.liaison_a.id}")})
    assert r.status_code == 200
    password = shown_password(r.text)
    assert officer.get("/").status_code == 302  # her sessions ended
    assert Auth(new_client()).login(world.liaison_a).status_code == 401  # the old password is gone
    fresh = new_client()
    r = Auth(fresh).login(world.liaison_a, password)  # the lockout was lifted with it
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/account/password"
    assert fresh.get("/children/").status_code == 302
    assert audit_actions(world.liaison_a.id).count("password_reset") == 1

    # the same form sent again makes no other password
    again = admin.post(f"/admin/users/{world.liaison_a.id}/password", data={"once": "x"})
    assert again.status_code == 302 and Auth(new_client()).login(world.liaison_a, password).status_code == 302


def test_a_weak_one_time_password_is_refused(admin, world):
    before = user_row(world.liaison_a.email)
    r = admin.post(f"/admin/users/{world.liaison_a.id}/password",
                   data={"password": "short", "once": once(admin, f"/admin/users/{world.liaison_a.id}")})
    assert r.status_code == 400 and "Use at least 12 characters." in r.text
    assert user_row(world.liaison_a.email) == before
    assert "password_reset" not in audit_actions(world.liaison_a.id)


# --- lockout per account and source ----------------------------------------------------------------------------------

A = {"REMOTE_ADDR": "203.0.113.7"}
B = {"REMOTE_ADDR": "198.51.100.23"}


def login_from(environ, email, password):
    return new_client().post("/login", data={"email": email, "password": password}, environ_base=environ)


def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(world):
    email = world.teacher_a.email
    for i in range(5):
        assert login_from(A, email, f"wrong password {i}").status_code == 401
    locked = login_from(A, email, PASSWORD)  # the right password, from the address that failed
    assert locked.status_code == 429 and "Try again in 15 minutes." in locked.text
    assert login_from(B, email, PASSWORD).status_code == 302  # the teacher, on her own phone
    assert login_from(A, email, PASSWORD).status_code == 429  # still locked where the failures came from
    assert sorted(rows("SELECT source, failures FROM login_throttle WHERE email = :e", e=email)) == [
        (B["REMOTE_ADDR"], 0), (A["REMOTE_ADDR"], 7)]  # every attempt from A counted, the refused ones too


def test_the_failures_of_one_address_add_up_over_the_accounts_separately(world):
    for i in range(5):
        login_from(A, world.teacher_a.email, f"wrong {i} password")
    assert login_from(A, world.liaison_a.email, PASSWORD).status_code == 302  # another account, same address


class TestConfiguredWindow:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_FAILURE_WINDOW": dt.timedelta(minutes=10), "LOGIN_MAX_FAILURES": 3}

    def test_the_message_names_the_configured_window(self, world):
        for i in range(3):
            assert login_from(A, world.teacher_a.email, f"wrong password {i}").status_code == 401
        r = login_from(A, world.teacher_a.email, PASSWORD)
        assert r.status_code == 429 and "Try again in 10 minutes." in r.text and "15" not in r.text
