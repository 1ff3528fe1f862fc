"""Eight people saving and correcting the same class's registers at once, against a served instance.

A real WSGI server (werkzeug, threaded) in a thread, on SQLite and on PostgreSQL; each client is
a browser of its own (cookie jar, CSRF token from the form page), signed in as a teacher or a
liaison officer of the class. Every save must succeed, and afterwards the records, their
correction history and the attendance_month summary must agree with each other.
"""
from __future__ import annotations

import datetime as dt
import html.parser
import http.cookiejar
import random
import threading
import urllib.parse
import urllib.request
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD
from tracker.attendance import summary
from tracker.extensions import db
from tracker.models import AttendanceChange, AttendanceMonth, AttendanceRecord, Child, Enrolment, User
from tracker.schools.calendar import school_days
from tracker.types import AttendanceStatus, Role

CLIENTS = 8
ROUNDS = 8
PUPILS = 8
DAYS = 3
STATUSES = ["present", "late", "absent_excused", "absent_unexcused"]


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def served(app):
    """The test's app behind a threaded werkzeug server on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


class _CsrfToken(html.parser.HTMLParser):
    token: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


class _NoRaise(urllib.request.HTTPErrorProcessor):
    """Hand every response back as it is: no exception for 4xx/5xx, no redirect followed."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRaise)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        with self.opener.open(self.base + path, data=body, timeout=120) as response:
            return response.status, response.read().decode()

    def token(self, path: str) -> str:
        status, page = self.request(path)
        assert status == 200, (path, status)
        parser = _CsrfToken()
        parser.feed(page)
        assert parser.token, f"no CSRF token on {path}"
        return parser.token

    def sign_in(self, email: str) -> None:
        status, _page = self.request("/login", {"email": email, "password": PASSWORD,
                                                "csrf_token": self.token("/login")})
        assert status == 302, (email, status)


def _class_of_eight(world):
    """class_a with PUPILS enrolled, and CLIENTS staff members who may take its register."""
    from werkzeug.security import generate_password_hash

    # A cheap scrypt: eight sign-ins at full cost take seconds of CPU, and signing in is not what is tested.
    password_hash = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    enrolments = [world.child_a.open_enrolment]
    for i in range(PUPILS - 1):
        c = Child(code=f"C-CONC{i:02d}", given_name=f"Pupil{i}", family_name="Test", name_key=f"pupil{i} test",
                  sex="female" if i % 2 else "male", birth_date=dt.date(2014, 1, 1), country="SYR",
                  first_language="ara", legal_basis="public_task")
        e = Enrolment(child=c, school=world.school_a, year=world.year, level="primary", grade=5,
                      school_class=world.class_a, start_date=world.year.first_day)
        db.session.add_all([c, e])
        enrolments.append(e)
    staff = [world.teacher_a, world.liaison_a]
    for u in staff:
        u.password_hash = password_hash
    for i in range(CLIENTS - len(staff)):
        u = User(email=f"teacher{i}@example.org", name=f"teacher{i}", role=Role.teacher,
                 password_hash=password_hash, classes=[world.class_a])
        db.session.add(u)
        staff.append(u)
    db.session.commit()
    today = dt.date.today()
    days = [d for d in school_days(world.school_a, world.year.first_day, today)][-DAYS:]
    assert len(days) == DAYS, "the test needs a few school days of this year before today"
    return [e.id for e in enrolments], [u.email for u in staff], days


def _client(base, email, class_id, enrolment_ids, days, seed, start, results, errors):
    try:
        rng = random.Random(seed)
        browser = Browser(base)
        browser.sign_in(email)
        token = browser.token(f"/registers/{class_id}/{days[0].isoformat()}")  # the session's, good for each form
        start.wait()  # everyone signed in: the saves start together
        for _round in range(ROUNDS):
            day = rng.choice(days)
            path = f"/registers/{class_id}/{day.isoformat()}"
            data = {"csrf_token": token}
            for eid in enrolment_ids:
                status = rng.choice(STATUSES)
                data[f"status-{eid}"] = status
                if status.startswith("absent") and rng.random() < 0.5:
                    data[f"reason-{eid}"] = "illness"
            code, _page = browser.request(path, data)
            results.append(code)
    except BaseException as exc:  # noqa: BLE001 - reported by the test thread
        errors.append(exc)
        start.abort()


