"""Sign-in, sign-out, password changes and user creation: every write about users."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app

from tracker import audit, bulk, unit_of_work
from tracker.auth.models import LoginAttempt, LoginThrottle, User
from tracker.auth.passwords import password_problem
from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.types import Role


class UserError(ValueError):
    """Bad input for a user operation; the message is shown as it is."""


def is_locked(email: str) -> bool:
    """Whether ``email`` has used up its failed attempts in the current window (reads only)."""
    row = db.session.get(LoginThrottle, email.strip().lower())
    since = utcnow() - current_app.config["LOGIN_FAILURE_WINDOW"]
    return row is not None and row.window_start >= since and row.failures >= current_app.config["LOGIN_MAX_FAILURES"]


def _count_attempt(email: str) -> int:
    """Count this attempt as a failure before the password is checked; the failures in the window, this one included.

    One row per email, incremented by a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the
    row stays locked until the request's transaction ends, so parallel attempts for one address
    are counted one after another and the sixth is refused however the requests interleave. A
    correct password takes its count back (``_forget_failures``).
    """
    now = utcnow()
    since = now - current_app.config["LOGIN_FAILURE_WINDOW"]
    insert = postgresql.insert if bulk.is_postgresql() else sqlite.insert
    table = LoginThrottle.__table__
    stmt = insert(table).values(email=email, failures=1, window_start=now)
    expired = table.c.window_start < since
    stmt = stmt.on_conflict_do_update(index_elements=["email"], set_={
        "failures": sa.case((expired, 1), else_=table.c.failures + 1),
        "window_start": sa.case((expired, now), else_=table.c.window_start),
    }).returning(table.c.failures)
    return db.session.execute(stmt).scalar_one()


def _forget_failures(email: str) -> None:
    db.session.execute(sa.update(LoginThrottle).where(LoginThrottle.email == email).values(failures=0))


def authenticate(email: str, password: str) -> tuple[User | None, bool]:
    """(user or None, locked). Every attempt is counted in the database, atomically."""
    email = email.strip().lower()
    unit_of_work.keep()  # the attempt is counted even though a refusal is answered 401 or 429
    if _count_attempt(email) > current_app.config["LOGIN_MAX_FAILURES"]:
        audit.record("login_locked", object_type="user", object_id=email[:50])
        db.session.flush()
        return None, True
    user = db.session.scalar(sa.select(User).where(User.email == email))
    ok = user is not None and user.active and user.check_password(password)
    if ok:
        _forget_failures(email)
    db.session.add(LoginAttempt(email=email, success=ok))
    audit.record("login" if ok else "login_failed", user=user if ok else None, object_type="user",
                 object_id=str(user.id) if user else "")
    db.session.flush()
    return (user if ok else None), False


def end_sessions(user: User) -> None:
    """Every session of this user ends on its next request."""
    user.session_version += 1
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise UserError("current")
    problem = password_problem(new, user.email)
    if problem:
        raise UserError(problem)
    user.set_password(new)
    user.session_version += 1
    audit.record("password_changed", user, user=user, object_id=str(user.id))
    db.session.flush()


def create_user(email: str, role: Role | str, password: str, *, name: str = "", school_codes=(), class_ids=()) -> User:
    from tracker.schools.models import School, SchoolClass

    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError(f"email: {email!r} is not an email address")
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"role: must be one of {', '.join(r.value for r in Role)}") from None
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise UserError(f"email: a user with {email} exists already")
    problem = password_problem(password, email)
    if problem:
        raise UserError(f"password: {problem}")
    if school_codes and role != Role.liaison:
        raise UserError("--school: only liaison officers are assigned schools")
    if class_ids and role != Role.teacher:
        raise UserError("--class: only teachers are assigned classes")
    schools = []
    for code in school_codes:
        school = db.session.scalar(sa.select(School).where(School.code == code))
        if school is None:
            raise UserError(f"--school: no school with code {code!r}")
        schools.append(school)
    classes = []
    for cid in class_ids:
        cls = db.session.get(SchoolClass, int(cid))
        if cls is None:
            raise UserError(f"--class: no class with id {cid!r}")
        classes.append(cls)
    user = User(email=email, name=name or email.split("@")[0], role=role, schools=schools, classes=classes)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", user, object_id=str(user.id))
    db.session.flush()
    return user


def utc_timestamp() -> float:
    return dt.datetime.now(dt.timezone.utc).timestamp()
