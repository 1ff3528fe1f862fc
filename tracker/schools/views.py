import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from tracker import scope
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import choices, options
from tracker.schools import operations
from tracker.schools.forms import ClassForm, CopyClassesForm, SchoolForm
from tracker.schools.models import AcademicYear, School, SchoolClass
from tracker.types import Level, Role

bp = Blueprint("schools", __name__, url_prefix="/schools")


@bp.before_request
@login_required
def records_only():
    if current_user.role == Role.partner:
        abort(404)


def _admin():
    """Writes about schools and classes are the administrators'; others may read (403 here)."""
    if current_user.role != Role.admin:
        abort(403)
    return current_user._get_current_object()


def _fail(form, exc: OperationError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field or "", None)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.route("/")
def index():
    q = "".join(ch for ch in request.args.get("q") or "" if ord(ch) >= 32 and ord(ch) != 127).strip()[:100]
    archived = request.args.get("archived") == "1"
    query = scope.schools(current_user)
    query = query.where(School.archived_at.is_not(None)) if archived else operations.active_schools(query)
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(School.name.ilike(like), School.code.ilike(like), School.municipality.ilike(like)))
    schools = db.session.scalars(query).all()
    return render_template("schools/index.html", schools=schools, q=q, archived=archived)


def _school_form_page(form, school, status):
    return render_template("schools/school_form.html", form=form, school=school), status


@bp.route("/new", methods=["GET", "POST"])
def new_school():
    user = _admin()
    form = SchoolForm()
    if request.method == "POST":
        if form.validate():
            try:
                school = operations.create_school(code=form.code.data, name=form.name.data,
                                                  municipality=form.municipality.data,
                                                  offers_primary=form.offers_primary.data,
                                                  offers_secondary=form.offers_secondary.data, user=user)
            except OperationError as exc:
                _fail(form, exc)
            else:
                flash(_("School %(name)s added.", name=school.name))
                return redirect(url_for("schools.detail", code=school.code))
        return _school_form_page(form, None, 400)
    return _school_form_page(form, None, 200)


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit_school(code):
    user = _admin()
    school = scope.get_school_or_404(user, code)
    form = SchoolForm(obj=school)
    if request.method == "POST":
        if form.validate():
            try:
                operations.update_school(school, code=form.code.data, name=form.name.data,
                                         municipality=form.municipality.data, offers_primary=form.offers_primary.data,
                                         offers_secondary=form.offers_secondary.data, user=user)
            except OperationError as exc:
                _fail(form, exc)
                school = scope.get_school_or_404(user, code)
            else:
                flash(_("School %(name)s saved.", name=school.name))
                return redirect(url_for("schools.detail", code=school.code))
        return _school_form_page(form, school, 400)
    return _school_form_page(form, school, 200)


@bp.route("/<code>/archive", methods=["POST"])
def archive_school(code):
    user = _admin()
    school = scope.get_school_or_404(user, code)
    if request.form.get("restore") == "1":
        operations.restore_school(school, user=user)
        flash(_("%(name)s is back in the choice lists.", name=school.name))
    else:
        operations.archive_school(school, user=user)
        flash(_("%(name)s is archived: it is hidden from choice lists and new enrolments; its records stay.",
                name=school.name))
    return redirect(url_for("schools.detail", code=school.code))


@bp.route("/<code>")
def detail(code):
    school = scope.get_school_or_404(current_user, code)
    classes = db.session.scalars(
        scope.classes(current_user).where(SchoolClass.school_id == school.id)
        .join(AcademicYear).order_by(AcademicYear.first_day.desc(), SchoolClass.level, SchoolClass.grade, SchoolClass.name)
    ).all()
    years = sorted({c.year.label for c in classes}, reverse=True)
    year = request.args.get("year") if request.args.get("year") in years else ""
    shown = [c for c in classes if not year or c.year.label == year]
    return render_template("schools/detail.html", school=school, classes=shown, years=years, year=year,
                           active=[c for c in shown if not c.archived], archived=[c for c in shown if c.archived])


def _years():
    return db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day.desc())).all()


def _teacher_users():
    from tracker.auth.models import User

    return db.session.scalars(sa.select(User).where(User.role == Role.teacher, User.active.is_(True))
                              .order_by(User.name, User.email)).all()


def _class_form(school, cls=None):
    form = ClassForm(obj=None if request.method == "POST" or cls is None else cls)
    years, teachers = _years(), _teacher_users()
    form.year.choices = options([(y.label, y.label) for y in years])
    form.level.choices = [c for c in choices(Level) if school.offers(c.value)]
    form.teachers.choices = options([(str(t.id), f"{t.name} ({t.email})") for t in teachers])
    if request.method != "POST":
        if cls is not None:
            form.year.data, form.level.data = cls.year.label, cls.level.value
            form.teachers.data = [str(t.id) for t in cls.teachers]
        else:
            today = dt.date.today()
            current = next((y for y in years if y.first_day <= today <= y.last_day), years[0] if years else None)
            form.year.data = current.label if current else None
    return form, years, teachers