def stored_summary() -> set[tuple]:
    return {tuple(r) for r in db.session.execute(sa.select(
        AttendanceMonth.enrolment_id, AttendanceMonth.month, AttendanceMonth.recorded, AttendanceMonth.present,
        AttendanceMonth.late, AttendanceMonth.absent_excused, AttendanceMonth.absent_unexcused,
        AttendanceMonth.last_date))}


def raw_summary() -> set[tuple]:
    """The summary computed here from the raw records (every record of this test counts)."""
    out: dict[tuple, list] = {}
    for eid, day, status in db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date,
                                                         AttendanceRecord.status)):
        agg = out.setdefault((eid, day.replace(day=1)), [0, 0, 0, 0, 0, day])
        agg[0] += 1
        agg[1 + STATUSES.index(status.value)] += 1
        agg[5] = max(agg[5], day)
    return {(*k, *v) for k, v in out.items()}


def history_errors() -> list[tuple]:
    """Records whose corrections do not replay: each change starts from the value the previous one
    left, and the last one ends on the record's value."""
    final = dict(db.session.execute(sa.select(AttendanceRecord.id, AttendanceRecord.status)).all())
    chains = defaultdict(list)
    for rid, old, new in db.session.execute(sa.select(AttendanceChange.record_id, AttendanceChange.old_status,
                                                      AttendanceChange.new_status).order_by(AttendanceChange.id)):
        chains[rid].append((old, new))
    wrong = []
    for rid, chain in chains.items():
        steps = [old for old, _new in chain] + [final[rid]]
        if any(new != steps[i + 1] for i, (_old, new) in enumerate(chain)):
            wrong.append((rid, chain, final[rid]))
    return wrong


def test_concurrent_register_saves_all_succeed_and_agree(served, app, world):
    enrolment_ids, emails, days = _class_of_eight(world)
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=_client, args=(served, email, world.class_a.id, enrolment_ids, days, n,
                                                      start, results, errors))
               for n, email in enumerate(emails)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    # Every check, then one failure listing all that went wrong.
    problems = []
    codes = Counter(results)
    failed = sum(n for code, n in codes.items() if code >= 500)
    if codes != {302: CLIENTS * ROUNDS}:
        problems.append(f"{failed} of {len(results)} saves answered 5xx ({dict(codes)})")
    db.session.rollback()
    keys = Counter(db.session.execute(sa.select(AttendanceRecord.enrolment_id, AttendanceRecord.date)).all())
    if set(keys) != {(e, d) for e in enrolment_ids for d in days} or max(keys.values()) != 1:
        problems.append(f"records are not one per enrolment and day: {sorted(keys.items())}")
    if not db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceChange)):
        problems.append("no correction was recorded: the clients did not overlap")
    wrong = history_errors()
    if wrong:
        rid, chain, last = wrong[0]
        problems.append(f"{len(wrong)} of {len(keys)} records have a history that does not replay "
                        f"(record {rid}: {[(o.value, n.value) for o, n in chain]} then {last.value})")
    incremental = stored_summary()
    if incremental != raw_summary():
        problems.append(f"summary differs from the raw records: {sorted(incremental ^ raw_summary())}")
    summary.rebuild()
    if stored_summary() != incremental:
        problems.append("summary differs from a rebuild")
    db.session.rollback()
    assert not problems, "; ".join(problems)


class _Deadlock(Exception):
    sqlstate = "40P01"


def _school_day(world) -> dt.date:
    return school_days(world.school_a, world.year.first_day, dt.date.today())[-1]


