"""Users and the audit log, for administrators.

Every change goes through ``tracker.auth.operations`` (which audits it); the pages only read and
call them. A password shown here is shown once, in the answer to the form that made it.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone, gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from tracker import once
from tracker.admin.actions import OBJECT_TYPES, action_label, object_type_label
from tracker.admin.forms import AssignmentsForm, AuditFilterForm, NewUserForm, ResetPasswordForm, UserFilterForm
from tracker.audit.models import AuditEvent
from tracker.auth import operations
from tracker.auth.models import User, user_schools
from tracker.extensions import db
from tracker.labels import options
from tracker.schools.models import AcademicYear, School, SchoolClass, class_teachers
from tracker.types import Role
from tracker.web import url_for_if

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50

# A form that makes a password may be sent once: each rendering carries a one-time value, so reloading the
# page that shows the password (which sends the form again) neither makes nor shows another one.
ONCE_KEY = "admin_user_forms"
ONCE_KEEP = 5


@bp.before_request
@login_required
def admins_only():
    if current_user.role != Role.admin:
        abort(404)


def _me() -> User:
    return current_user._get_current_object()


def _new_once(form) -> None:
    once.new_once(form, ONCE_KEY, ONCE_KEEP)


def _use_once(value: str | None) -> bool:
    return once.use_once(value, ONCE_KEY)


def _get_user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _pages(total: int) -> tuple[int, int]:
    pages = max(1, -(-total // PAGE_SIZE))
    try:
        page = int(request.args.get("page") or 1)
    except ValueError:
        page = 1
    return min(max(1, page), pages), pages


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for(request.endpoint, **args, page=page, **(request.view_args or {}))


# --- users --------------------------------------------------------------------------------------------------------

def _schools():
    return db.session.scalars(sa.select(School).order_by(School.name)).all()


def _class_groups(selected: set[str]):
    """Classes to choose from, by school and year: those of school years not over yet, and any already chosen."""
    today = dt.date.today()
    rows = db.session.execute(
        sa.select(SchoolClass, School.name, AcademicYear.label)
        .join(School, School.id == SchoolClass.school_id).join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(sa.or_(AcademicYear.last_day >= today, SchoolClass.id.in_([int(v) for v in selected if v.isdigit()])))
        .order_by(School.name, AcademicYear.first_day.desc(), SchoolClass.grade, SchoolClass.name)).all()
    groups: dict[tuple[str, str], list] = {}
    for cls, school, year in rows:
        groups.setdefault((school, year), []).append(cls)
    return [(school, year, classes) for (school, year), classes in groups.items()]


def _assignment_choices(form: AssignmentsForm):
    """Fill the choices of the role, schools and classes; the class groups for the page."""
    form.schools.choices = options([(s.code, s.name) for s in _schools()])
    selected = {str(v) for v in (form.classes.data or [])}
    groups = _class_groups(selected)
    form.classes.choices = options([(str(c.id), c.name) for _s, _y, classes in groups for c in classes])
    return groups


def _chosen(form: AssignmentsForm) -> tuple[list, list]:
    """The schools and classes sent that the chosen role has: the page shows only those (a liaison officer's
    schools, a teacher's classes), so what a changed role no longer has is taken away with the change."""
    role = form.role.data
    return (list(form.schools.data or ()) if role == Role.liaison.value else [],
            list(form.classes.data or ()) if role == Role.teacher.value else [])


def _apply_error(form, exc: operations.UserError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users")
def users():
    form = UserFilterForm(request.args)
    form.school.choices = options([("", _("Any"))] + [(s.code, s.name) for s in _schools()])
    if not form.validate():
        return render_template("admin/users.html", form=form, users=[], total=0, page=1, pages=1,
                               page_url=_page_url), 400
    q = sa.select(User)
    text = form.q.data or ""
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(sa.or_(sa.func.lower(User.name).like(pattern, escape="\\"),
                           User.email.like(pattern, escape="\\")))
    if form.role.data:
        q = q.where(User.role == Role(form.role.data))
    if form.school.data:
        school = sa.select(School.id).where(School.code == form.school.data).scalar_subquery()
        liaisons = sa.select(user_schools.c.user_id).where(user_schools.c.school_id == school)
        teachers = (sa.select(class_teachers.c.user_id).join(SchoolClass, SchoolClass.id == class_teachers.c.class_id)
                    .where(SchoolClass.school_id == school))
        q = q.where(sa.or_(User.id.in_(liaisons), User.id.in_(teachers)))
    if form.status.data:
        q = q.where(User.active.is_(form.status.data == "active"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    page, pages = _pages(total)
    rows = db.session.scalars(
        q.options(selectinload(User.schools), selectinload(User.classes).selectinload(SchoolClass.school))
        .order_by(User.name, User.email).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/users.html", form=form, users=rows, total=total, page=page, pages=pages,
                           page_url=_page_url)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    groups = _assignment_choices(form)
    if request.method == "GET" or not form.validate():
        _new_once(form)
        return render_template("admin/user_new.html", form=form, groups=groups), 200 if request.method == "GET" else 400
    if not _use_once(form.once.data):
        flash(_("This form was sent already, so nothing was done now. Find the user in the list."), "warning")
        return redirect(url_for("admin.users"))
    school_codes, class_ids = _chosen(form)
    try:
        user = operations.create_user(form.email.data, form.role.data, form.password.data or None,
                                      name=form.name.data, school_codes=school_codes, class_ids=class_ids,
                                      must_change_password=True)
    except operations.UserError as exc:
        _apply_error(form, exc)
        _new_once(form)
        return render_template("admin/user_new.html", form=form, groups=groups), 400
    return render_template("admin/password_given.html", user=user, password=user.one_time_password, created=True)


def _stored(user: User) -> AssignmentsForm:
    """The assignments form showing what is stored (not what was sent)."""
    return AssignmentsForm(formdata=None, data={"name": user.name, "role": user.role.value,
                                                "schools": [s.code for s in user.schools],
                                                "classes": [str(c.id) for c in user.classes]})


def _user_page(user: User, form: AssignmentsForm, groups, status: int = 200):
    reset = ResetPasswordForm(formdata=None)
    _new_once(reset)
    return render_template("admin/user.html", user=user, form=form, groups=groups, reset=reset,
                           last_admin=_last_admin(user)), status


def _last_admin(user: User) -> bool:
    """Whether the page should say that this user is the last active administrator (reads only)."""
    if user.role != Role.admin or not user.active:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)
                             .where(User.role == Role.admin, User.active.is_(True))) == 1


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id):
    user = _get_user_or_404(user_id)
    if request.method == "GET":
        form = _stored(user)
        return _user_page(user, form, _assignment_choices(form))
    form = AssignmentsForm()
    groups = _assignment_choices(form)
    if not form.validate():
        return _user_page(user, form, groups, 400)
    school_codes, class_ids = _chosen(form)
    try:
        changed = operations.update_user(user, by=_me(), role=form.role.data, name=form.name.data,
                                         school_codes=school_codes, class_ids=class_ids)
    except operations.UserError as exc:
        _apply_error(form, exc)
        return _user_page(user, form, groups, 400)
    flash(_("Saved. The change applies from the user's next page.") if changed else _("Nothing was changed."))
    return redirect(url_for("admin.user", user_id=user.id))


def _set_active(user_id: int, active: bool):
    user = _get_user_or_404(user_id)
    try:
        changed = operations.set_active(user, active, by=_me())
    except operations.UserError as exc:
        form = _stored(user)
        form.form_errors.append(exc.message)
        return _user_page(user, form, _assignment_choices(form), 400)
    if not changed:
        flash(_("Nothing was changed."), "warning")
    elif active:
        flash(_("%(email)s is active again and can sign in.", email=user.email))
    else:
        flash(_("%(email)s is deactivated: signed out everywhere, and signing in is refused.", email=user.email))
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id):
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id):
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id):
    user = _get_user_or_404(user_id)
    reset = ResetPasswordForm()
    if reset.validate():
        if not _use_once(reset.once.data):
            flash(_("This form was sent already, so no new password was made now. If the one-time password was "
                    "not passed on, give a new one."), "warning")
            return redirect(url_for("admin.user", user_id=user.id))
        typed = reset.password.data or None
        try:
            password = operations.reset_password(user, by=_me(), password=typed)
        except operations.UserError as exc:
            _apply_error(reset, exc)
        else:
            return render_template("admin/password_given.html", user=user, password=None if typed else password,
                                   created=False)
    form = _stored(user)
    groups = _assignment_choices(form)
    _new_once(reset)
    return render_template("admin/user.html", user=user, form=form, groups=groups, reset=reset,
                           last_admin=_last_admin(user)), 400


