"""docs/deploy.md, tried: its `sh deploy-test` blocks run in order on this machine, then the result is checked.

What differs from a Debian machine, and is substituted in each block (nothing else is changed):
- `/opt/tracker` and `/var/backups/tracker` are folders under a temporary directory;
- `sudo -u postgres` and `sudo -u tracker` are dropped: the blocks run as the test's user, and the
  PostgreSQL client commands reach the tests' server (tests/pgserver.py) through PGHOST/PGPORT/PGUSER;
- `postgresql+psycopg:///DB` (Unix socket, peer authentication) becomes the same role and database on
  the tests' server over TCP;
- nothing is downloaded: the venv is made without pip, the wheel is built with this venv's setuptools
  (no build isolation) and installed with --no-deps, the dependencies seen from this venv's
  site-packages, as tests/test_package.py does.
Blocks marked `needs=serve` or `needs=backup` are skipped while the installed `tracker --help` has no such
command. systemd and the proxy are not run; the flags refresh timer's ExecStart is.
"""
from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import pgserver

pytestmark = [pytest.mark.postgres, pytest.mark.package, pytest.mark.xdist_group("package")]

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.py[co]",
                                    "*.mo", ".pytest_cache", ".hypothesis", "test-results", "instance", "node_modules")
STEP = 900  # a hung step fails; a slow machine does not
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)


@dataclass
class Block:
    info: str
    body: str

    @property
    def tested(self) -> bool:
        return self.info.split()[:2] == ["sh", "deploy-test"]

    @property
    def needs(self) -> str | None:
        found = re.search(r"\bneeds=(\S+)", self.info)
        return found[1] if found else None

    @property
    def unit(self) -> str | None:
        found = re.search(r"\bunit=(\S+)", self.info)
        return found[1] if found else None


def blocks() -> list[Block]:
    return [Block(m["info"].strip(), m["body"]) for m in FENCE.finditer(GUIDE.read_text(encoding="utf-8"))]


def unit_file(name: str) -> str:
    (found,) = [b.body for b in blocks() if b.unit == name]
    return found


INSTALL_HELPER = textwrap.dedent('''\
    """pip install for the guide's venv without the network: the wheel with --no-deps, the dependencies from
    the tests' venv (a .pth after the venv's own site-packages)."""
    import subprocess, sys, sysconfig
    from pathlib import Path
    venv, wheels, ours = Path(sys.argv[1]), sys.argv[2:-1], sys.argv[-1].split("|")
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "_tracker_test_dependencies.pth").write_text("".join(p + "\\n" for p in ours if p != str(purelib)))
    sys.exit(subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                             "--force-reinstall", "-q", *wheels]).returncode)
''')


class Machine:
    """The test's stand-in for the Debian machine: a root folder, the tests' PostgreSQL, the substitutions."""

    def __init__(self, root: Path, server: pgserver.PostgresServer) -> None:
        self.root = root
        self.server = server
        self.helper = root / "pip_install_offline.py"
        self.helper.write_text(INSTALL_HELPER)
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
        self.ours = "|".join(sorted(p for p in ours if Path(p).is_dir()))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TRACKER_", "FLASK_", "PYTHON", "VIRTUAL_ENV", "PIP_"))}
        self.env.update({"PGHOST": "127.0.0.1", "PGPORT": str(server.port), "PGUSER": server.user,
                         "HOME": str(root), "PATH": f"{Path(pgserver.find_bin('initdb')).parent}{os.pathsep}"
                                                    f"{self.env.get('PATH', '')}"})

    @property
    def tracker(self) -> Path:
        return self.root / "opt/tracker/venv/bin/tracker"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://tracker@127.0.0.1:{self.server.port}/{dbname}"

    def substitute(self, text: str) -> str:
        opt = str(self.root / "opt/tracker")
        text = re.sub(r"(\S+)/bin/pip install (?:--upgrade )?--constraint \S+ (.+\.whl)",
                      lambda m: f"{sys.executable} {self.helper} {m[1]} {m[2]} '{self.ours}'", text)
        text = re.sub(r"(\S+)/bin/pip wheel ", f"{sys.executable} -m pip wheel --no-build-isolation --no-index -q ",
                      text)
        text = re.sub(r"\bpython3 -m venv ", f"{sys.executable} -m venv --without-pip ", text)
        text = re.sub(r"postgresql\+psycopg:///(\w+)", lambda m: self.url(m[1]), text)
        text = re.sub(r"\bsudo -u (postgres|tracker) ", "", text)
        text = text.replace("/opt/tracker", opt).replace("/var/backups/tracker", str(self.root / "backups"))
        return text

    def commands(self) -> str:
        return subprocess.run([str(self.tracker), "--help"], capture_output=True, text=True, env=self.env,
                              cwd=self.root, timeout=STEP).stdout

    def sh(self, script: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True,
                              env=self.env, cwd=self.root, input=stdin, timeout=STEP)


