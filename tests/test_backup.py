"""``tracker backup`` while registers are being saved, and ``tracker restore`` of what it wrote.

A thread saves one register after another through the attendance operations (its own app context and
session, one commit per register) while ``tracker backup`` runs as a separate process on the same
database, SQLite and PostgreSQL. The backup is then restored into an empty database and checked: every
register committed before the backup began is there, every register there is whole, the summary equals
a rebuild, SQLite's integrity check passes and ``tracker db check`` is clean.
"""
from __future__ import annotations

import datetime as dt
import itertools
import os
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import base_config
from tests.summaries import rebuilt, stored_summary
from tracker import create_app
from tracker.extensions import db
from tracker.plugins import DEFAULT_PLUGINS

TRACKER = str(Path(sys.executable).parent / "tracker")
CLASSES = 4
PUPILS = 5
_names = itertools.count()


def run_tracker(url: str, *args: str) -> subprocess.CompletedProcess:
    """``tracker ARGS`` as an operator runs it: its own process, the database from TRACKER_DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "PG"))}
    env.update(TRACKER_DATABASE_URL=url, TRACKER_SECRET_KEY="test-secret", TRACKER_SQLITE_BUSY_TIMEOUT_MS="60000")
    if "tracker.backup" not in DEFAULT_PLUGINS:
        env["TRACKER_PLUGINS"] = '["tracker.backup"]'
    return subprocess.run([TRACKER, *args], env=env, capture_output=True, text=True, timeout=600)


def _classes(world):
    """CLASSES classes of PUPILS children in school A; their ids, pupils per class and the school days so far."""
    from tracker.models import Child, Enrolment, SchoolClass
    from tracker.schools.calendar import school_days

    classes = [world.class_a] + [SchoolClass(school=world.school_a, year=world.year, level="primary", grade=5,
                                             name=f"5-{n + 2}") for n in range(CLASSES - 1)]
    db.session.add_all(classes[1:])
    for k, cls in enumerate(classes):
        have = 1 if cls is world.class_a else 0
        for i in range(PUPILS - have):
            c = Child(code=f"C-BK{k}{i:03d}", given_name=f"Pupil{k}{i}", family_name="Test",
                      name_key=f"pupil{k}{i} test", sex="female" if i % 2 else "male",
                      birth_date=dt.date(2014, 1, 1), country="SYR", first_language="ara", legal_basis="public_task")
            db.session.add_all([c, Enrolment(child=c, school=world.school_a, year=world.year, level="primary",
                                             grade=5, school_class=cls, start_date=world.year.first_day)])
    db.session.commit()
    days = school_days(world.school_a, world.year.first_day, dt.date.today())
    assert len(days) >= 10, "the test needs some school days of this year before today"
    return [c.id for c in classes], days


class RegisterWriter(threading.Thread):
    """Saves the register of each class on each day, newest day first, committing each one, until told to stop.

    ``committed`` lists (class id, day) in commit order; ``attempted`` also has the one in flight."""

    def __init__(self, app, class_ids, days):
        super().__init__(daemon=True)
        self.app, self.class_ids, self.days = app, class_ids, days
        self.committed: list[tuple[int, dt.date]] = []
        self.attempted: list[tuple[int, dt.date]] = []
        self.warmed_up = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        from tracker import unit_of_work
        from tracker.attendance.operations import enrolled_in_class, save_register
        from tracker.models import SchoolClass

        try:
            with self.app.app_context():
                statuses = itertools.cycle(["present", "late", "absent_excused", "absent_unexcused", "present"])
                for day in reversed(self.days):
                    for cid in self.class_ids:
                        if self.stop.is_set():
                            return
                        cls = db.session.get(SchoolClass, cid)
                        marks = {e.id: {"status": next(statuses)} for e in enrolled_in_class(cls, day)}
                        self.attempted.append((cid, day))
                        save_register(cls, day, marks)
                        unit_of_work.commit()
                        self.committed.append((cid, day))
                        if len(self.committed) >= 2 * len(self.class_ids):
                            self.warmed_up.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.warmed_up.set()


@pytest.fixture
def empty_url(backend, tmp_path, request):
    """A database of the same kind as the test's, with nothing in it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"restored{next(_names)}"
        yield server.create_database(name)
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _restored_registers(url: str, pupils: dict[int, int]):
    """From the restored database: its registers as {(class id, day): records}, and the summary stored and rebuilt."""
    from tracker.models import AttendanceRecord, Enrolment

    other = create_app(base_config(url))
    with other.app_context():
        rows = db.session.execute(sa.select(Enrolment.class_id, AttendanceRecord.date, sa.func.count())
                                  .join(Enrolment, Enrolment.id == AttendanceRecord.enrolment_id)
                                  .group_by(Enrolment.class_id, AttendanceRecord.date)).all()
        stored, again = stored_summary(), rebuilt()
        db.session.remove()
        db.engine.dispose()
    return {(cid, day): n for cid, day, n in rows}, stored, again


