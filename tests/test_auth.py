"""Signing in and out as users meet it: messages, lockout, session ends, cookies, headers, CSRF,
redirects after sign-in, the create-user command and the audit trail of sign-ins."""
from __future__ import annotations

import datetime as dt
import re
import time
from urllib.parse import urlsplit

import flask
import itsdangerous
import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Auth, base_config
from tracker import create_app
from tracker.extensions import db

NEW_PASSWORD = "a fresh long passphrase 4 me"


# Each request ends its transaction, as in production (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("production_like_requests")


@pytest.fixture
def other_app(database_url):
    """Factory: another app on the same database, as another worker process would be."""
    made = []

    def make(**config):
        cfg = base_config(database_url, **config)
        for key in [k for k, v in config.items() if v is ...]:
            del cfg[key]  # ``KEY=...`` leaves the setting at its default
        new = create_app(cfg)
        made.append(new)
        return new

    yield make
    for a in made:
        with a.app_context():
            db.engine.dispose()


def rows(sql: str, **params) -> list:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def signed_in(client) -> bool:
    r = client.get("/")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def csrf_token(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', r.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, "no CSRF token on the page"
    return m.group(1)


# --- wrong passwords and lockout ---------------------------------------------------------


def test_wrong_password_is_401_and_does_not_tell_whether_the_email_exists(client, auth, world):
    known = auth.login(world.liaison_a, "not the right password")
    unknown = auth.login("nobody@example.org", "not the right password")
    assert known.status_code == unknown.status_code == 401
    assert "Email or password is wrong." in known.text
    # the two pages differ only by the email echoed back in the form
    assert known.text.replace(world.liaison_a.email, "EMAIL") == unknown.text.replace("nobody@example.org", "EMAIL")
    assert not signed_in(client)


def test_inactive_user_cannot_sign_in_and_their_session_ends(client, auth, world):
    assert auth.login(world.teacher_a).status_code == 302
    world.teacher_a.active = False
    db.session.commit()
    assert not signed_in(client)
    r = auth.login(world.teacher_a)
    assert r.status_code == 401 and "Email or password is wrong." in r.text


def test_five_failures_lock_the_account_and_the_counter_is_in_the_database(client, auth, world, other_app):
    email = world.liaison_a.email
    for i in range(5):
        r = auth.login(email.upper() if i % 2 else email, f"wrong password {i}")
        assert r.status_code == 401, i
    r = auth.login(world.liaison_a)  # the right password, 6th attempt
    assert r.status_code == 429
    assert "Too many failed attempts" in r.text
    assert not signed_in(client)

    failures = rows("SELECT email, success FROM login_attempt WHERE email = :e", e=email)
    assert len(failures) == 5 and not any(success for _, success in failures)

    # another worker process (a fresh app on the same database) refuses too: not an in-memory counter
    fresh = other_app()
    r = Auth(fresh.test_client()).login(world.liaison_a)
    assert r.status_code == 429

    # other accounts are not affected
    other = app_client()
    assert Auth(other).login(world.liaison_b).status_code == 302

    # after the 15-minute window the right password works again
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE login_throttle SET window_start = :t WHERE email = :e"),
                     {"t": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=16), "e": email})
    assert auth.login(world.liaison_a).status_code == 302
    assert signed_in(client)


def test_unknown_emails_are_locked_out_the_same_way(client, auth, world):
    for _ in range(5):
        assert auth.login("ghost@example.org", "whatever it is").status_code == 401
    assert auth.login("ghost@example.org", "whatever it is").status_code == 429


def app_client():
    return flask.current_app.test_client()


# --- ending sessions ---------------------------------------------------------------------


def test_logout_ends_every_session_of_the_user(client, auth, world):
    second = app_client()
    assert auth.login(world.liaison_a).status_code == 302
    assert Auth(second).login(world.liaison_a).status_code == 302
    assert signed_in(client) and signed_in(second)

    r = auth.logout()
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"
    assert not signed_in(client)
    assert not signed_in(second)
    r = second.get(f"/children/{world.child_a.code}")
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"