def has_command(help_text: str, name: str) -> bool:
    return re.search(rf"^\s+{re.escape(name)}\s", help_text, re.M) is not None


def test_the_guide_marks_its_steps_and_the_units_it_names():
    tested = [b for b in blocks() if b.tested]
    assert len(tested) >= 5
    assert {b.needs for b in tested} >= {None, "serve", "backup"}
    service = unit_file("tracker.service")
    assert "ExecStart=/opt/tracker/venv/bin/tracker serve --workers 3 --bind 127.0.0.1:8000" in service
    for name in ("tracker-flags-refresh.service", "tracker-report.service"):
        assert "SuccessExitStatus=75" in unit_file(name) and "Type=oneshot" in unit_file(name)
    assert "OnCalendar=" in unit_file("tracker-flags-refresh.timer")
    headings = re.findall(r"^## (.+)$", GUIDE.read_text(encoding="utf-8"), re.M)
    assert {"Serving", "Several workers", "Rate limits"} <= set(headings)


def test_the_guide_from_a_bare_machine_to_a_checked_database_and_its_timer(pg_server, tmp_path):
    from tracker import create_app, locks

    machine = Machine(tmp_path, pg_server)
    # "Get the source of the release into /opt/tracker/src": the checkout stands for it.
    shutil.copytree(ROOT, tmp_path / "opt/tracker/src", ignore=NOT_SOURCE)

    ran, skipped = [], []
    for block in (b for b in blocks() if b.tested):
        if block.needs is not None and not has_command(machine.commands(), block.needs):
            skipped.append(block.body)
            continue
        script = machine.substitute(block.body)
        done = machine.sh(script, stdin="a long deploy guide passphrase\n")
        assert done.returncode == 0, f"{block.body}\n-> exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        ran.append(block.body)
    assert any("db upgrade" in b for b in ran) and any("config.py" in b for b in ran)

    # The final state: the wheel's tracker (not the checkout's), its config, the schema current and clean.
    where = machine.sh(f"{tmp_path}/opt/tracker/venv/bin/python -c 'import tracker; print(tracker.__file__)'")
    assert str(tmp_path / "opt/tracker/venv") in where.stdout
    config = tmp_path / "opt/tracker/venv/var/tracker-instance/config.py"
    assert "SECRET_KEY" in config.read_text() and not (config.parent / "secret_key").exists()
    current = machine.sh(f"{machine.tracker} db current")
    assert current.returncode == 0 and "(head)" in current.stdout, current.stdout + current.stderr
    check = machine.sh(f"{machine.tracker} db check")
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr
    users = machine.sh(f"psql -d tracker -Atc \"SELECT role FROM \\\"user\\\" WHERE email = 'admin@example.org'\"")
    assert users.stdout.strip() == "admin", users.stdout + users.stderr

    # The timer's command, as its unit runs it: once, then refused while another run holds the lock.
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", unit_file("tracker-flags-refresh.service"), re.M)
    command = machine.substitute(exec_start)
    once = machine.sh(command)
    assert once.returncode == 0, once.stderr
    assert re.match(r"raised \d+, updated \d+, cleared \d+, unchanged \d+", once.stdout.strip())
    app = create_app({"SQLALCHEMY_DATABASE_URI": machine.url("tracker"), "SECRET_KEY": "deploy-test"})
    with app.app_context():
        with locks.acquire("flags refresh"):
            refused = machine.sh(command)
        from tracker.extensions import db

        db.engine.dispose()
    assert refused.returncode == locks.EX_TEMPFAIL, refused.stderr
    assert "another `tracker flags refresh` is running since" in refused.stderr

    help_text = machine.commands()
    for needs in ("serve", "backup"):
        if has_command(help_text, needs):
            assert not any(f"tracker {needs}" in b for b in skipped)