def test_a_backup_taken_while_registers_are_saved_restores_every_committed_register_whole(
        app, world, backend, database_url, empty_url, tmp_path):
    class_ids, days = _classes(world)
    db.session.remove()
    writer = RegisterWriter(app, class_ids, days)
    writer.start()
    writer.warmed_up.wait(timeout=600)
    assert writer.error is None, writer.error
    before = set(writer.committed)  # committed before the backup process starts
    out = tmp_path / f"tracker-{backend}.backup"
    result = run_tracker(database_url, "backup", "--out", str(out))
    during = len(writer.committed) - len(before)
    writer.stop.set()
    writer.join()
    assert writer.error is None, writer.error
    assert result.returncode == 0, result.stderr
    assert "backup written" in result.stdout and "tables" in result.stdout
    assert during > 0, "no register was saved while the backup ran"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "a temporary file was left"

    if backend == "sqlite":
        with sqlite3.connect(out) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert not Path(f"{out}-wal").exists()
    else:
        assert out.read_bytes()[:5] == b"PGDMP"

    restored = run_tracker(empty_url, "restore", str(out))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "no new upgrade operations detected" in restored.stdout
    assert "children" in restored.stdout and "attendance records" in restored.stdout

    from tracker.models import Enrolment

    pupils = dict(db.session.execute(sa.select(Enrolment.class_id, sa.func.count()).group_by(Enrolment.class_id)).all())
    registers, stored, again = _restored_registers(empty_url, pupils)
    missing = before - set(registers)
    assert not missing, f"{len(missing)} registers committed before the backup are not in the restore"
    assert set(registers) <= set(writer.attempted), "the restore holds a register nobody saved"
    half = {k: n for k, n in registers.items() if n != pupils[k[0]]}
    assert not half, f"registers restored in part (class, day: records): {half}"
    assert stored == again, "the restored attendance summary differs from a rebuild of its records"

    check = run_tracker(empty_url, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    if backend == "sqlite":
        with sqlite3.connect(empty_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_backup_never_overwrites_an_existing_file_without_force(app, world, database_url, tmp_path):
    out = tmp_path / "tracker.backup"
    out.write_text("last night's backup")
    refused = run_tracker(database_url, "backup", "--out", str(out))
    assert refused.returncode == 2
    assert "exists" in refused.stderr and "--force" in refused.stderr
    assert out.read_text() == "last night's backup"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("tracker.backup")
                  or p.name.startswith(".tracker")) == ["tracker.backup"]

    forced = run_tracker(database_url, "backup", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes()[:5] in (b"PGDMP", b"SQLit")


def _table_counts() -> dict[str, int]:
    db.session.rollback()
    names = sa.inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar() for t in names}


def test_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(app, world, database_url, tmp_path):
    out = tmp_path / "tracker.backup"
    assert run_tracker(database_url, "backup", "--out", str(out)).returncode == 0
    world.child_a.given_name = "Changed after the backup"
    db.session.commit()
    counts = _table_counts()
    refused = run_tracker(database_url, "restore", str(out))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not empty" in refused.stderr and "nothing was restored" in refused.stderr
    assert _table_counts() == counts
    db.session.refresh(world.child_a)
    assert world.child_a.given_name == "Changed after the backup"


def test_restore_refuses_a_backup_of_the_other_kind_of_database(tmp_path, backend, empty_url):
    wrong = tmp_path / "wrong.backup"
    wrong.write_bytes(b"SQLite format 3\x00" + bytes(100) if backend != "sqlite" else b"PGDMP" + bytes(100))
    refused = run_tracker(empty_url, "restore", str(wrong))
    assert refused.returncode == 2
    assert "same kind of database" in refused.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_backup_of_a_missing_or_corrupt_sqlite_file_fails_clearly_and_leaves_no_file(backend, tmp_path,
                                                                                         sqlite_template):
    out = tmp_path / "tracker.backup"
    missing = run_tracker(f"sqlite:///{tmp_path / 'nowhere.sqlite3'}", "backup", "--out", str(out))
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 200)
    failed = run_tracker(f"sqlite:///{garbage}", "backup", "--out", str(out))
    assert failed.returncode == 1
    assert "not a SQLite database" in failed.stderr

    corrupt = tmp_path / "corrupt.sqlite3"
    data = bytearray(Path(sqlite_template).read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    assert len(data) > 8 * page
    for n in range(2, len(data) // page):  # every page after the first two: the schema survives, the rest not
        data[n * page:(n + 1) * page] = bytes([0xA5]) * page
    corrupt.write_bytes(bytes(data))
    failed = run_tracker(f"sqlite:///{corrupt}", "backup", "--out", str(out))
    assert failed.returncode == 1, failed.stdout
    assert "integrity_check" in failed.stderr or "malformed" in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("corrupt.", "garbage."))) == []


