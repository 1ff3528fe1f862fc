"""`tracker serve` (gunicorn, 2 workers) against `tracker run` (Flask's development server): a register page.

Builds the demo on a fresh SQLite file (or uses --database-url), starts both servers, signs in --clients
clients as the demo teacher on each, and then, alternating A B A B, lets the clients GET the teacher's
register page as fast as they can for --seconds each round. Prints requests/s, p50 and p95 latency and
non-200 answers per round and per server, and the machine's load average around each round.

    .venv/bin/python benchmarks/serve.py [--seconds 20] [--rounds 2] [--clients 4] [--workers 2] [--threads 1]
        [--database-url URL (an existing database with the demo: nothing is built)]
"""
from __future__ import annotations

import argparse
import html.parser
import http.cookiejar
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKER = str(Path(sys.executable).with_name("tracker"))
TEACHER = "teacher@demo.tracker"
PASSWORD = "refugee-education-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Token(html.parser.HTMLParser):
    token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


class _NoRedirect(urllib.request.HTTPErrorProcessor):
    def http_response(self, request, response):
        return response


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect)

    def get(self, path: str) -> tuple[int, bytes]:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.status, r.read()

    def sign_in(self) -> None:
        _status, page = self.get("/login")
        parser = _Token()
        parser.feed(page.decode())
        body = urllib.parse.urlencode({"email": TEACHER, "password": PASSWORD, "csrf_token": parser.token}).encode()
        with self.opener.open(self.base + "/login", data=body, timeout=60) as r:
            assert r.status == 302, f"sign-in answered {r.status}"


def register_path(env: dict) -> str:
    code = ("from tracker import create_app\nfrom tracker.extensions import db\nimport sqlalchemy as sa\n"
            "from tracker.models import User, AttendanceRecord, Enrolment\n"
            "app = create_app()\nwith app.app_context():\n"
            f"    u = db.session.scalar(sa.select(User).where(User.email == {TEACHER!r}))\n"
            "    c = u.classes[0]\n"
            "    day = db.session.scalar(sa.select(sa.func.max(AttendanceRecord.date)).join(Enrolment)"
            ".where(Enrolment.class_id == c.id))\n"
            "    print(f'/registers/{c.id}/{day.isoformat()}')\n")
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def start(cmd: list[str], env: dict, base: str, log: Path) -> subprocess.Popen:
    fh = open(log, "wb")
    process = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{cmd} exited: see {log}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=5):
                return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{cmd} did not start: see {log}")


def run_round(clients: list[Client], path: str, seconds: float) -> dict:
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def work(client):
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, _body = client.get(path)
            mine.append(time.perf_counter() - t0)
            if status != 200:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(mine)

    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
            "bad": bad[0], "load": (load_before, os.getloadavg()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--database-url")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tracker-serve-bench-"))
    env = dict(os.environ, TRACKER_SESSION_COOKIE_SECURE="false", TRACKER_REMEMBER_COOKIE_SECURE="false",
               TRACKER_SECRET_KEY="benchmark-secret", TRACKER_DATABASE_URL=args.database_url or
               f"sqlite:///{tmp / 'demo.sqlite3'}", FLASK_DEBUG="0")
    if not args.database_url:
        for cmd in (["db", "upgrade"], ["demo"], ["flags", "refresh"]):
            subprocess.run([TRACKER, *cmd], env=env, check=True, capture_output=True)
    path = register_path(env)
    print(f"register page {path}; {os.cpu_count()} CPUs; load average {os.getloadavg()}")

    servers = {}
    procs = []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(start([TRACKER, "serve", "--workers", str(args.workers), "--threads", str(args.threads),
                            "--bind", f"127.0.0.1:{port}", "--access-log", "off"], env, base, tmp / "serve.log"))
        servers[f"tracker serve -w {args.workers} --threads {args.threads}"] = base
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs.append(start([TRACKER, "run", "--port", str(port)], env, base, tmp / "run.log"))
        servers["tracker run (development)"] = base

        clients = {}
        for name, base in servers.items():
            clients[name] = [Client(base) for _ in range(args.clients)]
            for c in clients[name]:
                c.sign_in()
                assert c.get(path)[0] == 200
        results: dict[str, list[dict]] = {name: [] for name in servers}
        for rnd in range(args.rounds):
            for name in servers:
                r = run_round(clients[name], path, args.seconds)
                results[name].append(r)
                print(f"round {rnd + 1} {name:<28} {r['requests']:6d} requests  {r['rps']:7.1f} req/s  "
                      f"p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  non-200 {r['bad']}  "
                      f"load {r['load'][0]:.2f} -> {r['load'][1]:.2f}", flush=True)
        print()
        for name, rs in results.items():
            print(f"{name:<28} {statistics.mean(r['rps'] for r in rs):7.1f} req/s  "
                  f"p50 {statistics.mean(r['p50'] for r in rs):6.1f} ms  "
                  f"p95 {statistics.mean(r['p95'] for r in rs):6.1f} ms  (mean of {len(rs)} rounds, "
                  f"{args.clients} clients, {args.seconds:g} s each)")
        print(f"load average after: {os.getloadavg()}")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
