"""``tracker backup`` and ``tracker restore``: consistent online backups that restore.

SQLite: the backup API copies the configured file page by page while the app keeps writing. The
source connection holds one read transaction for the whole copy, so every page comes from the same
snapshot (WAL mode lets writers go on meanwhile, and a write by another connection does not restart
the copy). The copy is turned into a standalone file (journal mode DELETE, nothing left in a WAL),
checked with ``PRAGMA integrity_check``, and only then renamed to its final name.

PostgreSQL: ``pg_dump --format=custom`` (one repeatable-read snapshot) of the server's major version,
the connection handed over in PG* environment variables, never on the command line; the archive is
read back with ``pg_restore --list`` before it is renamed.

Restore refuses a target that holds any table: it is for bringing a backup back into an empty
database, never for merging into or overwriting one. See docs/backup.md.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from tracker import hookimpl

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
PAGES_PER_STEP = 256
COUNTED = (("children", "child"), ("enrolments", "enrolment"), ("attendance records", "attendance_record"))


class BackupError(click.ClickException):
    """A failed backup or restore: the message says what and the exit code is 1 (2 for a refusal)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


# -- helpers -----------------------------------------------------------------------------------------------


def _url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _engine_kind(url) -> str:
    backend = url.get_backend_name()
    if backend in ("sqlite", "postgresql"):
        return backend
    raise BackupError(f"backups are supported on SQLite and PostgreSQL, not {backend!r}")


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("the configured SQLite database is not a file (set TRACKER_DATABASE_URL to sqlite:////path)")
    return Path(url.database)


def _human_size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


class Progress:
    """A progress line redrawn in place on a terminal; silent otherwise (the summary line says the rest)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = False

    def update(self, done: int, total: int | None = None, unit: str = "") -> None:
        if not self.tty:
            return
        if total:
            width = 30
            filled = int(width * done / total)
            text = f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}%"
        else:
            text = f"{self.label} {done} {unit}"
        click.echo(f"\r{text}", nl=False, err=True)
        self.shown = True

    def done(self) -> None:
        if self.shown:
            click.echo("", err=True)


def _temp_beside(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(fd)
    return Path(name)


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path, force: bool) -> None:
    """Give the finished temporary file its final name in one step. Without --force an existing file is
    never replaced, even one that appeared while the backup ran (a hard link fails if the name is taken)."""
    _fsync(tmp)
    if force:
        os.replace(tmp, final)
    else:
        try:
            os.link(tmp, final)
        except FileExistsError:
            raise BackupError(f"{final} exists (appeared while the backup ran); nothing was written "
                              "under that name. Use --force to replace it.", exit_code=2) from None
        except OSError:
            # a file system without hard links: a check and a rename
            if final.exists():
                raise BackupError(f"{final} exists; use --force to replace it.", exit_code=2) from None
            os.replace(tmp, final)
        else:
            tmp.unlink()
    try:
        dfd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _integrity(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("PRAGMA integrity_check")]


# -- PostgreSQL --------------------------------------------------------------------------------------------

_LIBPQ_ENV = {"host": "PGHOST", "port": "PGPORT", "username": "PGUSER", "password": "PGPASSWORD", "database": "PGDATABASE"}
_LIBPQ_QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                    "sslkey": "PGSSLKEY", "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT",
                    "host": "PGHOST", "port": "PGPORT", "service": "PGSERVICE", "target_session_attrs":
                    "PGTARGETSESSIONATTRS", "options": "PGOPTIONS"}


def _pg_env(url) -> dict[str, str]:
    """The connection for pg_dump/pg_restore as libpq environment variables (the password stays off argv)."""
    env = dict(os.environ)
    for attr, var in _LIBPQ_ENV.items():
        value = getattr(url, attr)
        if value not in (None, ""):
            env[var] = str(value)
    for key, value in url.query.items():
        var = _LIBPQ_QUERY_ENV.get(key)
        if var:
            env[var] = value if isinstance(value, str) else ",".join(value)
    return env


def _pg_server_major() -> int:
    import sqlalchemy as sa

    from tracker.extensions import db

    try:
        with db.engine.connect() as conn:
            num = int(conn.execute(sa.text("SHOW server_version_num")).scalar())
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is reported the same way
        raise BackupError(f"cannot connect to the PostgreSQL database: {_first_line(exc)}") from None
    return num // 10000


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else None


def find_pg_tool(name: str, server_major: int) -> str:
    """``name`` (pg_dump or pg_restore) of the server's major version: Debian's
    /usr/lib/postgresql/<ver>/bin first, then PATH if its version is at least the server's."""
    exact = f"/usr/lib/postgresql/{server_major}/bin/{name}"
    if os.access(exact, os.X_OK):
        return exact
    candidates = [p for p in (shutil.which(name), *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                               reverse=True)) if p]
    for path in candidates:
        major = _tool_major(path)
        if major is not None and major >= server_major:
            return path
    found = ", ".join(f"{p} ({_tool_major(p)})" for p in candidates) or "none"
    raise BackupError(f"no {name} for PostgreSQL {server_major} (found: {found}); install "
                      f"postgresql-client-{server_major}")


