"""A throwaway PostgreSQL server for the tests and the benchmarks, from Debian's postgresql binaries.

initdb into a temporary directory owned by the postgres user, listen on loopback only on a
free port, fsync off. As root, pg_ctl refuses to run, so both run through ``runuser``.
``settings`` add or override server settings (benchmarks/pgserver.py gives its own).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def missing_reason() -> str | None:
    """Why a server cannot be started here, or None."""
    for name in ("initdb", "pg_ctl"):
        if find_bin(name) is None:
            return f"PostgreSQL binaries not found ({name}); `make test` installs Debian's postgresql package"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}


class PostgresServer:
    def __init__(self, settings: dict[str, str] | None = None, directory: str | None = None) -> None:
        self.port = _free_port()
        self.tmp = tempfile.mkdtemp(prefix="tracker-pg-", dir=directory)
        self.datadir = os.path.join(self.tmp, "data")
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self.settings = {**TEST_SETTINGS, **(settings or {})}

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
                  "-t", "300", "start")
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
            self._run(find_bin("pg_ctl"), "-D", self.datadir, "-m", "immediate", "-w", "stop")
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
