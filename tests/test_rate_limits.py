"""Rate limits counted in the database: failed sign-ins per source address (whatever the emails), requests per
API token; 429 with Retry-After (JSON for the API); the counts are shared by two application instances on one
database, as two workers (or two machines) share them."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, base_config
from tracker import create_app
from tracker.extensions import db


@pytest.fixture
def app_config():
    # The per-email lockout is set out of the way: what is refused here is the source address.
    return {"SIGNIN_RATE_LIMIT": 3, "SIGNIN_RATE_WINDOW": 600, "LOGIN_MAX_FAILURES": 100,
            "API_RATE_LIMIT": 4, "API_RATE_WINDOW": 3600}


@pytest.fixture
def second_worker(app, database_url, app_config, tmp_path):
    """Another application on the same database: what a second gunicorn worker (or machine) is."""
    other = create_app(base_config(database_url, **app_config))
    other.instance_path = str(tmp_path)
    yield other
    with other.app_context():
        db.engine.dispose()


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def _stored_hits(key: str) -> int | None:
    db.session.rollback()  # a fresh look at what the requests committed
    return db.session.scalar(sa.text("SELECT hits FROM rate_limit WHERE key = :k"), {"k": key})


def test_failed_sign_ins_from_one_address_are_limited_whatever_the_emails(app, world):
    client = _client(app, "192.0.2.10")
    for n in range(3):
        assert _sign_in(client, f"someone{n}@example.org", "wrong password here").status_code == 401
    refused = _sign_in(client, world.admin.email, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert "Too many sign-in attempts from your network" in refused.get_data(as_text=True)
    assert _stored_hits("signin:192.0.2.10") == 4  # the refused attempt is counted too (kept despite the 429)
    # Another address is not affected.
    assert _sign_in(_client(app, "192.0.2.11"), world.admin.email, PASSWORD).status_code == 302


def test_correct_sign_ins_do_not_use_up_the_limit(app, world):
    for _ in range(5):
        client = _client(app, "192.0.2.20")
        assert _sign_in(client, world.admin.email, PASSWORD).status_code == 302
    assert _stored_hits("signin:192.0.2.20") == 0
    assert _sign_in(_client(app, "192.0.2.20"), "nobody@example.org", "wrong password here").status_code == 401


def test_two_workers_share_the_sign_in_count(app, second_worker, world):
    first, second = _client(app, "198.51.100.7"), _client(second_worker, "198.51.100.7")
    assert _sign_in(first, "a@example.org", "wrong password here").status_code == 401
    assert _sign_in(second, "b@example.org", "wrong password here").status_code == 401
    assert _sign_in(first, "c@example.org", "wrong password here").status_code == 401
    assert _sign_in(second, world.admin.email, PASSWORD).status_code == 429
    assert _sign_in(first, world.admin.email, PASSWORD).status_code == 429


def test_an_invalid_form_is_not_counted(app, world):
    client = _client(app, "192.0.2.30")
    for _ in range(5):
        assert client.post("/login", data={"email": "", "password": ""}).status_code == 400
    assert _stored_hits("signin:192.0.2.30") is None


def _issue(user):
    from tracker.api import tokens

    token, _row = tokens.issue(user, "limit test", 30)
    db.session.commit()
    return token


def _me(client, token):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_api_requests_per_token_are_limited_with_a_json_429(app, second_worker, world):
    token, other_token = _issue(world.partner), _issue(world.partner)
    first, second = app.test_client(), second_worker.test_client()
    statuses = [_me(client, token).status_code for client in (first, second, first, second)]
    assert statuses == [200, 200, 200, 200]
    refused = _me(second, token)
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert refused.get_json()["error"]["status"] == 429
    assert "Too many requests" in refused.get_json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert _me(first, token).status_code == 429  # the other worker sees the same count
    assert _me(first, other_token).status_code == 200  # per token


def test_refused_api_requests_count_too(app, world):
    """A request answered 400 (a bad parameter) is rolled back, but its count is kept."""
    token = _issue(world.partner)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(4):
        assert client.get("/api/v1/indicators?nonsense=1", headers=headers).status_code == 400
    assert _me(client, token).status_code == 429


def test_a_new_window_starts_afresh(app, world):
    token = _issue(world.partner)
    client = app.test_client()
    for _ in range(4):
        assert _me(client, token).status_code == 200
    assert _me(client, token).status_code == 429
    db.session.rollback()
    db.session.execute(sa.text("UPDATE rate_limit SET window_start = :t"),
                       {"t": "2000-01-01 00:00:00.000000"})
    db.session.commit()
    assert _me(client, token).status_code == 200


@pytest.mark.parametrize("setting", ["SIGNIN_RATE_LIMIT", "API_RATE_LIMIT"])
def test_a_limit_of_zero_switches_it_off(app, world, setting):
    app.config[setting] = 0
    token = _issue(world.partner)
    client = _client(app, "192.0.2.40")
    for _ in range(6):
        if setting == "API_RATE_LIMIT":
            assert _me(client, token).status_code == 200
        else:
            assert _sign_in(client, "x@example.org", "wrong password here").status_code == 401
