"""Sign-in, sign-out, password changes and user administration: every write about users."""
from __future__ import annotations

import datetime as dt
import math
import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app
from flask_babel import gettext as _

from tracker import audit, bulk, unit_of_work
from tracker.auth.models import LoginAttempt, LoginThrottle, User
from tracker.auth.passwords import password_problem
from tracker.children.models import utcnow
from tracker.extensions import db
from tracker.types import Role

# One-time passwords: groups of characters that cannot be mistaken for one another when read out or typed on a phone.
ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
ONE_TIME_GROUP = 4


class UserError(ValueError):
    """Bad input for a user operation: ``message`` is shown as it is, next to ``field`` when there is one.

    ``str()`` of the error names the field first, as the ``tracker create-user`` command prints it.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


# --- signing in ---------------------------------------------------------------------------------------------------

def lockout_minutes() -> int:
    """The lockout window of the configuration in whole minutes (rounded up), for the message that names it."""
    return max(1, math.ceil(current_app.config["LOGIN_FAILURE_WINDOW"].total_seconds() / 60))


def is_locked(email: str, source: str = "") -> bool:
    """Whether ``email`` has used up its failed attempts from ``source`` in the current window (reads only)."""
    row = db.session.get(LoginThrottle, (email.strip().lower(), _source(source)))
    since = utcnow() - current_app.config["LOGIN_FAILURE_WINDOW"]
    return row is not None and row.window_start >= since and row.failures >= current_app.config["LOGIN_MAX_FAILURES"]


def _source(source: str | None) -> str:
    return (source or "")[:64]


def _count_attempt(email: str, source: str) -> int:
    """Count this attempt as a failure before the password is checked; the failures in the window, this one included.

    One row per email and source address, incremented by a single INSERT ... ON CONFLICT DO UPDATE ...
    RETURNING: the row stays locked until the request's transaction ends, so parallel attempts for one
    address from one source are counted one after another and the sixth is refused however the requests
    interleave. A correct password takes its count back (``_forget_failures``). Counting per source means
    that wrong passwords typed elsewhere do not lock the owner of the account out of her own device.
    """
    now = utcnow()
    since = now - current_app.config["LOGIN_FAILURE_WINDOW"]
    insert = postgresql.insert if bulk.is_postgresql() else sqlite.insert
    table = LoginThrottle.__table__
    stmt = insert(table).values(email=email, source=source, failures=1, window_start=now)
    expired = table.c.window_start < since
    stmt = stmt.on_conflict_do_update(index_elements=["email", "source"], set_={
        "failures": sa.case((expired, 1), else_=table.c.failures + 1),
        "window_start": sa.case((expired, now), else_=table.c.window_start),
    }).returning(table.c.failures)
    return db.session.execute(stmt).scalar_one()


def _forget_failures(email: str, source: str) -> None:
    db.session.execute(sa.update(LoginThrottle).where(LoginThrottle.email == email, LoginThrottle.source == source)
                       .values(failures=0))


def authenticate(email: str, password: str, source: str | None = "") -> tuple[User | None, bool]:
    """(user or None, locked). Every attempt is counted in the database, atomically, per email and ``source``
    (the client's address, ``request.remote_addr``)."""
    email = email.strip().lower()
    source = _source(source)
    unit_of_work.keep()  # the attempt is counted even though a refusal is answered 401 or 429
    if _count_attempt(email, source) > current_app.config["LOGIN_MAX_FAILURES"]:
        audit.record("login_locked", object_type="user", object_id=email[:50])
        db.session.flush()
        return None, True
    user = db.session.scalar(sa.select(User).where(User.email == email))
    ok = user is not None and user.active and user.check_password(password)
    if ok:
        _forget_failures(email, source)
        user.last_login_at = utcnow()
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
        raise UserError(_("The current password is wrong."), "current")
    problem = password_problem(new, user.email)
    if problem:
        raise UserError(problem, "new")
    if new == current:
        raise UserError(_("Choose a password different from the current one."), "new")
    user.set_password(new)
    user.must_change_password = False
    user.session_version += 1
    audit.record("password_changed", user, user=user, object_id=str(user.id))
    db.session.flush()


# --- users --------------------------------------------------------------------------------------------------------

def one_time_password() -> str:
    """A random password for an administrator to pass on, e.g. ``k7mq-x3pt-9dfa-w2hn``; the user replaces it."""
    length = max(current_app.config["PASSWORD_MIN_LENGTH"], 16)
    groups = math.ceil((length + 1) / (ONE_TIME_GROUP + 1))
    while True:
        password = "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _i in range(ONE_TIME_GROUP))
                            for _g in range(groups))
        if password_problem(password) is None:
            return password


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise UserError(_("Choose a role: %(role)s is not one of %(roles)s.", role=repr(str(role)),
                          roles=", ".join(r.value for r in Role)), "role") from None


