"""The school calendar screen for admins: academic years and their non-school days."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import options
from tracker.schools import operations
from tracker.schools.forms import NonSchoolDayForm, NonSchoolRangeForm, YearForm
from tracker.schools.models import AcademicYear, NonSchoolDay, NonSchoolRange
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


def _school_choices(form, schools) -> None:
    form.school.choices = options([("", _("Every school"))] + [(s.code, s.name) for s in schools])


def when(first: dt.date, last: dt.date | None = None) -> str:
    """A day, or a range of days, with weekdays, as the user's language writes them."""
    from babel.dates import format_interval, format_skeleton
    from flask_babel import get_locale

    locale = get_locale() or "en"
    if last is None or last == first:
        return format_skeleton("yMMMEd", first, locale=locale)
    return format_interval(first, last, "yMMMEd", locale=locale)


def _entries(year: AcademicYear) -> list[dict]:
    """The year's days off as the list shows them: each single day, and each range as one entry."""
    entries = [{"first": d.date, "last": d.date, "description": d.description, "school": d.school, "day": d}
               for d in year.non_school_days if d.range_id is None]
    entries += [{"first": r.first_day, "last": r.last_day, "description": r.description, "school": r.school,
                 "range": r, "weekdays": len(r.days)} for r in year.non_school_ranges]
    for e in entries:
        e["when"] = when(e["first"], e["last"])
    return sorted(entries, key=lambda e: (e["first"], e["last"]))


def _year_page(year, label, day_form=None, range_form=None, status=200):
    schools = db.session.scalars(operations.active_schools()).all()
    day_form = day_form or NonSchoolDayForm(formdata=None)
    range_form = range_form or NonSchoolRangeForm(formdata=None, prefix="range")
    _school_choices(day_form, schools)
    _school_choices(range_form, schools)
    others = db.session.scalars(sa.select(AcademicYear).where(AcademicYear.id != year.id)
                                .order_by(AcademicYear.first_day.desc())).all()
    return render_template("schools/calendar_year.html", year=year, form=day_form, range_form=range_form,
                           slug=label, entries=_entries(year), others=others), status


@bp.route("/<label>", methods=["GET", "POST"])
def year(label):
    year = _year(label)
    if request.method != "POST":
        return _year_page(year, label)
    schools = db.session.scalars(operations.active_schools()).all()
    form = NonSchoolDayForm()
    _school_choices(form, schools)
    if form.validate():
        school = next((s for s in schools if s.code == form.school.data), None)
        try:
            operations.add_non_school_day(year, form.date.data, form.description.data, school=school,
                                          user=current_user._get_current_object())
        except OperationError as exc:
            _fail(form, exc)
            year = _year(label)
        else:
            flash(_("Non-school day added."))
            return redirect(url_for("calendar.year", label=label))
    return _year_page(year, label, day_form=form, status=400)


@bp.route("/<label>/ranges", methods=["POST"])
def add_range(label):
    year = _year(label)
    schools = db.session.scalars(operations.active_schools()).all()
    form = NonSchoolRangeForm(prefix="range")
    _school_choices(form, schools)
    if form.validate():
        school = next((s for s in schools if s.code == form.school.data), None)
        try:
            rng, kept = operations.add_non_school_range(year, form.first_day.data, form.last_day.data,
                                                        form.description.data, school=school,
                                                        user=current_user._get_current_object())
        except OperationError as exc:
            _fail(form, exc)
            year = _year(label)
        else:
            flash(ngettext("%(desc)s added: %(num)d school day off.", "%(desc)s added: %(num)d school days off.",
                           len(rng.days), desc=rng.description))
            if kept:
                flash(ngettext("%(num)d day in it was a non-school day already and keeps its own entry.",
                               "%(num)d days in it were non-school days already and keep their own entries.",
                               len(kept)))
            return redirect(url_for("calendar.year", label=label))
    return _year_page(year, label, range_form=form, status=400)


@bp.route("/<label>/ranges/remove", methods=["POST"])
def delete_range(label):
    year = _year(label)
    range_id = request.form.get("range_id", "")
    rng = db.session.get(NonSchoolRange, int(range_id)) if range_id.isdigit() else None
    if rng is None or rng.year_id != year.id:
        abort(404)
    operations.remove_non_school_range(rng, user=current_user._get_current_object())
    flash(_("%(desc)s removed, with all its days.", desc=rng.description))
    return redirect(url_for("calendar.year", label=label))


@bp.route("/<label>/days/<int:day_id>/delete", methods=["POST"])
def delete_day(label, day_id):
    year = _year(label)
    nsd = db.session.get(NonSchoolDay, day_id)
    if nsd is None or nsd.year_id != year.id or nsd.range_id is not None:  # a range's days go with the range
        abort(404)
    operations.remove_non_school_day(nsd, user=current_user._get_current_object())
    flash(_("Non-school day removed."))
    return redirect(url_for("calendar.year", label=label))


@bp.route("/<label>/holidays", methods=["GET", "POST"])
def copy_holidays(label):
    """Copy another year's public holidays into this one: choose the year, check the preview, save."""
    year = _year(label)
    others = db.session.scalars(sa.select(AcademicYear).where(AcademicYear.id != year.id)
                                .order_by(AcademicYear.first_day.desc())).all()
    wanted = (request.values.get("source") or (others[0].label if others else "")).replace("-", "/")
    source = next((y for y in others if y.label == wanted), None)
    if request.values.get("source") and source is None:
        abort(404)
    plan, error, status = None, None, 200
    if source is not None:
        plan = operations.holiday_plan(source, year)
    if request.method == "POST":
        status = 400
        if source is None:
            abort(404)
        dates = []
        for value in request.form.getlist("day"):
            try:
                dates.append(dt.date.fromisoformat(value))
            except ValueError:
                error = _("A date was not understood; choose the days again.")
        if error is None:
            try:
                added = operations.copy_holidays(source, year, dates, user=current_user._get_current_object())
            except OperationError as exc:
                db.session.rollback()
                error = exc.message
                year, source = _year(label), db.session.get(AcademicYear, source.id)
                plan = operations.holiday_plan(source, year)
            else:
                flash(ngettext("%(num)d public holiday added.", "%(num)d public holidays added.", len(added)))
                return redirect(url_for("calendar.year", label=label))
        chosen = set(request.form.getlist("day"))
        for p in plan:
            p["checked"] = p["date"].isoformat() in chosen and p["exists"] is None
    for p in plan or ():
        p["when"] = when(p["date"])
    return render_template("schools/calendar_holidays.html", year=year, slug=label, others=others, source=source,
                           plan=plan, error=error), status