# -- backup ------------------------------------------------------------------------------------------------


def backup_sqlite(source: Path, tmp: Path, progress: Progress) -> dict:
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    with open(source, "rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{source} is not a SQLite database")
    busy_ms = max(5000, int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 5000)))
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None, timeout=busy_ms / 1000)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {source}: {exc}") from None
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        # One read transaction for the whole copy: every page from one snapshot, writers carry on (WAL).
        src.execute("BEGIN")
        tables = _sqlite_tables(src)
        if not tables:
            raise BackupError(f"{source} holds no tables: nothing to back up (run tracker db upgrade first?)")

        def step(status, remaining, total):
            progress.update(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step, sleep=0)
        src.execute("COMMIT")
        # A standalone file: whatever the copy holds in a WAL goes into the file, then no WAL at all.
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dst.execute("PRAGMA journal_mode=DELETE")
        problems = _integrity(dst)
        if problems != ["ok"]:
            raise BackupError(f"the copy failed PRAGMA integrity_check: {'; '.join(problems[:5])}")
    except sqlite3.Error as exc:
        raise BackupError(f"the backup of {source} failed: {exc}") from None
    finally:
        progress.done()
        dst.close()
        src.close()
    return {"tables": len(tables)}


def backup_postgres(url, tmp: Path, progress: Progress) -> dict:
    import sqlalchemy as sa

    from tracker.extensions import db

    major = _pg_server_major()
    pg_dump = find_pg_tool("pg_dump", major)
    with db.engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')")).scalar()
    db.engine.dispose()
    if not tables:
        raise BackupError(f"the database {url.database} holds no tables: nothing to back up")
    cmd = [pg_dump, "--format=custom", "--verbose", "--no-password", f"--file={tmp}"]
    proc = subprocess.Popen(cmd, env=_pg_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dumped, errors = 0, []
    assert proc.stderr is not None
    for line in proc.stderr:
        line = line.rstrip()
        if "dumping contents of table" in line:
            dumped += 1
            progress.update(dumped, tables)
        elif "error" in line.lower() or "fatal" in line.lower():
            errors.append(line)
    rc = proc.wait()
    progress.done()
    if rc != 0:
        raise BackupError(f"pg_dump failed (exit code {rc}): {'; '.join(errors[-3:]) or 'no message'}")
    pg_restore = find_pg_tool("pg_restore", major)
    check = subprocess.run([pg_restore, "--list", str(tmp)], capture_output=True, text=True)
    if check.returncode != 0:
        raise BackupError(f"the archive pg_dump wrote cannot be read back: {check.stderr.strip()[:300]}")
    return {"tables": tables}


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The backup file to write (SQLite: a database file; PostgreSQL: a pg_dump custom archive).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@with_appcontext
def backup_command(out: Path, force: bool):
    """Write a consistent backup of the configured database to FILE while the app keeps running."""
    url = _url()
    kind = _engine_kind(url)
    out = out.expanduser().absolute()
    if out.exists() and not force:
        raise BackupError(f"{out} exists; nothing was written. Use --force to replace it, or choose another name.",
                          exit_code=2)
    if not out.parent.is_dir():
        raise BackupError(f"the directory {out.parent} does not exist")
    if kind == "sqlite" and out.resolve() == _sqlite_path(url).resolve():
        raise BackupError("the backup cannot be written over the database itself", exit_code=2)
    started = time.monotonic()
    tmp = _temp_beside(out)
    try:
        if kind == "sqlite":
            info = backup_sqlite(_sqlite_path(url), tmp, Progress("backup"))
        else:
            info = backup_postgres(url, tmp, Progress("backup"))
        _publish(tmp, out, force)
    except BaseException:
        _remove(tmp)
        raise
    size = out.stat().st_size
    click.echo(f"backup written: {out} ({_human_size(size)}, {info['tables']} tables, {kind}, "
               f"{time.monotonic() - started:.1f} s)")


# -- restore -----------------------------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(PG_MAGIC):
        return "postgresql"
    if head == SQLITE_MAGIC:
        return "sqlite"
    raise BackupError(f"{path} is neither a tracker SQLite backup nor a pg_dump custom archive")


EMPTY_HINT = {
    "sqlite": "Restore into a new file: point TRACKER_DATABASE_URL at a path that does not exist yet "
              "(or move the old file and its -wal/-shm away first).",
    "postgresql": "Restore into a new database: createdb --owner=tracker tracker_restored, and point "
                  "TRACKER_DATABASE_URL at it (or drop and re-create the old one first).",
}


def restore_sqlite(backup: Path, target: Path, progress: Progress) -> None:
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True, isolation_level=None)
        problems = _integrity(src)
        if problems != ["ok"]:
            raise BackupError(f"{backup} fails PRAGMA integrity_check: {'; '.join(problems[:5])}; nothing was restored")
        if "alembic_version" not in _sqlite_tables(src):
            raise BackupError(f"{backup} is a SQLite file but not a tracker database; nothing was restored")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot read {backup}: {exc}; nothing was restored") from None
    if not target.parent.is_dir():
        raise BackupError(f"the directory {target.parent} does not exist")
    dst = sqlite3.connect(target, isolation_level=None, timeout=30)
    try:
        dst.execute("BEGIN IMMEDIATE")  # no one else writes while we look; released before the copy
        if _sqlite_tables(dst):
            raise BackupError(f"the database {target} is not empty; nothing was restored. {EMPTY_HINT['sqlite']}",
                              exit_code=2)
        dst.execute("ROLLBACK")

        def step(status, remaining, total):
            progress.update(total - remaining, total)

        src.execute("BEGIN")
        src.backup(dst, pages=PAGES_PER_STEP, progress=step, sleep=0)
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=WAL")
        problems = _integrity(dst)
        if problems != ["ok"]:
            raise BackupError(f"the restored database fails PRAGMA integrity_check: {'; '.join(problems[:5])}")
    except sqlite3.Error as exc:
        raise BackupError(f"the restore into {target} failed: {exc}") from None
    finally:
        progress.done()
        dst.close()
        src.close()


