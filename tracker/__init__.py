"""tracker: enrolment, attendance, retention and learning of refugee and migrant children."""
from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import pluggy
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

hookimpl = pluggy.HookimplMarker("tracker")

ROOT = Path(__file__).resolve().parent.parent  # the checkout: tracker/, plugins/, templates/, migrations/


def _bundled(name: str) -> Path:
    """templates/ or migrations/: the installed package's copy (a wheel ships them inside tracker/), else the checkout's."""
    installed = Path(__file__).resolve().parent / name
    return installed if installed.is_dir() else ROOT / name


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL, foreign keys and a busy timeout on every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        timeout = getattr(_sqlite_pragmas, "busy_timeout_ms", 5000)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(timeout)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def _load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_object("tracker.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("TRACKER")
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config.pop("DATABASE_URL")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "tracker.sqlite3")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    _sqlite_pragmas.busy_timeout_ms = max(5000, int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 5000)))


def _instance_secret(app: Flask) -> str:
    """A random key kept in instance/secret_key, created on first run (readable by the owner only)."""
    path = Path(app.instance_path, "secret_key")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(_bundled("templates")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    _load_config(app, test_config)
    from tracker.reports.disclosure import Rules

    Rules.from_config(app.config)  # unusable disclosure parameters stop the start, with what is wrong

    from tracker import models  # noqa: F401 - every table on the metadata
    from tracker.extensions import babel, csrf, db, login_manager, migrate
    from tracker.i18n import select_locale
    from tracker.plugins import PluginError, collect, make_plugin_manager
    from tracker import unit_of_work
    from tracker.web import init_web

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_bundled("migrations")), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(Path(__file__).resolve().parent / "translations"))

    pm = make_plugin_manager(app.config)
    app.extensions["tracker_plugins"] = pm
    init_web(app)
    unit_of_work.init_app(app)

    from flask import Blueprint

    for plugin, bp in collect(pm, "register_blueprints", app=app):
        if not isinstance(bp, Blueprint):
            raise PluginError(f"plugin {plugin!r}: register_blueprints returned {bp!r}, not a Blueprint")
        app.register_blueprint(bp)

    import click

    owners = dict.fromkeys(("run", "shell", "routes", "db"), "flask")
    for plugin, cmd in collect(pm, "register_commands", cli=app.cli):
        if not isinstance(cmd, click.Command):
            raise PluginError(f"plugin {plugin!r}: register_commands returned {cmd!r}, not a click command")
        if cmd.name in owners:
            raise PluginError(f"plugin {plugin!r}: the command name {cmd.name!r} is taken (by {owners[cmd.name]!r})")
        owners[cmd.name] = plugin
        app.cli.add_command(cmd)

    from tracker.plugins import check_hooks

    check_hooks(app)  # every other collecting hook, once: a plugin breaking its contract stops the start

    for cmd in app.cli.commands.values():
        unit_of_work.wrap_command(cmd)
    pm.hook.startup(app=app)
    return app
