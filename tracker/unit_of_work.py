"""One unit of work per request and per command: operations write and flush, this commits once.

Operations never commit. A request commits when its response is a success or a redirect and
rolls back when it answers 4xx/5xx or raises, so a refused change leaves nothing half-written.
An operation whose writes must stand even though the request is refused (a failed sign-in is
counted) says so with ``keep()``. Every ``tracker`` command commits once when it returns and rolls
back when it fails.

Event hooks (``child_registered``, ``attendance_saved``, ...) are queued with ``queue()`` while the
transaction is open and delivered by ``commit()`` once the commit has succeeded; a rollback drops
them, so a plugin never hears of a change that was not saved.
"""
from __future__ import annotations

import functools
import logging

import click
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.extensions import db

log = logging.getLogger(__name__)

_PENDING = "tracker_pending_events"
_KEEP = "tracker_keep_on_error"
MAX_ROUNDS = 5  # a hook that writes and so queues more events: delivered in further rounds, bounded


def queue(hook: str, **kwargs) -> None:
    """Deliver event hook ``hook`` with ``kwargs`` after the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append((hook, kwargs))


def keep() -> None:
    """The writes of this transaction stand even though the request answers with an error status."""
    db.session.info[_KEEP] = True


def pending() -> list[tuple[str, dict]]:
    """The events queued in the open transaction (for tests and diagnostics)."""
    return list(db.session.info.get(_PENDING, ()))


def commit() -> None:
    """Commit the open transaction, then deliver the events it queued (in the order queued)."""
    from tracker.plugins import fire

    db.session.commit()
    for _round in range(MAX_ROUNDS):
        events = db.session.info.pop(_PENDING, [])
        if not events:
            return
        for hook, kwargs in events:
            fire(hook, **kwargs)
        try:
            db.session.commit()  # what the hooks wrote; the change they were told of is saved already
        except Exception:  # noqa: BLE001 - a plugin's failed write must not turn a saved change into an error
            log.exception("the writes of event hooks could not be saved")
            db.session.rollback()
            return
    log.error("event hooks kept queueing events after %d rounds; the rest were dropped", MAX_ROUNDS)
    db.session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_events(session: Session, previous_transaction) -> None:
    # Only when the whole transaction rolls back: a SAVEPOINT rolled back and retried (a register
    # save after a deadlock) leaves what the rest of the transaction queued, and its keep().
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_KEEP, None)


@event.listens_for(Session, "after_commit")
def _clear_keep(session: Session) -> None:
    session.info.pop(_KEEP, None)


def finish_request(response):
    """Commit a request that succeeded (status < 400, or kept); roll back any other."""
    if response.status_code < 400 or db.session.info.get(_KEEP):
        try:
            commit()
        except Exception:
            db.session.rollback()
            raise
    else:
        db.session.rollback()
    return response


def wrap_command(cmd: click.Command) -> None:
    """Make ``cmd`` (and, for a group, every subcommand) commit once when it returns, roll back if it fails."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            wrap_command(sub)
    if cmd.callback is None or getattr(cmd.callback, "_tracker_unit_of_work", False):
        return
    inner = cmd.callback

    @functools.wraps(inner)
    def run(*args, **kwargs):
        try:
            result = inner(*args, **kwargs)
        except BaseException:
            if has_app_context():
                db.session.rollback()
            raise
        if has_app_context() and "sqlalchemy" in current_app.extensions:
            commit()
        return result

    run._tracker_unit_of_work = True
    cmd.callback = run


def init_app(app: Flask) -> None:
    """Commit each request once and tell plugins afterwards; ``create_app`` wraps each command."""

    @app.after_request
    def _unit_of_work(response):
        return finish_request(response)

    @app.teardown_request
    def _roll_back_on_error(exc):
        if exc is not None:
            db.session.rollback()
