"""Configuration, the database connection settings and the migrations."""
from __future__ import annotations

import datetime as dt
import os
import sqlite3

import pytest
import sqlalchemy as sa

from tests.conftest import base_config
from tracker import create_app
from tracker.extensions import db


def test_defaults_use_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + os.path.join(app.instance_path, "tracker.sqlite3")
    assert app.template_folder.endswith("templates")
    assert os.path.isdir(app.template_folder)


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("TRACKER_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("TRACKER_SUPPRESSION_K", "10")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.db"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SUPPRESSION_K"] == 10


def test_a_secret_key_is_created_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert oct(os.stat(tmp_path / "instance" / "secret_key").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_sqlite_connection_has_wal_foreign_keys_and_busy_timeout(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.parametrize("backend", ["sqlite"])
def test_foreign_keys_are_enforced(app):
    from tracker.models import Enrolment

    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(Enrolment).values(child_id=999, school_id=999, year_id=999, level="primary",
                                                      grade=1, start_date=dt.date(2025, 9, 1)))
        db.session.commit()
    db.session.rollback()


def test_migrations_match_the_models(app, runner):
    """`tracker db check` reports no drift on this database (SQLite and PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_migrations_go_down_and_up_again(app, runner):
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    assert "child" not in sa.inspect(db.engine).get_table_names()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert "child" in sa.inspect(db.engine).get_table_names()


def test_one_open_enrolment_per_child_is_enforced_by_the_database(app, world):
    from tracker.models import Enrolment

    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(Enrolment(child=world.child_a, school=world.school_b, year=world.year, level="primary",
                                 grade=5, start_date=world.year.first_day))
        db.session.commit()
    db.session.rollback()


def test_attendance_is_unique_per_enrolment_and_date(app, world):
    from tracker.models import AttendanceRecord

    e = world.child_a.open_enrolment
    db.session.add(AttendanceRecord(enrolment_id=e.id, date=world.year.first_day, status="present"))
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(AttendanceRecord(enrolment_id=e.id, date=world.year.first_day, status="late"))
        db.session.commit()
    db.session.rollback()


def test_flask_app_option_works_too(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "TRACKER_SECRET_KEY": "x"}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "plugins"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tracker.children.default_children" in out.stdout
