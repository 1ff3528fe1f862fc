"""Fixtures: an app on a migrated SQLite file and on a real PostgreSQL server, a client, a
runner, a small world of two schools, and a sign-in helper (after flaskr's conftest)."""
from __future__ import annotations

import datetime as dt
import itertools
import shutil
from dataclasses import dataclass

import flask
import pytest
import sqlalchemy as sa

from tests import pgserver
from tracker import create_app
from tracker.extensions import db

PASSWORD = "tracker-test-passphrase"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_counter = itertools.count()


def base_config(url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # A loaded CI machine can hold a writer longer than production's 5 s; a wait is not a failure.
        "SQLITE_BUSY_TIMEOUT_MS": 60_000,
        **extra,
    }


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "tracker.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_server():
    reason = pgserver.missing_reason()
    if reason:
        pytest.skip(reason)
    server = pgserver.PostgresServer().start()
    server.execute("CREATE DATABASE tracker_template")
    _migrate(server.url("tracker_template"))
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(request, backend, tmp_path):
    if backend == "sqlite":
        path = tmp_path / "tracker.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"t{next(_counter)}"
        server.execute(f"CREATE DATABASE {name} TEMPLATE tracker_template")
        yield server.url(name)
        server.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def app_config():
    """Override in a test module to add settings."""
    return {}


@pytest.fixture
def production_like_requests(app):
    """Each request also ends its transaction, as in production: nothing a request left unsaved
    survives it, so a test sees only what was committed. Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("production_like_requests")``."""
    def end_transaction(sender, **extra):
        db.session.rollback()

    flask.request_tearing_down.connect(end_transaction, app)
    yield
    flask.request_tearing_down.disconnect(end_transaction, app)


@pytest.fixture
def app(database_url, app_config, tmp_path):
    app = create_app(base_config(database_url, **app_config))
    app.instance_path = str(tmp_path)

    # The test keeps one app context open so it can query the database; Flask then reuses it for
    # every request. Give each request a fresh `g` (signed-in user, CSRF token, locale), as in
    # production, and a usable session after a request that failed.
    @app.before_request
    def _fresh_g():
        from flask import g

        for name in list(vars(g)):
            delattr(g, name)

    @app.teardown_request
    def _rollback_failed(exc):
        if exc is not None:
            db.session.rollback()

    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def password_hash():
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="scrypt")


def current_year_bounds(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """A school year that covers today: September to June, stretched to August in the summer, and back to
    August in September (partners' figures need a whole month of the year behind today)."""
    today = today or dt.date.today()
    start_year = today.year if today.month >= 9 else today.year - 1
    last = dt.date(start_year + 1, 6, 20)
    first = dt.date(start_year, 8, 1) if today.month == 9 else dt.date(start_year, 9, 1)
    return first, max(last, dt.date(start_year + 1, 8, 31) if today > last else last)


@dataclass
class World:
    year: object
    school_a: object
    school_b: object
    centre_a: object
    centre_b: object
    class_a: object
    class_b: object
    admin: object
    liaison_a: object
    liaison_b: object
    teacher_a: object
    partner: object
    liaison_none: object
    teacher_none: object
    child_a: object
    child_b: object


@pytest.fixture
def world(app, password_hash) -> World:
    """Two schools in two municipalities, each with a centre, a class, a liaison officer and a child."""
    from tracker.models import AcademicYear, Centre, CentreStay, Child, Enrolment, School, SchoolClass, UascPeriod, User
    from tracker.types import CentreKind, LegalBasis, Level, Role, Sex, UascStatus

    first, last = current_year_bounds()
    year = AcademicYear(label=f"{first.year}/{str(first.year + 1)[2:]}", first_day=first, last_day=last)
    school_a = School(code="SA001", name="OŠ Vuk Karadžić", municipality="Beograd", offers_primary=True)
    school_b = School(code="SB002", name="Gimnazija Subotica", municipality="Subotica", offers_primary=True,
                      offers_secondary=True)
    centre_a = Centre(code="KRN", name="Krnjača", kind=CentreKind.asylum, municipality="Beograd")
    centre_b = Centre(code="SUB", name="Subotica RTC", kind=CentreKind.reception, municipality="Subotica")
    class_a = SchoolClass(school=school_a, year=year, level=Level.primary, grade=5, name="5-1")
    class_b = SchoolClass(school=school_b, year=year, level=Level.secondary, grade=1, name="I-2")

    def user(email, role, **kw):
        u = User(email=email, name=email.split("@")[0], role=role, password_hash=password_hash, **kw)
        db.session.add(u)
        return u

    admin = user("admin@example.org", Role.admin)
    liaison_a = user("liaison.a@example.org", Role.liaison, schools=[school_a])
    liaison_b = user("liaison.b@example.org", Role.liaison, schools=[school_b])
    teacher_a = user("teacher.a@example.org", Role.teacher, classes=[class_a])
    partner = user("partner@example.org", Role.partner)
    liaison_none = user("liaison.none@example.org", Role.liaison)
    teacher_none = user("teacher.none@example.org", Role.teacher)

    def child(code, given, family, sex, born, centre, school, cls, level, grade, uasc=UascStatus.accompanied):
        c = Child(code=code, given_name=given, family_name=family, name_original="", name_key=f"{given} {family}".lower(),
                  sex=sex, birth_date=born, country="AFG", first_language="prs", legal_basis=LegalBasis.public_task)
        c.uasc_periods.append(UascPeriod(status=uasc, start_date=first - dt.timedelta(days=60)))
        c.centre_stays.append(CentreStay(centre=centre, start_date=first - dt.timedelta(days=60)))
        db.session.add(c)
        db.session.add(Enrolment(child=c, school=school, year=year, level=level, grade=grade, school_class=cls,
                                 start_date=first))
        return c

    child_a = child("C-AAAAAA", "Ahmad", "Rahimi", Sex.male, dt.date(first.year - 11, 3, 4), centre_a, school_a,
                    class_a, Level.primary, 5)
    child_b = child("C-BBBBBB", "Zahra", "Hosseini", Sex.female, dt.date(first.year - 15, 7, 1), centre_b, school_b,
                    class_b, Level.secondary, 1, UascStatus.unaccompanied)
    db.session.commit()
    return World(year, school_a, school_b, centre_a, centre_b, class_a, class_b, admin, liaison_a, liaison_b,
                 teacher_a, partner, liaison_none, teacher_none, child_a, child_b)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