def test_password_change_ends_other_sessions(client, auth, world):
    second = app_client()
    assert auth.login(world.liaison_a).status_code == 302
    assert Auth(second).login(world.liaison_a).status_code == 302

    r = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD})
    assert r.status_code == 302
    assert not signed_in(second)
    assert not signed_in(client)
    assert auth.login(world.liaison_a).status_code == 401
    assert auth.login(world.liaison_a, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("new, message", [
    ("short-pass1", "Use at least 12 characters."),
    ("", "This field is required."),
    ("correcthorsebatterystaple", "too common"),
    ("CorrectHorseBatteryStaple", "too common"),
    ("123456789012", "too common"),
    ("aaaaaaaaaaaaaaaa", "too common"),
    ("abababababababab", "too common"),
    ("liaison.a@example.org", "must not be your email address"),
])
def test_password_change_refuses_weak_passwords(client, auth, world, new, message):
    second = app_client()
    assert auth.login(world.liaison_a).status_code == 302
    assert Auth(second).login(world.liaison_a).status_code == 302
    old_hash = rows("SELECT password_hash FROM \"user\" WHERE id = :i", i=world.liaison_a.id)[0][0]

    r = client.post("/account/password", data={"current": PASSWORD, "new": new})
    assert r.status_code == 400
    assert message in r.text
    assert 'id="new-err"' in r.text
    assert rows("SELECT password_hash FROM \"user\" WHERE id = :i", i=world.liaison_a.id)[0][0] == old_hash
    assert signed_in(client) and signed_in(second)


def test_password_change_needs_the_current_password(client, auth, world):
    assert auth.login(world.liaison_a).status_code == 302
    r = client.post("/account/password", data={"current": "not my password", "new": NEW_PASSWORD})
    assert r.status_code == 400
    assert "The current password is wrong." in r.text
    assert signed_in(client)


# --- session limits ----------------------------------------------------------------------


def test_absolute_session_limit_of_twelve_hours(client, auth, world):
    assert auth.login(world.liaison_a).status_code == 302
    with client.session_transaction() as s:
        s["login_at"] -= 11 * 3600 + 59 * 60
    assert signed_in(client)
    with client.session_transaction() as s:
        s["login_at"] -= 2 * 60  # now 12 h 01 min ago
    r = client.get(f"/children/{world.child_a.code}")
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"
    assert not signed_in(client)


def test_session_without_sign_in_time_is_not_accepted(client, auth, world):
    assert auth.login(world.liaison_a).status_code == 302
    with client.session_transaction() as s:
        del s["login_at"]
    assert not signed_in(client)


def test_idle_limit_of_thirty_minutes_slides_with_each_request(client, auth, world, monkeypatch):
    assert auth.login(world.liaison_a).status_code == 302
    start = time.time()

    def at(minutes):
        monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                            lambda self: int(start + minutes * 60))

    at(29)
    assert signed_in(client)  # 29 min idle: still signed in, and the cookie is refreshed
    at(58)
    assert signed_in(client)  # 29 min after the last request
    at(58 + 31)
    assert not signed_in(client)  # 31 min idle


# --- cookies and headers -----------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client, auth, world):
    cookie = session_cookie(auth.login(world.liaison_a)).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_session_cookie_is_secure_in_the_default_configuration(world, other_app):
    default = other_app(SESSION_COOKIE_SECURE=..., REMEMBER_COOKIE_SECURE=...)
    assert default.config["SESSION_COOKIE_SECURE"] is True
    c = default.test_client()
    r = c.post("/login", base_url="https://localhost", data={"email": world.liaison_a.email, "password": PASSWORD})
    assert r.status_code == 302
    cookie = session_cookie(r).lower()
    assert "; secure" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert c.get("/", base_url="https://localhost").status_code == 200


def test_security_headers_on_a_signed_in_page(client, auth, world):
    auth.login(world.liaison_a)
    for url in ("/", "/children/", f"/children/{world.child_a.code}"):
        r = client.get(url)
        assert r.status_code == 200
        csp = r.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp, url
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert r.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin",
                                                    "strict-origin-when-cross-origin")
        assert "no-store" in r.headers.get("Cache-Control", ""), url
    # and on the sign-in page too (without no-store being required there)
    auth.logout()
    r = client.get("/login")
    assert "default-src 'self'" in r.headers.get("Content-Security-Policy", "")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


