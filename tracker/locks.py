"""One run at a time of a periodic command (``tracker flags refresh``, ``tracker report``, ...).

A timer that fires while the previous run is still going, or an administrator who starts a command by
hand while the timer runs it, must not run it twice at once. ``single_run(name)`` decorates a command: it
takes the lock named after the command before the command does anything and releases it after the
command's unit of work has committed (or rolled back, when the command fails).
A second run that finds the lock taken writes nothing, says who holds it and since when, and exits with
``EX_TEMPFAIL`` (75), which a systemd unit treats as success with ``SuccessExitStatus=75``.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) keyed on the command's name, held
  by a connection of its own. The server releases it when that connection ends, so a killed run leaves
  nothing behind. The holder is found through ``pg_locks`` and ``pg_stat_activity``: its connection's
  ``application_name`` names the command, the process id and the host.
- SQLite: a row in ``command_lock`` (name, pid, host, start time), inserted in its own short
  transaction and deleted at the end. A row whose process is gone (same host, pid not running) or that
  is older than ``COMMAND_LOCK_STALE_AFTER`` seconds is stale and is taken over. This row is written
  outside the command's unit of work on purpose: other processes must see it before the command's own
  transaction commits, and it must go when that transaction rolls back.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from typing import Callable

import click
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db

log = logging.getLogger(__name__)

EX_TEMPFAIL = 75  # sysexits.h: "temporary failure; try again later"
DEFAULT_STALE_AFTER = 6 * 3600  # seconds; COMMAND_LOCK_STALE_AFTER overrides it
_PG_NAMESPACE = 0x7472  # the first key of every tracker advisory lock ("tr"); the second is the name's hash
_APP_NAME = re.compile(r"^tracker\[(?P<pid>\d+)@(?P<host>[^\]]*)\]")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class CommandLock(db.Model):
    """A periodic command running now (SQLite; on PostgreSQL an advisory lock does the same)."""

    __tablename__ = "command_lock"
    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    pid: Mapped[int] = mapped_column(sa.Integer)
    host: Mapped[str] = mapped_column(sa.String(255))
    started_at: Mapped[dt.datetime] = mapped_column(sa.DateTime)  # UTC
    token: Mapped[str] = mapped_column(sa.String(32))  # this run's, so a release never deletes a successor's row


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as far as the database tells (pid, host or start may be unknown)."""

    name: str
    pid: int | None = None
    host: str | None = None
    since: dt.datetime | None = None  # UTC, naive

    def describe(self) -> str:
        parts = [f"another `tracker {self.name}` is running"]
        if self.since is not None:
            parts.append(f" since {self.since:%Y-%m-%d %H:%M:%S} UTC")
        if self.pid is not None:
            parts.append(f", started by pid {self.pid}" + (f" on {self.host}" if self.host else ""))
        return "".join(parts)


class LockBusy(Exception):
    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder


