"""The reports page and its downloads (CSV, XLSX, PDF)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField
from wtforms.validators import Optional

from tracker import audit, scope
from tracker.extensions import db
from tracker.labels import options
from tracker.reports import data, exports
from tracker.schools.models import AcademicYear, School
from tracker.types import Role

bp = Blueprint("reports", __name__, url_prefix="/reports")
FORMATS = ("csv", "xlsx", "pdf")


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    frm = DateField(_l("From"), validators=[Optional()])
    to = DateField(_l("To"), validators=[Optional()])
    as_of = DateField(_l("As of"), validators=[Optional()],
                      description=_l("Who is enrolled, out of school and retained is counted on this day. "
                                     "Default: the end of the period."))
    schools = SelectMultipleField(_l("Schools"), choices=[], validate_choice=False,
                                  description=_l("Leave empty for every school you can see."))
    municipality = SelectField(_l("Municipality"), choices=[], validate_choice=False)
    sharing = BooleanField(_l("Prepare for sharing (hide small numbers)"))


def _visible_schools(user) -> list[School]:
    """The schools a report can be narrowed to: the user's, and every school for partners (aggregates only)."""
    q = sa.select(School).order_by(School.name) if user.role == Role.partner else scope.schools(user)
    return list(db.session.scalars(q))


def _default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    year = db.session.scalar(sa.select(AcademicYear).where(AcademicYear.first_day <= today)
                             .order_by(AcademicYear.first_day.desc()).limit(1))
    if year is None:
        return today.replace(month=1, day=1), today
    return year.first_day, min(today, year.last_day)


def _form():
    user = current_user
    if not data.may_report(user):
        abort(403)
    form = ReportForm(request.args)
    schools = _visible_schools(user)
    form.schools.choices = options([(s.code, f"{s.name} ({s.municipality})") for s in schools])
    municipalities = sorted({s.municipality for s in schools})
    form.municipality.choices = options([("", _("All")), *[(m, m) for m in municipalities]])
    return form


def _request_params(form: ReportForm) -> dict:
    """The report's parameters from a validated form, with defaults; raises ReportError."""
    today = dt.date.today()
    frm, to = form.frm.data, form.to.data
    if frm is None or to is None:
        dfrm, dto = _default_period(today)
        frm, to = frm or dfrm, to or dto
    return {"frm": frm, "to": to, "as_of": form.as_of.data, "school_codes": form.schools.data or [],
            "municipality": form.municipality.data or None,
            "sharing": bool(form.sharing.data) or current_user.role == Role.partner}


@bp.app_template_filter("pct")
def pct_filter(value):
    from flask_babel import format_percent

    return format_percent(value, "#,##0.0%") if value is not None else "–"


@bp.app_template_filter("count")
def count_filter(value):
    from flask_babel import format_decimal

    return format_decimal(value, "#,##0.##") if value is not None else "–"


@bp.app_template_filter("decimal2")
def decimal2_filter(value):
    from flask_babel import format_decimal

    return format_decimal(value, "0.00") if value is not None else "–"


@bp.route("/")
@login_required
def index():
    form = _form()
    report, error, status = None, None, 200
    if request.args and not form.validate():
        error, status = _("Please correct the fields marked below."), 400
    else:
        try:
            params = _request_params(form)
            if form.frm.data is None:
                form.frm.data, form.to.data = params["frm"], params["to"]
            report = data.build_report(current_user, **params)
        except data.ReportError as exc:
            error, status = str(exc), 400
    downloads = {fmt: exports.download_url(fmt, request.args) for fmt in FORMATS}
    return render_template("reports/index.html", form=form, report=report, error=error, downloads=downloads,
                           partner=current_user.role == Role.partner), status


@bp.route("/report.<fmt>")
@login_required
def download(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    form = _form()
    if request.args and not form.validate():
        abort(400, description=_("Please correct the report's dates."))
    try:
        report = data.build_report(current_user, **_request_params(form))
    except data.ReportError as exc:
        abort(400, description=str(exc))
    body, mimetype, filename = exports.render(fmt, report)
    audit.record("report_exported", user=current_user, object_type="report", object_id=fmt)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