def _class_values(form, years, teachers):
    year = next(y for y in years if y.label == form.year.data)
    chosen = set(form.teachers.data or [])
    return {"year": year, "level": form.level.data, "grade": form.grade.data, "name": form.name.data,
            "teachers": [t for t in teachers if str(t.id) in chosen]}


@bp.route("/<code>/classes/new", methods=["GET", "POST"])
def new_class(code):
    user = _admin()
    school = scope.get_school_or_404(user, code)
    form, years, teachers = _class_form(school)
    if not years:
        flash(_("Add an academic year in the calendar first."))
        return redirect(url_for("calendar.index"))
    if request.method == "POST":
        if form.validate():
            values = _class_values(form, years, teachers)
            try:
                cls = operations.create_class(school, values.pop("year"), user=user, **values)
            except OperationError as exc:
                _fail(form, exc)
            else:
                flash(_("Class %(name)s added.", name=cls.name))
                return redirect(url_for("schools.detail", code=school.code))
        return render_template("schools/class_form.html", form=form, school=school, cls=None), 400
    return render_template("schools/class_form.html", form=form, school=school, cls=None)


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
def edit_class(class_id):
    user = _admin()
    cls = scope.get_class_or_404(user, class_id)
    school = cls.school
    form, years, teachers = _class_form(school, cls)
    if request.method == "POST":
        if form.validate():
            values = _class_values(form, years, teachers)
            try:
                operations.update_class(cls, user=user, **values)
            except OperationError as exc:
                _fail(form, exc)
                cls = scope.get_class_or_404(user, class_id)
            else:
                flash(_("Class %(name)s saved.", name=cls.name))
                return redirect(url_for("schools.class_detail", class_id=cls.id))
        return render_template("schools/class_form.html", form=form, school=cls.school, cls=cls), 400
    return render_template("schools/class_form.html", form=form, school=school, cls=cls)


@bp.route("/classes/<int:class_id>/archive", methods=["POST"])
def archive_class(class_id):
    user = _admin()
    cls = scope.get_class_or_404(user, class_id)
    if request.form.get("restore") == "1":
        operations.restore_class(cls, user=user)
        flash(_("Class %(name)s is back in the choice lists.", name=cls.name))
    else:
        operations.archive_class(cls, user=user)
        flash(_("Class %(name)s is archived: it is hidden from choice lists; its records stay.", name=cls.name))
    return redirect(url_for("schools.class_detail", class_id=cls.id))


@bp.route("/classes/<int:class_id>")
def class_detail(class_id):
    cls = scope.get_class_or_404(current_user, class_id)
    today = dt.date.today()
    enrolments = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.class_id == cls.id).order_by(Enrolment.start_date)
    ).all()
    current = [e for e in enrolments if e.covers(today)]
    past = [e for e in enrolments if not e.covers(today)]
    return render_template("schools/class.html", cls=cls, current=current, past=past)


@bp.route("/copy-classes", methods=["GET", "POST"])
def copy_classes():
    """The new school year's classes from last year's, in one step: choose, preview, create."""
    user = _admin()
    years = _years()
    schools = db.session.scalars(operations.active_schools()).all()
    if request.method == "POST":
        form = CopyClassesForm()
    else:  # a preview: its fields come in the query string, and it writes nothing (no CSRF token)
        form = CopyClassesForm(request.args, meta={"csrf": False})
    form.school.choices = options([("", _("Every school"))] + [(s.code, s.name) for s in schools])
    form.source.choices = form.target.choices = options([(y.label, y.label) for y in years])
    if request.method == "GET" and not request.args and len(years) >= 2:
        form.target.data, form.source.data = years[0].label, years[1].label
    plan, status = None, 200
    submitted = request.method == "POST" or "source" in request.args
    if submitted:
        status = 400
        if form.validate():
            source = next(y for y in years if y.label == form.source.data)
            target = next(y for y in years if y.label == form.target.data)
            school = next((s for s in schools if s.code == form.school.data), None)
            try:
                if request.method == "POST":
                    plan = operations.copy_classes(source, target, school=school, move_up=form.move_up.data, user=user)
                else:
                    plan = operations.class_copy_plan(source, target, school=school, move_up=form.move_up.data)
            except OperationError as exc:
                _fail(form, exc)
            else:
                if request.method == "POST":
                    made = sum(1 for r in plan if r["status"] == "new")
                    flash(ngettext("%(num)d class created in %(y)s; %(s)d skipped.",
                                   "%(num)d classes created in %(y)s; %(s)d skipped.", made, y=target.label,
                                   s=len(plan) - made))
                    return redirect(url_for("schools.copy_classes", source=source.label, target=target.label,
                                            school=form.school.data or "", move_up="y" if form.move_up.data else ""))
                status = 200
    return render_template("schools/copy_classes.html", form=form, plan=plan, years=years), status