# --- audit log ----------------------------------------------------------------------------------------------------

def _utc(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the user's time zone, as the naive UTC time the log stores."""
    local = dt.datetime.combine(day, dt.time.min).replace(tzinfo=get_timezone())
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


@bp.route("/audit")
def audit():
    form = AuditFilterForm(request.args)
    people = db.session.execute(sa.select(User.id, User.email).order_by(User.email)).all()
    form.user.choices = options([("", _("Anyone"))] + [(str(uid), email) for uid, email in people])
    form.object_type.choices = options([("", _("Any"))] + sorted(OBJECT_TYPES.items(), key=lambda kv: str(kv[1])))
    if not form.validate():
        return render_template("admin/audit.html", form=form, events=[], total=0, page=1, pages=1,
                               page_url=_page_url, action_label=action_label, object_type_label=object_type_label), 400
    q = sa.select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.user_id)
    if form.user.data:
        q = q.where(AuditEvent.user_id == int(form.user.data))
    if form.object_type.data:
        q = q.where(AuditEvent.object_type == form.object_type.data)
    if form.object_id.data:
        wanted = form.object_id.data
        if form.object_type.data == "child" or wanted.lower().startswith("c-"):
            wanted = wanted.upper()
        q = q.where(AuditEvent.object_id == wanted)
    if form.date_from.data:
        q = q.where(AuditEvent.at >= _utc(form.date_from.data))
    if form.date_to.data:
        q = q.where(AuditEvent.at < _utc(form.date_to.data + dt.timedelta(days=1)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    page, pages = _pages(total)
    events = db.session.execute(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/audit.html", form=form, events=events, total=total, page=page, pages=pages,
                           page_url=_page_url, action_label=action_label, object_type_label=object_type_label)


def record_link(event: AuditEvent) -> str | None:
    """Where the record of an event is shown, when there is such a page (a child, a user)."""
    if event.object_type == "child" and event.object_id.startswith("C-"):
        return url_for_if("children.detail", code=event.object_id)
    if event.object_type == "user" and event.object_id.isdigit():
        return url_for("admin.user", user_id=int(event.object_id))
    return None


@bp.app_template_global("admin_record_link")
def _record_link(event):
    return record_link(event)