def pg_keys(name: str) -> tuple[int, int]:
    """The two int4 keys of the advisory lock for ``name``: tracker's namespace and a stable hash."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return _PG_NAMESPACE, int.from_bytes(digest[:4], "big", signed=True)


def _stale_after() -> float:
    from flask import current_app

    return float(current_app.config.get("COMMAND_LOCK_STALE_AFTER", DEFAULT_STALE_AFTER))


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


class Lock:
    """A lock taken by this process; ``release()`` gives it back (twice is harmless)."""

    def __init__(self, name: str, release: Callable[[], None]) -> None:
        self.name = name
        self._release = release
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._release()

    def __enter__(self) -> "Lock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _fit(name: str) -> str:
    """The name as kept: at most 200 characters (a longer one ends in a hash of the whole)."""
    return name if len(name) <= 200 else name[:160] + " #" + hashlib.sha256(name.encode()).hexdigest()[:16]


def acquire(name: str, *, stale_after: float | None = None) -> Lock:
    """Take the lock ``name`` now or raise ``LockBusy`` naming its holder; never waits for it."""
    name = _fit(name)
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return _acquire_pg(engine, name)
    return _acquire_table(engine, name, _stale_after() if stale_after is None else stale_after)


def holder(name: str) -> Holder | None:
    """Who holds ``name`` now, or None."""
    name = _fit(name)
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return _pg_holder(conn, name)
    with engine.connect() as conn:
        row = conn.execute(sa.select(CommandLock.__table__).where(CommandLock.name == name)).first()
    return Holder(name, row.pid, row.host, row.started_at) if row else None


# PostgreSQL ----------------------------------------------------------------------------------------------------

def _acquire_pg(engine: sa.Engine, name: str) -> Lock:
    k1, k2 = pg_keys(name)
    # A connection of its own, in autocommit: the lock outlives no transaction and leaves with the connection,
    # which is closed (never given back to the pool with its application_name) when the lock is released.
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        app_name = f"tracker[{os.getpid()}@{socket.gethostname()}]: {name}"[:63]
        got = conn.execute(sa.text("SELECT set_config('application_name', :app, false), "
                                   "pg_try_advisory_lock(:k1, :k2)"), {"app": app_name, "k1": k1, "k2": k2}).one()[1]
        if not got:
            raise LockBusy(_pg_holder(conn, name) or Holder(name))
    except BaseException:
        conn.invalidate()
        conn.close()
        raise

    def release() -> None:
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k1, :k2)"), {"k1": k1, "k2": k2})
        except sa.exc.DBAPIError:  # the connection is gone, and with it the lock
            log.warning("the connection holding the lock %r was lost before its release", name)
        finally:
            conn.invalidate()
            conn.close()

    return Lock(name, release)


def _pg_holder(conn: sa.Connection, name: str) -> Holder | None:
    k1, k2 = pg_keys(name)
    row = conn.execute(sa.text(
        "SELECT a.application_name, a.query_start AT TIME ZONE 'UTC' AS since "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = :k1 AND l.objid::bigint = :k2u"), {"k1": k1, "k2u": k2 & 0xFFFFFFFF}).first()
    if row is None:
        return None
    match = _APP_NAME.match(row.application_name or "")
    if match is None:
        return Holder(name, since=row.since)
    return Holder(name, int(match["pid"]), match["host"], row.since)


# SQLite (any database without advisory locks) -----------------------------------------------------------------

def _acquire_table(engine: sa.Engine, name: str, stale_after: float) -> Lock:
    table = CommandLock.__table__
    mine = {"name": name, "pid": os.getpid(), "host": socket.gethostname(), "token": secrets.token_hex(16)}

    def live(row) -> bool:
        if row.host == mine["host"] and not _pid_running(row.pid):
            return False
        return (_utcnow() - row.started_at).total_seconds() < stale_after

    with engine.connect() as conn:
        # A live holder is seen by a read, which never waits for a writer.
        row = conn.execute(sa.select(table).where(table.c.name == name)).first()
        conn.rollback()
        if row is not None and live(row):
            raise LockBusy(Holder(name, row.pid, row.host, row.started_at))
        try:
            with conn.begin():  # its own short transaction
                started = _utcnow()
                if row is None:
                    done = conn.execute(sa.insert(table).prefix_with("OR IGNORE").values(started_at=started, **mine))
                else:  # stale: take it over, unless someone else has just done so
                    log.warning("taking over the stale lock %r of pid %s on %s since %s", name, row.pid, row.host,
                                row.started_at)
                    done = conn.execute(sa.update(table).where(table.c.name == name, table.c.token == row.token)
                                        .values(started_at=started, **mine))
        except sa.exc.OperationalError:  # a writer held the database past the busy timeout
            now = conn.execute(sa.select(table).where(table.c.name == name)).first()
            conn.rollback()
            if now is not None and (row is None or now.token != row.token) and live(now):
                raise LockBusy(Holder(name, now.pid, now.host, now.started_at)) from None
            raise
        if done.rowcount != 1:  # another run got in between the read and the write
            now = conn.execute(sa.select(table).where(table.c.name == name)).first()
            conn.rollback()
            raise LockBusy(Holder(name, now.pid, now.host, now.started_at) if now else Holder(name))

    def release() -> None:
        with engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.name == name, table.c.token == mine["token"]))

    return Lock(name, release)


def by_path(param: str) -> Callable[[dict], str]:
    """For ``single_run(per=...)``: one lock per output file (the absolute path of parameter ``param``)."""
    def suffix(params: dict) -> str:
        value = params.get(param)
        return "-" if value in (None, "-") else os.path.abspath(value)

    return suffix


# The decorator ------------------------------------------------------------------------------------------------

def single_run(name: str | None = None, per: Callable[[dict], str] | tuple[str, ...] = ()):
    """Decorate a click command (above ``@...command(...)``) so that only one run of it goes at a time.

    ``name`` is the lock's name (default: the command's); ``per`` narrows it: parameter names whose values
    join the name (``("slug", "code")``: one run per integration and school), or a function of the command's
    parameters returning a suffix. The lock is taken after the arguments are checked and before the
    command's callback runs, and released after the command's unit of work has committed or rolled back.
    """
    def decorate(cmd: click.Command) -> click.Command:
        base = name or cmd.name
        invoke = cmd.invoke

        def locked_invoke(ctx: click.Context):
            from flask import current_app
            from flask.cli import ScriptInfo

            if not current_app:
                ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
            suffix = per(ctx.params) if callable(per) else " ".join(str(ctx.params.get(p)) for p in per)
            try:
                lock = acquire(f"{base} {suffix}".strip())
            except LockBusy as busy:
                click.echo(f"{busy}; nothing was done (exit code {EX_TEMPFAIL})", err=True)
                ctx.exit(EX_TEMPFAIL)
            try:
                return invoke(ctx)
            finally:
                lock.release()

        cmd.invoke = locked_invoke
        cmd.tracker_lock_name = base
        return cmd

    return decorate
