"""tracker as a user installs it: a wheel and an sdist built from the repository, the wheel installed (not
editable) into a fresh venv, run from a directory outside the checkout.

One build serves every test here (a session fixture; `make test` keeps the tests in one xdist group). Nothing is
downloaded: the build uses this venv's setuptools, wheel and Babel (no build isolation), the wheel goes in with
--no-deps --no-index, and the fresh venv sees this venv's site-packages for the dependencies only, after its own
(so the installed tracker, not the checkout's, is the one imported).
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.package, pytest.mark.xdist_group("package")]

ROOT = Path(__file__).resolve().parent.parent
# Not part of a source tree: a build from the repository must not depend on them.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.py[co]",
                                    "*.mo", ".pytest_cache", ".hypothesis", "test-results", "instance", "node_modules")
BUNDLED_PLUGINS = {"centre_overview", "healing_classrooms", "learning_levels", "oneroster", "school_register_csv"}
ROLES = ("admin", "liaison", "teacher", "partner")
# Generous bounds on steps that normally take seconds: a hung step fails, a slow machine does not.
STEP = 600


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=STEP, **kwargs)
    assert done.returncode == 0, f"{cmd}\nexit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _build_wheel(source: Path, out: Path) -> Path:
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-q",
          "-w", out, source])
    (wheel,) = out.glob("tracker-*.whl")
    return wheel


@dataclass(frozen=True)
class Built:
    wheel: Path  # built from a copy of the repository
    sdist: Path
    sdist_wheel: Path  # built from the unpacked sdist
    venv: Path  # a fresh venv with `wheel` installed
    python: Path
    tracker: Path  # the venv's console script
    outside: Path  # a working directory outside the checkout
    env: dict


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)

    # The wheel from the repository, and the sdist with a wheel built from it.
    wheel = _build_wheel(source, work / "wheel")
    (work / "sdist").mkdir()
    _run([sys.executable, "-c", "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
          work / "sdist"], cwd=source)
    (sdist,) = (work / "sdist").glob("tracker-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    sdist_wheel = _build_wheel(unpacked, work / "sdist-wheel")

    # A fresh venv: the wheel in it, the dependencies seen from this venv's site-packages after its own.
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (purelib / "_tracker_test_dependencies.pth").write_text(
        "".join(f"{p}\n" for p in sorted(ours) if Path(p).is_dir() and Path(p) != purelib))
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])

    outside = work / "outside"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRACKER_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                "TRACKER_DATABASE_URL": f"sqlite:///{work / 'tracker.sqlite3'}",
                "TRACKER_SECRET_KEY": "package-test",
                "TRACKER_SESSION_COOKIE_SECURE": "false", "TRACKER_REMEMBER_COOKIE_SECURE": "false",
                "TRACKER_WTF_CSRF_ENABLED": "false"})
    return Built(wheel, sdist, sdist_wheel, venv, python, venv / "bin" / "tracker", outside, env)


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if ".dist-info/" not in n}


def _in_venv(built: Built, *args) -> subprocess.CompletedProcess:
    return _run(args, cwd=built.outside, env=built.env)


def test_the_wheel_carries_every_package_and_its_data(built):
    names = _names(built.wheel)
    packages = sorted(str(p.parent.relative_to(ROOT)) for top in ("tracker", "plugins")
                      for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)
    missing = sorted({f"{d}/__init__.py" for d in packages} - names)
    assert not missing, f"packages the wheel lacks (is there an __init__.py?): {missing}"

    def files(folder: str, inside: str) -> set[str]:
        return {f"{inside}/{p.relative_to(ROOT / folder).as_posix()}" for p in (ROOT / folder).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".mo")}

    expected = (files("templates", "tracker/templates") | files("migrations", "tracker/migrations")
                | files("tracker/static", "tracker/static")
                | {"tracker/auth/common_passwords.txt", "tracker/api/openapi.json",
                   "tracker/migrations/alembic.ini", "tracker/migrations/script.py.mako",
                   "plugins/centre_overview/templates/centre_overview/index.html"}
                | {f"tracker/translations/{locale}/LC_MESSAGES/messages.{ext}"
                   for locale in ("sr_Latn", "sr_Cyrl") for ext in ("po", "mo")})
    assert not expected - names, sorted(expected - names)

    # The sdist holds the same: a wheel built from it has every file of the wheel built from the repository.
    assert _names(built.sdist_wheel) == names, sorted(_names(built.sdist_wheel) ^ names)
    with tarfile.open(built.sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "templates/base.html",
            "migrations/alembic.ini"} <= in_sdist, sorted(in_sdist)[:50]


def test_the_installed_package_migrates_a_database_and_loads_the_bundled_plugins(built):
    where = _in_venv(built, built.python, "-c",
                     "import tracker, plugins, tracker.flags; print(tracker.__file__); print(plugins.__file__)")
    for path in where.stdout.split():
        assert Path(path).is_relative_to(built.venv), f"imported from outside the fresh venv: {path}"

    upgraded = _in_venv(built, built.tracker, "db", "upgrade")
    assert "Traceback" not in upgraded.stderr, upgraded.stderr
    heads = _in_venv(built, built.tracker, "db", "current")
    assert "(head)" in heads.stdout + heads.stderr, heads.stdout + heads.stderr

    listed = json.loads(_in_venv(built, built.tracker, "plugins", "--json").stdout)
    text = json.dumps(listed)
    assert all(name in text for name in BUNDLED_PLUGINS), listed


# Signs in as each demo role and fetches one URL of every endpoint it can reach from the pages (links and
# GET forms), plus every GET rule without arguments; prints what answered 500 or failed to render.
CRAWL = textwrap.dedent(r"""
    import json, re, sys
    from urllib.parse import urljoin, urlsplit
    from tracker import create_app
    from tracker.demo.builder import email
    import tracker

    app = create_app()
    password = app.config["DEMO_PASSWORD"]
    problems, seen_endpoints, pages = [], set(), 0
    adapter = app.url_map.bind("localhost")
    no_args = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    for role in sys.argv[1:]:
        client = app.test_client()
        signed_in = client.post("/login", data={"email": email(role), "password": password})
        if signed_in.status_code != 302:
            problems.append(f"{role}: sign-in answered {signed_in.status_code}")
            continue
        queue, visited = ["/"] + no_args, set()
        while queue:
            url = queue.pop(0)
            path = urlsplit(url).path
            try:
                endpoint, _args = adapter.match(path, method="GET")
            except Exception:
                continue
            if (role, endpoint) in visited or endpoint in ("auth.logout",):
                continue
            visited.add((role, endpoint))
            response = client.get(url)
            pages += 1
            seen_endpoints.add(endpoint)
            if response.status_code >= 500:
                problems.append(f"{role} {url}: {response.status_code}")
                continue
            if response.mimetype == "text/html":
                for href in re.findall(r'(?:href|action)="([^"#]+)"', response.get_data(as_text=True)):
                    href = href.replace("&amp;", "&")
                    if href.startswith("/"):
                        queue.append(href)
    sr = app.test_client().get("/login", headers={"Accept-Language": "sr"}).get_data(as_text=True)
    css = app.test_client().get("/static/tracker.css")
    print(json.dumps({"problems": problems, "pages": pages, "endpoints": sorted(seen_endpoints),
                      "cyrillic_login": "Пријава" in sr, "css": css.status_code, "templates": app.template_folder,
                      "package": tracker.__file__}))
""")


def test_the_installed_package_serves_every_page_from_outside_the_checkout(built):
    _in_venv(built, built.tracker, "db", "upgrade")
    demo = _in_venv(built, built.tracker, "demo", "--children", "40")
    assert "Traceback" not in demo.stderr, demo.stderr
    (built.outside / "crawl.py").write_text(CRAWL, encoding="utf-8")
    result = json.loads(_in_venv(built, built.python, "crawl.py", *ROLES).stdout.strip().splitlines()[-1])

    assert Path(result["templates"]).is_relative_to(built.venv), result["templates"]
    assert Path(result["package"]).is_relative_to(built.venv), result["package"]
    assert not result["problems"], result["problems"]
    assert result["cyrillic_login"], "the compiled Serbian catalogue is not in the wheel"
    assert result["css"] == 200
    # The crawl reached the pages of the core and of the bundled plugins.
    reached = set(result["endpoints"])
    assert {"auth.login", "dashboard.index", "children.index", "reports.index", "centre_overview.index"} <= reached, (
        sorted(reached))
    assert result["pages"] > 20, result
