"""A throwaway PostgreSQL server for a benchmark run: the tests' server (tests/pgserver.py).

initdb into a temporary directory owned by the postgres user, listen on 127.0.0.1 on a free
port, fsync off; as root, initdb and pg_ctl run through ``runuser -u postgres --``. On top of
that, settings for a database of a few GB: ``SETTINGS`` (the same for tracker and the
hand-written SQL, printed by the benchmark). Stopped and deleted by ``stop()`` (or the
context manager).

    with PostgresServer() as pg:
        url = pg.create_database("bench")
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.pgserver import PostgresServer as _Server  # noqa: E402
from tests.pgserver import find_bin, missing_reason  # noqa: E402,F401

SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "512MB",
            "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB", "checkpoint_timeout": "30min",
            "effective_cache_size": "4GB", "jit": "off"}


class PostgresServer(_Server):
    """The tests' server with the benchmark's settings (``settings`` override them)."""

    def __init__(self, settings: dict[str, str] | None = None, directory: str | None = None) -> None:
        super().__init__({**SETTINGS, **(settings or {})}, directory)
