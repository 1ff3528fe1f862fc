"""``tracker serve`` as a deployment runs it: a real gunicorn master with two workers on a migrated database,
a user made with the CLI, a signed-in session that holds whichever worker answers, an access log without query
strings, and a clean stop on SIGTERM."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.test_concurrency import Browser

TRACKER = str(Path(sys.executable).with_name("tracker"))
STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database_url: str, tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "TRACKER_DATABASE_URL": database_url,
        "TRACKER_SECRET_KEY": "serve-test-secret",
        "TRACKER_SESSION_COOKIE_SECURE": "false",
        "TRACKER_REMEMBER_COOKIE_SECURE": "false",
    })
    return env


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "tracker serve exited while starting"
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling for readiness, bounded by the deadline
    raise AssertionError("tracker serve did not answer /healthz in time")


@pytest.fixture
def served(database_url, tmp_path):
    env = _env(database_url, tmp_path)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    subprocess.run([TRACKER, "create-user", "officer@example.org", "--role", "admin", "--password-file",
                    str(password_file)], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    out, err = open(tmp_path / "access.log", "wb"), open(tmp_path / "error.log", "wb")
    process = subprocess.Popen([TRACKER, "serve", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
                               env=env, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        out.close()
        err.close()


def _access_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "access.log").read_text().splitlines()


def test_two_workers_share_sessions_and_log_no_query_strings(served):
    base, process, tmp_path = served
    browser = Browser(base)
    browser.sign_in("officer@example.org")

    pids_seen: set[str] = set()
    failures: list = []

    def fetch(n):
        for _ in range(n):
            status, page = browser.request("/children/?q=Secret+Name")
            if status != 200 or "officer" not in page:
                failures.append(status)

    for _round in range(10):  # concurrent requests: a busy sync worker leaves the next one to the other
        threads = [threading.Thread(target=fetch, args=(5,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pids_seen = {m.group(1) for line in _access_lines(tmp_path) if "/children/" in line
                     for m in [re.search(r"<(\d+)>", line)] if m}
        if len(pids_seen) == 2:
            break
    assert failures == []  # signed in whichever worker answered
    assert len(pids_seen) == 2, pids_seen

    # A second CSRF-protected form, posted to whichever worker: the signed session token holds.
    status, _page = browser.request("/logout", {"csrf_token": browser.token("/")})
    assert status == 302

    log = (tmp_path / "access.log").read_text()
    assert '"GET /children/" 200' in log
    assert "Secret" not in log and "q=" not in log and "?" not in log
    assert "127.0.0.1" not in log  # no client addresses
    errors = (tmp_path / "error.log").read_text()
    assert "Secret" not in errors

    # SIGHUP: a graceful reload, new workers from the factory; the signed-in session carries on.
    browser.sign_in("officer@example.org")
    booted = (tmp_path / "error.log").read_text().count("Booting worker")
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + STARTUP_SECONDS
    while (tmp_path / "error.log").read_text().count("Booting worker") < booted + 2:
        assert time.monotonic() < deadline, "no new workers after SIGHUP"
        time.sleep(0.2)  # polling for the reload, bounded by the deadline
    _wait_until_up(base, process)
    status, page = browser.request("/children/")
    assert status == 200 and "officer" in page

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "Shutting down: Master" in (tmp_path / "error.log").read_text()


def test_serve_refuses_to_start_with_a_broken_configuration(database_url, tmp_path):
    env = _env(database_url, tmp_path)
    env["TRACKER_PLUGINS"] = '["no_such_plugin_module"]'
    result = subprocess.run([TRACKER, "serve", "--workers", "2", "--bind", f"127.0.0.1:{_free_port()}"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no_such_plugin_module" in result.stderr
    assert "Booting worker" not in result.stderr