# --- CSRF --------------------------------------------------------------------------------


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def login(self, client, user):
        token = csrf_token(client, "/login")
        return client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})

    def test_login_without_token_is_refused(self, client, world):
        r = client.post("/login", data={"email": world.liaison_a.email, "password": PASSWORD})
        assert r.status_code == 400
        assert not signed_in(client)
        assert rows("SELECT count(*) FROM login_attempt")[0][0] == 0
        assert self.login(client, world.liaison_a).status_code == 302
        assert signed_in(client)

    def test_post_without_token_is_refused_and_writes_nothing(self, client, world):
        from tests.conftest import count
        from tracker.models import Child

        assert self.login(client, world.liaison_a).status_code == 302
        form = {"given_name": "Amina", "family_name": "Jafari", "sex": "female", "birth_date": "2015-02-03",
                "country": "AFG", "first_language": "prs", "uasc_status": "accompanied", "legal_basis": "public_task"}
        before = count(Child)
        r = client.post("/children/new", data=form)
        assert r.status_code == 400
        assert count(Child) == before
        r = client.post("/children/new", data={**form, "csrf_token": "forged-token"})
        assert r.status_code == 400
        assert count(Child) == before

        end = dt.date.today().isoformat()
        r = client.post(f"/children/{world.child_a.code}/exit", data={"end_date": end, "reason": "dropped_out"})
        assert r.status_code == 400
        assert rows("SELECT count(*) FROM enrolment WHERE end_date IS NOT NULL")[0][0] == 0

        # logout without a token does not sign out (no cross-site sign-out)
        assert client.post("/logout").status_code == 400
        assert signed_in(client)

        # with the token from the page, the same registration goes through
        token = csrf_token(client, "/children/new")
        r = client.post("/children/new", data={**form, "csrf_token": token})
        assert r.status_code == 302, r.text
        assert count(Child) == before + 1

    def test_token_of_another_session_is_refused(self, client, world):
        from tests.conftest import count
        from tracker.models import Child

        attacker = app_client()
        assert self.login(attacker, world.liaison_b).status_code == 302
        stolen = csrf_token(attacker, "/children/new")
        assert self.login(client, world.liaison_a).status_code == 302
        before = count(Child)
        r = client.post("/children/new", data={"given_name": "Amina", "family_name": "Jafari", "sex": "female",
                                               "birth_date": "2015-02-03", "country": "AFG", "first_language": "prs",
                                               "uasc_status": "accompanied", "legal_basis": "public_task",
                                               "csrf_token": stolen})
        assert r.status_code == 400
        assert count(Child) == before


# --- redirect after sign-in --------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",  # browsers drop tabs and newlines from URLs: this is //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
])
def test_login_does_not_redirect_to_another_site(app, client, world, target):
    app.testing = False  # answer with an error page as in production instead of raising into the test
    r = client.post("/login", query_string={"next": target},
                    data={"email": world.liaison_a.email, "password": PASSWORD})
    assert r.status_code < 500, r.status_code  # a 4xx, or a redirect to a page of this site
    if r.status_code not in (301, 302, 303, 307, 308):
        return
    location = r.headers["Location"]
    parts = urlsplit(location.replace("\t", "").replace("\n", "").replace("\r", ""))
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert not location.replace("\t", "").replace("\n", "").replace("\r", "").startswith("//"), location
    assert "evil.example" not in location