@pytest.mark.postgres
def test_a_backup_of_a_missing_postgresql_database_fails_clearly(pg_server, tmp_path):
    out = tmp_path / "tracker.backup"
    failed = run_tracker(pg_server.url("no_such_database"), "backup", "--out", str(out))
    assert failed.returncode == 1
    assert "cannot connect" in failed.stderr and "no_such_database" in failed.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_sqlite_copy_goes_page_by_page_from_one_snapshot_while_others_write(app, world, backend, database_url,
                                                                               tmp_path, monkeypatch):
    """Between every two steps of the copy another connection commits a change: none of them is in the
    backup, the copy never starts over, and it finishes whole."""
    from tracker import backup

    path = database_url.removeprefix("sqlite:///")
    db.session.remove()
    steps: list[tuple[int, int]] = []
    writer = sqlite3.connect(path, isolation_level=None, timeout=60)

    def step(self, done, total=None, unit=""):
        steps.append((done, total))
        if len(steps) > 1000:
            raise AssertionError("the copy keeps starting over")
        writer.execute("UPDATE child SET given_name = ? WHERE code = 'C-AAAAAA'", (f"written at step {len(steps)}",))
        writer.execute("INSERT INTO centre (code, name, kind, municipality) VALUES (?, 'New', 'asylum', 'Beograd')",
                       (f"N{len(steps)}",))

    monkeypatch.setattr(backup, "PAGES_PER_STEP", 4)
    monkeypatch.setattr(backup.Progress, "update", step)
    out = tmp_path / "paged.backup"
    result = app.test_cli_runner().invoke(backup.backup_command, ["--out", str(out)])
    writer.close()
    assert result.exit_code == 0, result.output
    assert len(steps) > 3, "the copy did not go in steps"
    done = [d for d, _t in steps]
    assert done == sorted(done) and done[-1] == steps[-1][1], f"the copy started over: {steps}"
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT given_name FROM child WHERE code = 'C-AAAAAA'").fetchone() == ("Ahmad",)
        assert conn.execute("SELECT count(*) FROM centre WHERE code LIKE 'N%'").fetchone() == (0,)
    with sqlite3.connect(path) as conn:  # the writes themselves went through
        assert conn.execute("SELECT count(*) FROM centre WHERE code LIKE 'N%'").fetchone() == (len(steps),)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_backup_from_an_older_version_restores_and_asks_for_an_upgrade(app, backend, tmp_path):
    from alembic.script import ScriptDirectory

    config = app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    old = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    assert run_tracker(old, "db", "upgrade", previous).returncode == 0
    out = tmp_path / "old.backup"
    assert run_tracker(old, "backup", "--out", str(out)).returncode == 0

    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    restored = run_tracker(target, "restore", str(out))
    assert restored.returncode == 1
    assert f"at revision {previous}" in restored.stdout and "run tracker db upgrade" in restored.stdout
    assert "0 children, 0 enrolments, 0 attendance records" in restored.stdout
    assert run_tracker(target, "db", "upgrade").returncode == 0
    assert run_tracker(target, "db", "check").returncode == 0