def restore_postgres(backup: Path, url, progress: Progress) -> None:
    import sqlalchemy as sa

    from tracker.extensions import db

    major = _pg_server_major()
    with db.engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")).scalar()
    db.engine.dispose()
    if tables:
        raise BackupError(f"the database {url.database} is not empty ({tables} tables); nothing was restored. "
                          f"{EMPTY_HINT['postgresql']}", exit_code=2)
    pg_restore = find_pg_tool("pg_restore", major)
    listing = subprocess.run([pg_restore, "--list", str(backup)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{backup} cannot be read: {listing.stderr.strip()[:300]}; nothing was restored")
    entries = sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))
    cmd = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--verbose",
           "--no-password", f"--dbname={url.database}", str(backup)]
    proc = subprocess.Popen(cmd, env=_pg_env(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done, errors = 0, []
    assert proc.stderr is not None
    for line in proc.stderr:
        line = line.rstrip()
        if line.startswith("pg_restore: creating") or line.startswith("pg_restore: processing"):
            done += 1
            progress.update(min(done, entries), entries)
        elif "error" in line.lower():
            errors.append(line)
    rc = proc.wait()
    progress.done()
    if rc != 0:
        raise BackupError(f"pg_restore failed (exit code {rc}), nothing was restored (one transaction): "
                          f"{'; '.join(errors[-3:]) or 'no message'}")


def check_database() -> tuple[bool, list[str]]:
    """The equivalent of ``tracker db check`` on the configured database: (clean, lines to print)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from tracker.extensions import db

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if not current:
        return False, ["the restored database has no migration revision: it is not a tracker database"]
    if current != heads:
        return False, [f"the restored database is at revision {', '.join(sorted(current))}; this version of "
                       f"tracker is at {', '.join(sorted(heads))}: run tracker db upgrade"]
    try:
        command.check(config)
    except CommandError as exc:
        return False, [f"tracker db check: {exc}"]
    return True, [f"tracker db check: at revision {', '.join(sorted(current))}, no new upgrade operations detected"]


def counts() -> dict[str, int]:
    import sqlalchemy as sa

    from tracker.extensions import db

    found = {}
    with db.engine.connect() as conn:
        for label, table in COUNTED:
            try:
                found[label] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            except sa.exc.DBAPIError:
                conn.rollback()
    return found


@click.command("restore")
@click.argument("backup_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(backup_file: Path):
    """Bring a backup made by tracker backup into the configured database, which must be empty."""
    from tracker.extensions import db

    url = _url()
    kind = _engine_kind(url)
    made_by = _sniff(backup_file)
    if made_by != kind:
        raise BackupError(f"{backup_file} is a {made_by} backup and the configured database is {kind}; "
                          "a backup is restored into the same kind of database", exit_code=2)
    started = time.monotonic()
    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        restore_sqlite(backup_file, _sqlite_path(url), Progress("restore"))
    else:
        restore_postgres(backup_file, url, Progress("restore"))
    db.engine.dispose()
    clean, lines = check_database()
    found = counts()
    click.echo(f"restored {backup_file} into {url.render_as_string(hide_password=True)} "
               f"in {time.monotonic() - started:.1f} s")
    for line in lines:
        click.echo(line)
    if found:
        click.echo(", ".join(f"{n:,} {label}" for label, n in found.items()))
    if not clean:
        raise BackupError("the database is restored but is not ready for this version of tracker (see above)")


@hookimpl
def register_commands(cli):
    return [backup_command, restore_command]
