"""Periodic commands run one at a time, and running one twice in a row gives the same result as once.

The commands run as real processes against the test's database (SQLite file or PostgreSQL). The test takes
the lock itself through ``tracker.locks`` to stand for a first run that is still going: no sleeps, no timing.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker import locks
from tracker.extensions import db

TRACKER = Path(sys.executable).with_name("tracker")
AS_OF = dt.date.today().isoformat()


def run(database_url, *args, env_extra=None, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_"))}
    env.update({"TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "lock-test", **(env_extra or {})})
    return subprocess.run([str(TRACKER), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def start(database_url, *args) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_"))}
    env.update({"TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "lock-test"})
    return subprocess.Popen([str(TRACKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def flags_table() -> list[tuple]:
    """Every flag as saved (what another connection sees), in a stable order."""
    db.session.rollback()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM flag ORDER BY child_id, rule, raised_on")).mappings().all()
    return [tuple((k, json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else str(v))
                  for k, v in sorted(row.items())) for row in rows]


def lock_rows() -> int:
    db.session.rollback()
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM command_lock")).scalar_one()


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo", "--children", "40", "--seed", "7"])
    assert result.exit_code == 0, result.output


def test_a_run_while_another_holds_the_lock_is_refused_and_writes_nothing(app, database_url, demo):
    lock = locks.acquire("flags refresh")
    try:
        refused = run(database_url, "flags", "refresh", "--as-of", AS_OF)
        assert refused.returncode == locks.EX_TEMPFAIL, refused.stderr
        assert "another `tracker flags refresh` is running since" in refused.stderr
        assert f"started by pid {os.getpid()}" in refused.stderr
        assert "nothing was done" in refused.stderr
        assert flags_table() == []
    finally:
        lock.release()

    ran = run(database_url, "flags", "refresh", "--as-of", AS_OF)
    assert ran.returncode == 0, ran.stderr
    assert flags_table() != []
    assert locks.holder("flags refresh") is None


def test_two_runs_started_together_leave_what_one_run_leaves(app, database_url, demo):
    first, second = (start(database_url, "flags", "refresh", "--as-of", AS_OF) for _ in range(2))
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in (first, second)]
    for p in (first, second):
        p.stdout.close()
        p.stderr.close()
    # Each one either ran (0) or found the other running (75); whichever ran, the result is one run's.
    assert all(code in (0, locks.EX_TEMPFAIL) for code, _err in outcomes), outcomes
    assert any(code == 0 for code, _err in outcomes), outcomes
    together = flags_table()

    once = run(database_url, "flags", "refresh", "--as-of", AS_OF)
    assert once.returncode == 0 and once.stdout.strip().startswith("raised 0"), once.stdout
    assert flags_table() == together != []


def test_running_twice_gives_the_flags_of_running_once(app, database_url, demo):
    assert run(database_url, "flags", "refresh", "--as-of", AS_OF).returncode == 0
    after_one = flags_table()
    again = run(database_url, "flags", "refresh", "--as-of", AS_OF)
    assert again.returncode == 0, again.stderr
    assert after_one != [] and flags_table() == after_one
    assert "raised 0" in again.stdout and "cleared 0" in again.stdout


def test_the_lock_is_released_when_the_command_fails(app, runner, demo, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a rule failed")

    monkeypatch.setattr("tracker.flags.operations.refresh", broken)
    result = runner.invoke(args=["flags", "refresh"])
    assert result.exit_code == 1 and "a rule failed" in result.output
    assert locks.holder("flags refresh") is None
    with locks.acquire("flags refresh"):  # free for the next run
        pass


def test_the_lock_is_released_when_a_report_fails_to_be_written(app, database_url, world, tmp_path):
    out = tmp_path / "missing-folder" / "report.csv"
    first, last = world.year.first_day, world.year.last_day
    failed = run(database_url, "report", "--from", str(first), "--to", str(last), "--format", "csv", "--out", str(out))
    assert failed.returncode == 1 and not out.exists()
    with locks.acquire(f"report {out}"):
        pass


def test_reports_to_different_files_run_side_by_side(app, database_url, world, tmp_path):
    first, last = world.year.first_day, world.year.last_day
    args = ["report", "--from", str(first), "--to", str(last), "--format", "csv", "--out"]
    with locks.acquire(f"report {tmp_path / 'a.csv'}"):
        refused = run(database_url, *args, str(tmp_path / "a.csv"))
        other = run(database_url, *args, "b.csv", cwd=tmp_path)
    assert refused.returncode == locks.EX_TEMPFAIL and not (tmp_path / "a.csv").exists()
    assert "another `tracker report" in refused.stderr
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "b.csv").exists()


def test_an_integration_run_is_locked_per_integration_and_school(app, runner, world, tmp_path):
    with locks.acquire("integrations run school-register-csv SA001"):
        refused = runner.invoke(args=["integrations", "run", "school-register-csv", "--school", "SA001",
                                      "--export", str(tmp_path / "x.csv")])
    assert refused.exit_code == locks.EX_TEMPFAIL
    assert "another `tracker integrations run school-register-csv SA001` is running" in refused.output


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_stale_lock_row_is_taken_over(app, database_url, demo):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)  # that process has exited: its lock is stale
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = {"dead": (dead_pid, socket.gethostname(), now), "old": (1, "elsewhere", now - dt.timedelta(hours=2)),
            "live": (1, "elsewhere", now)}

    def plant(which):
        pid, host, started = rows[which]
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM command_lock"))
            conn.execute(sa.text("INSERT INTO command_lock (name, pid, host, started_at, token) "
                                 "VALUES ('flags refresh', :p, :h, :s, 'planted')"), {"p": pid, "h": host, "s": started})

    limit = {"TRACKER_COMMAND_LOCK_STALE_AFTER": "3600"}
    plant("live")  # another machine's run, started just now: not stale
    refused = run(database_url, "flags", "refresh", "--as-of", AS_OF, env_extra=limit)
    assert refused.returncode == locks.EX_TEMPFAIL and "started by pid 1 on elsewhere" in refused.stderr
    assert flags_table() == []

    for which in ("dead", "old"):
        plant(which)
        taken = run(database_url, "flags", "refresh", "--as-of", AS_OF, env_extra=limit)
        assert taken.returncode == 0, (which, taken.stderr)
        assert lock_rows() == 0
    assert flags_table() != []


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_on_postgresql_the_lock_is_an_advisory_lock_that_ends_with_its_connection(app, database_url):
    lock = locks.acquire("flags refresh")
    holder = locks.holder("flags refresh")
    assert holder is not None and holder.pid == os.getpid() and holder.since is not None
    assert lock_rows() == 0  # no row: the server keeps the lock, and drops it with the connection
    with pytest.raises(locks.LockBusy):
        locks.acquire("flags refresh")
    lock.release()
    assert locks.holder("flags refresh") is None

    # Another process's lock names that process; killed, it leaves nothing: its connection ends, and the lock
    # with it (pg_terminate_backend with a timeout waits for the server to have ended that connection).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "FLASK_"))}
    env.update({"TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "lock-test"})
    holder_proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tracker import create_app, locks\n"
         "with create_app().app_context():\n"
         "    locks.acquire('flags refresh'); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder_proc.stdout.readline().strip() == "held"
        assert locks.holder("flags refresh").pid == holder_proc.pid
        refused = run(database_url, "flags", "refresh")
        assert refused.returncode == locks.EX_TEMPFAIL and f"pid {holder_proc.pid}" in refused.stderr
        k1, k2 = locks.pg_keys("flags refresh")
        with db.engine.connect() as conn:
            backend_pid = conn.execute(sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = :k1 "
                "AND objid::bigint = :k2"), {"k1": k1, "k2": k2 & 0xFFFFFFFF}).scalar_one()
    finally:
        holder_proc.kill()
        holder_proc.wait()
        holder_proc.stdin.close()
        holder_proc.stdout.close()
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:p, 60000)"), {"p": backend_pid})
    with locks.acquire("flags refresh"):
        pass
