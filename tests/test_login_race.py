"""The sign-in lockout holds when wrong passwords arrive in parallel at a served instance."""
from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD


@pytest.fixture
def served(app, world):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def sign_in(base: str, email: str, password: str, barrier: threading.Barrier | None = None) -> int:
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    request = urllib.request.Request(f"{base}/login", data=body, method="POST")
    opener = urllib.request.build_opener(NoRedirect)
    if barrier is not None:
        barrier.wait()
    try:
        with opener.open(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_fifteen_parallel_wrong_passwords_lock_the_account(served, world):
    email = world.liaison_a.email
    barrier = threading.Barrier(15)
    with ThreadPoolExecutor(max_workers=15) as pool:
        codes = list(pool.map(lambda i: sign_in(served, email, f"wrong password {i}", barrier), range(15)))
    assert sorted(codes) == [401] * 5 + [429] * 10  # five were checked; the rest refused unchecked
    assert sign_in(served, email, PASSWORD) == 429  # the right password, after more than five failures
    assert sign_in(served, world.liaison_b.email, PASSWORD) == 302  # another account is not affected
