"""The school calendar screen for admins: academic years and their non-school days."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import options
from tracker.schools import operations
from tracker.schools.forms import NonSchoolDayForm, YearForm
from tracker.schools.models import AcademicYear, NonSchoolDay, School
from tracker.types import Role

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@bp.before_request
@login_required
def admins_only():
    if current_user.role != Role.admin:
        abort(404)


def _fail(form, exc: OperationError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field or "", None)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.route("/", methods=["GET", "POST"])
def index():
    form = YearForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                year = operations.add_year(form.label.data, form.first_day.data, form.last_day.data,
                                           user=current_user._get_current_object())
            except OperationError as exc:
                _fail(form, exc)
            else:
                flash(_("Academic year %(y)s added.", y=year.label))
                return redirect(url_for("calendar.year", label=year.label.replace("/", "-")))
    years = db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day.desc())).all()
    return render_template("schools/calendar.html", years=years, form=form), status


def _year(label: str) -> AcademicYear:
    year = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.label == label.replace("-", "/")))
    if year is None:
        abort(404)
    return year


@bp.route("/<label>", methods=["GET", "POST"])
def year(label):
    year = _year(label)
    schools = db.session.scalars(sa.select(School).order_by(School.name)).all()
    form = NonSchoolDayForm()
    form.school.choices = options([("", _("Every school"))] + [(s.code, s.name) for s in schools])
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            school = next((s for s in schools if s.code == form.school.data), None)
            try:
                operations.add_non_school_day(year, form.date.data, form.description.data, school=school,
                                              user=current_user._get_current_object())
            except OperationError as exc:
                _fail(form, exc)
            else:
                flash(_("Non-school day added."))
                return redirect(url_for("calendar.year", label=label))
    return render_template("schools/calendar_year.html", year=year, form=form, slug=label), status


@bp.route("/<label>/days/<int:day_id>/delete", methods=["POST"])
def delete_day(label, day_id):
    year = _year(label)
    nsd = db.session.get(NonSchoolDay, day_id)
    if nsd is None or nsd.year_id != year.id:
        abort(404)
    operations.remove_non_school_day(nsd, user=current_user._get_current_object())
    flash(_("Non-school day removed."))
    return redirect(url_for("calendar.year", label=label))
