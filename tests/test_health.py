"""/healthz and /readyz as a load balancer sees them: plain answers, no sign-in, no cookie, no audit, no data;
/readyz refuses (503) a database one migration behind or out of reach."""
from __future__ import annotations

import pytest

from tests.conftest import base_config, count
from tracker import create_app
from tracker.extensions import db


def _no_cookie_no_store(response):
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/plain"


def test_healthz_and_readyz_answer_without_sign_in(client, world):
    from tracker.audit.models import AuditEvent

    before = count(AuditEvent)
    for _ in range(50):  # never rate limited
        health = client.get("/healthz")
        assert (health.status_code, health.get_data(as_text=True)) == (200, "ok\n")
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_data(as_text=True)) == (200, "ready\n")
    for response in (health, ready):
        _no_cookie_no_store(response)
        assert world.child_a.code not in response.get_data(as_text=True)
    assert count(AuditEvent) == before


def test_readyz_refuses_a_database_one_migration_behind(app, client):
    from flask_migrate import downgrade

    downgrade(revision="-1")
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_data(as_text=True) == "not ready: database migrations not current\n"
    _no_cookie_no_store(ready)
    assert client.get("/healthz").status_code == 200  # the process is up all the same


@pytest.mark.parametrize("url", [
    "sqlite:////nonexistent-directory/tracker.sqlite3",
    "postgresql+psycopg://tracker@127.0.0.1:1/tracker?connect_timeout=2",
])
def test_readyz_refuses_an_unreachable_database(tmp_path, url):
    app = create_app(base_config(url))
    app.instance_path = str(tmp_path)
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_data(as_text=True) == "not ready: database unreachable\n"
    assert client.get("/healthz").get_data(as_text=True) == "ok\n"
    with app.app_context():
        db.engine.dispose()


def test_the_health_plugin_can_be_blocked(database_url, tmp_path):
    app = create_app(base_config(database_url, BLOCKED_PLUGINS=["tracker.health.default_health"]))
    app.instance_path = str(tmp_path)
    assert app.test_client().get("/healthz").status_code == 404
    with app.app_context():
        db.engine.dispose()
