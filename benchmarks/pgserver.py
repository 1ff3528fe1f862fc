"""A throwaway PostgreSQL server for a benchmark run, from Debian's postgresql binaries.

The same approach as the tests' server (tests/pgserver.py): initdb into a temporary directory
owned by the postgres user, listen on 127.0.0.1 on a free port, fsync off; as root, initdb and
pg_ctl run through ``runuser -u postgres --`` (pg_ctl refuses to run as root). On top of that,
settings for a database of a few GB: ``SETTINGS`` (the same for tracker and the hand-written
SQL, printed by the benchmark). Stopped and deleted by ``stop()`` (or the context manager).

    with PostgresServer() as pg:
        url = pg.create_database("bench")
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "512MB",
            "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB", "checkpoint_timeout": "30min",
            "effective_cache_size": "4GB", "jit": "off"}


def find_bin(name: str) -> str | None:
    """initdb / pg_ctl: on PATH, else the newest /usr/lib/postgresql/<version>/bin (as `dpkg -L postgresql-15` shows)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def missing_reason() -> str | None:
    for name in ("initdb", "pg_ctl"):
        if find_bin(name) is None:
            return (f"PostgreSQL binaries not found ({name}): "
                    "apt-get install -y --no-install-recommends postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, settings: dict[str, str] | None = None, directory: str | None = None) -> None:
        self.port = _free_port()
        self.tmp = tempfile.mkdtemp(prefix="tracker-bench-pg-", dir=directory)
        self.datadir = os.path.join(self.tmp, "data")
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self.settings = {**SETTINGS, **(settings or {})}

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=self.tmp)

    def start(self) -> "PostgresServer":
        reason = missing_reason()
        if reason:
            raise RuntimeError(reason)
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
        self._run(find_bin("initdb"), "-D", self.datadir, "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        opts = " ".join([f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.tmp}",
                         *(f"-c {k}={v}" for k, v in self.settings.items())])
        self._run(find_bin("pg_ctl"), "-D", self.datadir, "-o", opts, "-l", os.path.join(self.tmp, "log"), "-w",
                  "start")
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        self.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(find_bin("pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        for _ in range(20):
            try:
                shutil.rmtree(self.tmp)
                break
            except OSError:
                time.sleep(0.1)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