def test_login_follows_a_local_next(client, world):
    r = client.post("/login?next=/children/%3Fq%3DAhmad",
                    data={"email": world.liaison_a.email, "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == "/children/?q=Ahmad"


def test_signed_out_user_is_sent_to_login_with_a_local_next(client, world):
    r = client.get(f"/children/{world.child_a.code}")
    assert r.status_code == 302
    parts = urlsplit(r.headers["Location"])
    assert parts.path == "/login" and parts.netloc in ("", "localhost")


# --- create-user -------------------------------------------------------------------------


def password_file(tmp_path, password: str) -> str:
    path = tmp_path / "pw.txt"
    path.write_text(password + "\n", encoding="utf-8")
    return str(path)


def user_rows(email):
    return rows('SELECT id, role FROM "user" WHERE email = :e', e=email)


def test_create_user_command(runner, client, world, tmp_path):
    result = runner.invoke(args=["create-user", "New.Liaison@example.org", "--role", "liaison", "--school",
                                 world.school_a.code, "--password-file", password_file(tmp_path, NEW_PASSWORD)])
    assert result.exit_code == 0, result.output
    assert "Created liaison new.liaison@example.org" in result.output
    [(uid, role)] = user_rows("new.liaison@example.org")
    assert role == "liaison"
    assert rows("SELECT school_id FROM user_school WHERE user_id = :u", u=uid) == [(world.school_a.id,)]
    # the new user signs in with that password and sees their school's child
    auth = Auth(client)
    assert auth.login("new.liaison@example.org", NEW_PASSWORD).status_code == 302
    assert client.get(f"/children/{world.child_a.code}").status_code == 200
    assert client.get(f"/children/{world.child_b.code}").status_code == 404
    stored = rows('SELECT password_hash FROM "user" WHERE id = :u', u=uid)[0][0]
    assert stored.startswith("scrypt:") and NEW_PASSWORD not in stored


def test_create_user_reads_the_password_from_stdin(runner, world):
    result = runner.invoke(args=["create-user", "teacher.new@example.org", "--role", "teacher", "--class",
                                 str(world.class_a.id)], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert user_rows("teacher.new@example.org")


@pytest.mark.parametrize("args, password, message", [
    (["--role", "liaison"], "short-pass1", "Use at least 12 characters."),
    (["--role", "liaison"], "correcthorsebatterystaple", "too common"),
    (["--role", "liaison", "--school", "NOPE99"], NEW_PASSWORD, "no school with code 'NOPE99'"),
    (["--role", "teacher", "--school", "SA001"], NEW_PASSWORD, "only liaison officers are assigned schools"),
    (["--role", "teacher", "--class", "999999"], NEW_PASSWORD, "no class with id"),
    (["--role", "wizard"], NEW_PASSWORD, "wizard"),
])
def test_create_user_refusals(runner, world, tmp_path, args, password, message):
    result = runner.invoke(args=["create-user", "someone@example.org", *args,
                                 "--password-file", password_file(tmp_path, password)])
    assert result.exit_code != 0
    assert message in result.output
    assert user_rows("someone@example.org") == []


@pytest.mark.parametrize("email", ["admin@example.org", "ADMIN@Example.org", " admin@example.org "])
def test_create_user_refuses_a_duplicate_email(runner, world, tmp_path, email):
    before = rows('SELECT count(*) FROM "user"')[0][0]
    result = runner.invoke(args=["create-user", email, "--role", "admin",
                                 "--password-file", password_file(tmp_path, NEW_PASSWORD)])
    assert result.exit_code != 0
    assert "exists already" in result.output
    assert rows('SELECT count(*) FROM "user"')[0][0] == before


# --- audit of sign-ins -------------------------------------------------------------------


def test_sign_ins_and_failures_are_audited_without_secrets(client, auth, world):
    auth.login(world.liaison_a, "a wrong password here")
    auth.login("nobody@example.org", "a wrong password here")
    auth.login(world.liaison_a)
    events = rows("SELECT action, user_id, object_type, object_id FROM audit_event "
                  "WHERE action IN ('login', 'login_failed') ORDER BY id")
    assert [(a, u) for a, u, _, _ in events] == [
        ("login_failed", None), ("login_failed", None), ("login", world.liaison_a.id)]
    assert events[2][2:] == ("user", str(world.liaison_a.id))
    everything = " ".join(str(v) for row in rows("SELECT * FROM audit_event") for v in row)
    for secret in (PASSWORD, "a wrong password here"):
        assert secret not in everything


def test_locked_attempts_are_audited(client, auth, world):
    for _ in range(5):
        auth.login(world.liaison_a, "a wrong password here")
    auth.login(world.liaison_a)
    assert rows("SELECT count(*) FROM audit_event WHERE action = 'login_locked'")[0][0] == 1
