"""/healthz: 200 "ok" while the process serves requests (no database). /readyz: 200 "ready" when a trivial query
answers and the database is at the migrations' head, else 503 with a short reason. Plain text, no-store, no
session, nothing written, nothing in the audit, never rate limited. The reasons name no data."""
from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from flask import Blueprint, current_app

from tracker.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _plain(text: str, status: int):
    return text + "\n", status, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@functools.lru_cache(maxsize=8)
def script_heads(directory: str) -> frozenset[str]:
    """The heads of the migration scripts on disk: fixed for the life of the process (new code means a new
    process), so caching them per directory is safe with any number of workers."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(directory).get_heads())


def database_heads(connection) -> frozenset[str]:
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(connection).get_current_heads())


def readiness() -> str | None:
    """None when ready, else the reason (short, no data)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = database_heads(connection)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready"
        log.warning("readiness: the database is not reachable (%s)", type(exc).__name__)
        return "database unreachable"
    directory = current_app.extensions["migrate"].directory
    if current != script_heads(directory):
        return "database migrations not current"
    return None


@bp.route("/healthz")
def healthz():
    return _plain("ok", 200)


@bp.route("/readyz")
def readyz():
    reason = readiness()
    if reason:
        return _plain(f"not ready: {reason}", 503)
    return _plain("ready", 200)