def _assignments(role: Role, school_codes, class_ids) -> tuple[list, list]:
    """The schools and classes named, checked against the role: schools for liaison officers, classes for teachers."""
    from tracker.schools.models import School, SchoolClass

    school_codes, class_ids = list(dict.fromkeys(school_codes or ())), list(dict.fromkeys(class_ids or ()))
    if school_codes and role != Role.liaison:
        raise UserError(_("Leave the schools empty: only liaison officers are assigned schools."), "schools")
    if class_ids and role != Role.teacher:
        raise UserError(_("Leave the classes empty: only teachers are assigned classes."), "classes")
    schools = []
    for code in school_codes:
        school = db.session.scalar(sa.select(School).where(School.code == code))
        if school is None:
            raise UserError(_("There is no school with code %(code)s.", code=repr(code)), "schools")
        schools.append(school)
    classes = []
    for cid in class_ids:
        try:
            cls = db.session.get(SchoolClass, int(cid))
        except (TypeError, ValueError):
            cls = None
        if cls is None:
            raise UserError(_("There is no class with id %(id)s.", id=repr(cid)), "classes")
        classes.append(cls)
    return schools, classes


def create_user(email: str, role: Role | str, password: str | None, *, name: str = "", school_codes=(), class_ids=(),
                must_change_password: bool = False) -> User:
    """A new user. ``password`` None: a one-time password is made (``user.one_time_password``, never stored).

    ``must_change_password``: the user sets a password of her own at the first sign-in (an administrator gave
    this one).
    """
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(ord(ch) < 33 for ch in email):
        raise UserError(_("%(email)s is not an email address.", email=repr(email)), "email")
    role = _role(role)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise UserError(_("A user with %(email)s exists already.", email=email), "email")
    made = password is None
    if made:
        password = one_time_password()
    problem = password_problem(password, email)
    if problem:
        raise UserError(problem, "password")
    schools, classes = _assignments(role, school_codes, class_ids)
    user = User(email=email, name=(name or "").strip() or email.split("@")[0], role=role, schools=schools,
                classes=classes, must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", user, object_id=str(user.id))
    db.session.flush()
    user.one_time_password = password if made else None
    return user


def _is_last_active_admin(user: User) -> bool:
    """Whether ``user`` is the only active administrator (the administrators' rows are locked until the commit,
    so two administrators cannot take each other's rights away at the same time)."""
    if user.role != Role.admin or not user.active:
        return False
    admins = db.session.scalars(sa.select(User.id).where(User.role == Role.admin, User.active.is_(True))
                                .with_for_update()).all()
    return admins == [user.id]


def update_user(user: User, *, by: User, role: Role | str, school_codes=(), class_ids=(), name: str | None = None) -> bool:
    """Change the role, the schools and classes (and the name) of ``user``. Whether anything changed.

    Scope reads the assignments on every request, so what is taken away is out of reach on the user's next request.
    """
    role = _role(role)
    if role != user.role:
        if user.id == by.id:
            raise UserError(_("You cannot change your own role. Ask another administrator."), "role")
        if _is_last_active_admin(user):
            raise UserError(_("This is the last active administrator. Make another user an administrator first."),
                            "role")
    schools, classes = _assignments(role, school_codes, class_ids)
    changed = False
    if name is not None and name.strip() and name.strip() != user.name:
        user.name = name.strip()
        audit.record("user_renamed", user, user=by, object_id=str(user.id))
        changed = True
    if role != user.role:
        user.role = role
        audit.record("user_role_changed", user, user=by, object_id=str(user.id))
        changed = True
    if {s.id for s in schools} != {s.id for s in user.schools} or {c.id for c in classes} != {c.id for c in user.classes}:
        user.schools = schools
        user.classes = classes
        audit.record("user_assignments_changed", user, user=by, object_id=str(user.id))
        changed = True
    db.session.flush()
    return changed


def set_active(user: User, active: bool, *, by: User) -> bool:
    """Deactivate (every session ends; signing in is refused) or reactivate ``user``. Whether anything changed."""
    if user.active == active:
        return False
    if not active:
        if user.id == by.id:
            raise UserError(_("You cannot deactivate yourself. Ask another administrator."))
        if _is_last_active_admin(user):
            raise UserError(_("This is the last active administrator and cannot be deactivated. Make another user "
                              "an administrator first."))
        user.session_version += 1
    user.active = active
    audit.record("user_reactivated" if active else "user_deactivated", user, user=by, object_id=str(user.id))
    db.session.flush()
    return True


def reset_password(user: User, *, by: User, password: str | None = None) -> str:
    """Give ``user`` a one-time password (made here when ``password`` is None): her sessions end, the sign-in
    lockout of her email is lifted, and she chooses her own password at the next sign-in. The password, once."""
    if password is None:
        password = one_time_password()
    else:
        problem = password_problem(password, user.email)
        if problem:
            raise UserError(problem, "password")
    user.set_password(password)
    user.must_change_password = True
    user.session_version += 1
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email == user.email))
    audit.record("password_reset", user, user=by, object_id=str(user.id))
    db.session.flush()
    return password


def utc_timestamp() -> float:
    return dt.datetime.now(dt.timezone.utc).timestamp()
