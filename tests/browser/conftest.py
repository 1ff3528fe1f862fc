"""A live tracker server on a fresh migrated SQLite file, seeded for a liaison officer, and a phone-sized
headless Chromium page (Debian's chromium through Playwright's sync API; no downloaded browser).

CSRF protection and Secure-only session cookies stay on: Chromium treats http://127.0.0.1 as a secure
context, so it keeps and sends Secure cookies there.
"""
from __future__ import annotations

import datetime as dt
import shutil
import threading
from dataclasses import dataclass

import pytest

from tests.conftest import PASSWORD, base_config, current_year_bounds

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
NO_CHROMIUM = "Debian's chromium is not installed; `make test` installs it"
# How long a step may take before it counts as hung. Playwright waits for the event itself (an element, a
# navigation, a response), so this is only the bound on a step that never happens: generous, because a loaded
# 2-core machine runs the suite four times slower than an idle one.
WAIT_MS = 120_000


@dataclass(frozen=True)
class Seed:
    """Plain values (no ORM objects) of what the live server's database holds at the start."""
    liaison_email: str
    school_a: str  # names of the liaison's two schools, both in Beograd
    school_b: str
    other_school: str  # a school outside the liaison's scope
    centre: str  # a centre in Beograd
    existing_code: str  # a registered child, living in the centre and enrolled at school_a
    existing_given: str
    existing_family: str
    existing_birth: dt.date


@dataclass
class LiveServer:
    url: str
    app: object
    seed: Seed


def _seed(password_hash: str) -> Seed:
    from tracker.children import operations as child_ops
    from tracker.enrolment import operations as enrol_ops
    from tracker.extensions import db
    from tracker.models import AcademicYear, Centre, School, User
    from tracker.types import CentreKind, Level, Role

    today = dt.date.today()
    first, last = current_year_bounds(today)
    # The flow enrols 20 days back and records the exit today: the year must cover today even in July/August.
    year = AcademicYear(label=f"{first.year}/{str(first.year + 1)[2:]}", first_day=first,
                        last_day=max(last, today + dt.timedelta(days=31)))
    school_a = School(code="BG001", name="OŠ Vuk Karadžić", municipality="Beograd", offers_primary=True)
    school_b = School(code="BG002", name="OŠ Branko Radičević", municipality="Beograd", offers_primary=True)
    other = School(code="SU001", name="OŠ Jovan Jovanović Zmaj", municipality="Subotica", offers_primary=True)
    centre = Centre(code="KRN", name="Krnjača", kind=CentreKind.asylum, municipality="Beograd")
    liaison = User(email="liaison@example.org", name="Jelena Petrović", role=Role.liaison,
                   password_hash=password_hash, schools=[school_a, school_b])
    db.session.add_all([year, school_a, school_b, other, centre, liaison])
    db.session.commit()

    born = dt.date(today.year - 11, 3, 4)
    existing = child_ops.register_child(given_name="Ahmad", family_name="Rahimi", name_original="احمد رحیمی",
                                        sex="male", birth_date=born, country="AFG", first_language="prs",
                                        centre=centre, centre_since=today - dt.timedelta(days=200))
    enrol_ops.enrol(existing, school_a, Level.primary.value, 5, today - dt.timedelta(days=60))
    db.session.commit()  # as the request that registers and enrols would
    return Seed(liaison.email, school_a.name, school_b.name, other.name, centre.name, existing.code,
                existing.given_name, existing.family_name, born)


@pytest.fixture
def live_server(sqlite_template, password_hash, tmp_path):
    """The real app on 127.0.0.1 and a free port, in a background thread, with CSRF and Secure cookies on."""
    from werkzeug.serving import make_server

    from tracker import create_app
    from tracker.extensions import db

    path = tmp_path / "tracker.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(base_config(f"sqlite:///{path}", WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=True,
                                 REMEMBER_COOKIE_SECURE=True))
    app.instance_path = str(tmp_path)
    assert app.config["WTF_CSRF_ENABLED"] and app.config["SESSION_COOKIE_SECURE"]
    with app.app_context():
        seed = _seed(password_hash)
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="tracker-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, seed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        sync_api.expect.set_options(timeout=WAIT_MS)
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True,
                                             timeout=WAIT_MS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server):
    """A fresh phone-sized browser context (no cookies) pointed at the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", **PHONE)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, finding the fields by their labels."""
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # Signed in when the page offers its menu (waits for the POST and its redirect to finish).
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("details#menu > summary")).to_be_visible()


def sign_out(page) -> None:
    """Sign out as a user on a phone does: "Menu", then "Sign out"."""
    main_menu(page)
    page.get_by_role("button", name="Sign out", exact=True).click()


def main_menu(page):
    """The main navigation, unfolded as a user on a phone unfolds it: by tapping "Menu" (one tap)."""
    menu = page.locator("details#menu")
    if menu.get_attribute("open") is None:
        menu.locator("> summary").click()
    return page.get_by_role("navigation", name="Main")