def test_a_deadlock_rolls_back_to_the_savepoint_and_the_save_is_retried(app, world, monkeypatch):
    """The first attempt writes, then meets a (simulated) deadlock: only its SAVEPOINT is undone."""
    from tracker.attendance import operations

    day, e = _school_day(world), world.child_a.open_enrolment
    operations.save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    db.session.commit()
    real, calls, waits = operations._upsert, [], []

    def once_deadlocked(rows, user):
        counts = real(rows, user)
        calls.append(counts)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT ...", {}, _Deadlock())
        return counts

    monkeypatch.setattr(operations, "_upsert", once_deadlocked)
    monkeypatch.setattr(operations, "_sleep", waits.append)
    operations.save_register(world.class_a, day, {e.id: {"status": "absent_unexcused"}}, user=world.teacher_a)
    db.session.commit()
    assert len(calls) == 2 and len(waits) == 1
    assert calls[1] == {"created": 0, "updated": 1, "unchanged": 0}
    changes = db.session.execute(sa.select(AttendanceChange.old_status, AttendanceChange.new_status)).all()
    assert [(o.value, n.value) for o, n in changes] == [("late", "absent_unexcused")]
    assert db.session.scalar(sa.select(AttendanceMonth.absent_unexcused)) == 1


def test_a_write_that_keeps_failing_gives_up_after_the_last_attempt(app, world, monkeypatch):
    from tracker.attendance import operations

    day, e = _school_day(world), world.child_a.open_enrolment
    calls = []

    def deadlocked(rows, user):
        calls.append(rows)
        raise sa.exc.OperationalError("INSERT ...", {}, _Deadlock())

    monkeypatch.setattr(operations, "_upsert", deadlocked)
    monkeypatch.setattr(operations, "_sleep", lambda s: None)
    with pytest.raises(sa.exc.OperationalError):
        operations.save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    assert len(calls) == operations.ATTEMPTS
    db.session.rollback()


def test_the_savepoint_does_not_commit_the_request_early(app, world):
    """On SQLite a SAVEPOINT outside a transaction would start one, and its RELEASE commit it: the
    lock opens the transaction first, so a request that fails afterwards still rolls everything back."""
    from tracker.attendance import operations

    day, e = _school_day(world), world.child_a.open_enrolment
    operations.save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceRecord)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceMonth)) == 0


def test_an_imported_row_saved_meanwhile_becomes_a_correction(app, world):
    """The import found no record, then a register was saved before its batch was written."""
    from tracker.attendance import operations

    day, e = _school_day(world), world.child_a.open_enrolment
    operations.save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    db.session.commit()
    operations.save_records([{"enrolment_id": e.id, "date": day, "status": "absent_excused", "reason": "illness"}],
                            [], user=world.liaison_a)
    db.session.commit()
    rec = db.session.scalar(sa.select(AttendanceRecord))
    assert (rec.status.value, rec.reason) == ("absent_excused", "illness")
    changes = db.session.execute(sa.select(AttendanceChange.old_status, AttendanceChange.new_status)).all()
    assert [(o.value, n.value) for o, n in changes] == [("late", "absent_excused")]
    assert db.session.execute(sa.select(AttendanceMonth.recorded, AttendanceMonth.absent_excused)).one() == (1, 1)


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_real_error_inside_the_savepoint_leaves_the_transaction_usable(app, world, monkeypatch):
    """PostgreSQL refuses every statement after an error until the rollback to the savepoint: the
    retry must start from there (a unique violation raised by the database itself, once)."""
    from tracker.attendance import operations

    day, e = _school_day(world), world.child_a.open_enrolment
    real, calls = operations._upsert, []

    def once_refused(rows, user):
        counts = real(rows, user)
        calls.append(counts)
        if len(calls) == 1:
            db.session.execute(sa.insert(AttendanceRecord.__table__).values(
                enrolment_id=e.id, date=day, status="present", reason="", note="", recorded_at=dt.datetime(2026, 1, 1)))
        return counts

    monkeypatch.setattr(operations, "_upsert", once_refused)
    monkeypatch.setattr(operations, "_sleep", lambda s: None)
    operations.save_register(world.class_a, day, {e.id: {"status": "late"}}, user=world.teacher_a)
    db.session.commit()
    assert len(calls) == 2
    assert db.session.execute(sa.select(AttendanceRecord.status)).scalars().all() == [AttendanceStatus.late]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceChange)) == 0
