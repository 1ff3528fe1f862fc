"""The soak benchmark's checks, run briefly: mixed clients against `tracker serve`, then nothing lost."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("soak")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.xfail(strict=False, reason="known open bug (issue 14): concurrent sign-ins on SQLite can wait past the busy "
                   "timeout while a sign-in holds the write lock through its password hash")
def test_a_short_soak_on_sqlite_loses_nothing():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--seconds", "5", "--children", "60"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "duplicate attendance records (enrolment, date): 0" in run.stdout
    assert "all checks passed" in run.stdout
