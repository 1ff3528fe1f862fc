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
from wtforms.validators import Optional, ValidationError

from tracker import audit, dates, scope
from tracker.extensions import db
from tracker.labels import options
from tracker.reports import data, exports
from tracker.schools.models import AcademicYear, School
from tracker.types import Role

bp = Blueprint("reports", __name__, url_prefix="/reports")
FORMATS = ("csv", "xlsx", "pdf")
MAX_SCHOOLS = 100


def in_date_range(form, field):
    """A WTForms validator: the date is in the range tracker.dates accepts."""
    if field.data is not None:
        try:
            dates.check_day(field.data, str(field.label.text))
        except dates.DateInputError as exc:
            raise ValidationError(exc.message) from None


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    period = SelectField(_l("Period"), choices=[], validate_choice=False,
                         description=_l("A whole school year, term or month, counted up to the end of last month."))
    frm = DateField(_l("From"), validators=[Optional(), in_date_range])
    to = DateField(_l("To"), validators=[Optional(), in_date_range])
    as_of = DateField(_l("As of"), validators=[Optional(), in_date_range],
                      description=_l("Who is enrolled, out of school and retained is counted on this day. "
                                     "Default: the end of the period."))
    schools = SelectMultipleField(_l("Schools"), choices=[], validate_choice=False,
                                  description=_l("Leave empty for every school you can see."))
    school = SelectField(_l("School"), choices=[], validate_choice=False,
                         description=_l("Only schools with enough children to be shown alone; the others are in "
                                        "their municipality's figures."))
    municipality = SelectField(_l("Municipality"), choices=[], validate_choice=False)
    sharing = BooleanField(_l("Prepare for sharing (as partners see it: a whole period, perturbed counts)"))

    def validate_schools(self, field):
        if len(field.data or []) > MAX_SCHOOLS:
            raise ValidationError(_("At most %(n)d schools at a time.", n=MAX_SCHOOLS))

    def check_period(self, frm: dt.date, to: dt.date, as_of: dt.date | None) -> bool:
        """The period's rules from tracker.dates (the default period included), as an error on the field
        they concern; False when there is one."""
        by_label = {str(f.label.text): f for f in (self.frm, self.to, self.as_of)}
        try:
            dates.check_period(frm, to, as_of, names=tuple(by_label))
        except dates.DateInputError as exc:
            field = by_label[exc.param]
            field.errors = [*field.errors, exc.message]
            return False
        return True


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
    from tracker.reports import periods

    user = current_user
    if not data.may_report(user):
        abort(403)
    form = ReportForm(request.args)
    for field in (form.frm, form.to, form.as_of):  # date pickers offer only the days tracker accepts
        field.render_kw = {"min": dates.EARLIEST.isoformat(), "max": dates.latest().isoformat()}
    schools = _visible_schools(user)
    form.schools.choices = options([(s.code, f"{s.name} ({s.municipality})") for s in schools])
    alone = schools
    if user.role == Role.partner:  # only the schools large enough to be shown alone in the chosen period
        chosen = next((p for p in periods.available(dt.date.today()) if p.token == request.args.get("period")),
                      None) or periods.default(dt.date.today(), retention=True)
        ids = data.schools_shown_alone(*periods.bounds(chosen, dt.date.today())) if chosen else set()
        alone = [s for s in schools if s.id in ids]
    form.school.choices = options([("", _("All")), *[(s.code, f"{s.name} ({s.municipality})") for s in alone]])
    municipalities = sorted({s.municipality for s in schools})
    form.municipality.choices = options([("", _("All")), *[(m, m) for m in municipalities]])
    offered = [(p.token, p.label) for p in periods.available(dt.date.today())]
    if user.role == Role.partner:
        form.period.choices = options(offered)
    else:
        form.period.choices = options([("", _("Dates below")), *offered])
    return form


def _protected(form: ReportForm) -> bool:
    return current_user.role == Role.partner or bool(form.sharing.data)


def _request_params(form: ReportForm) -> dict:
    """The report's parameters from a validated form, with defaults.

    Partners, and staff preparing for sharing, choose a fixed period and one place (the school list and the
    dates are not theirs: tracker.reports.periods); staff otherwise choose dates, or a period, and schools.
    """
    from tracker.reports import periods

    shared = {"municipality": form.municipality.data or None, "sharing": _protected(form)}
    if _protected(form):
        school = form.school.data or (form.schools.data[0] if len(form.schools.data or []) == 1 else "")
        dates_given = {"frm": form.frm.data, "to": form.to.data, "as_of": form.as_of.data}
        if not form.period.data and not any(dates_given.values()):
            # Opened without a choice: a school year with retention to show (tracker.reports.periods.default).
            first = periods.default(dt.date.today(), retention=True)
            form.period.data = first.token if first else None
        return {"period": form.period.data or None, "school_codes": [school] if school else
                list(form.schools.data or []), **{k: v for k, v in dates_given.items() if v is not None}, **shared}
    if form.period.data:
        return {"period": form.period.data, "as_of": form.as_of.data,
                "school_codes": form.schools.data or ([form.school.data] if form.school.data else []), **shared}
    today = dt.date.today()
    frm, to = form.frm.data, form.to.data
    if frm is None or to is None:
        dfrm, dto = _default_period(today)
        frm, to = frm or dfrm, to or dto
    return {"frm": frm, "to": to, "as_of": form.as_of.data,
            "school_codes": form.schools.data or ([form.school.data] if form.school.data else []), **shared}


def _checked_params(form: ReportForm) -> dict | None:
    """The report's parameters when the form and its period are valid; else None, with the errors on the fields."""
    if request.args and not form.validate():
        return None
    params = _request_params(form)
    if not params["sharing"] and "frm" in params and not form.check_period(params["frm"], params["to"],
                                                                           params.get("as_of")):
        return None
    return params


def _field_errors(form: ReportForm) -> str:
    """Every field error as one line, each naming its field."""
    parts = []
    for field in form:
        label = str(field.label.text)
        parts += [str(e) if label in str(e) else f"{label}: {e}" for e in field.errors]
    return " ".join(parts)


@bp.app_template_filter("pct")
def pct_filter(value, whole: bool = False):
    """A rate as a percentage: one decimal, or whole percent (the precision partners' rates are published at)."""
    from flask_babel import format_percent

    return format_percent(value, "#,##0%" if whole else "#,##0.0%") if value is not None else "–"


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
    params = _checked_params(form)
    if params is None:
        error, status = _("Please correct the fields marked below."), 400
    else:
        try:
            report = data.build_report(current_user, **params)
            if report.period is not None:
                form.period.data = report.period.token
            elif form.frm.data is None:
                form.frm.data, form.to.data = report.frm, report.to
        except data.ReportError as exc:
            error, status = str(exc), 400
    downloads = {fmt: exports.download_url(fmt, request.args) for fmt in FORMATS}
    return render_template("reports/index.html", form=form, report=report, error=error, downloads=downloads,
                           partner=current_user.role == Role.partner, protected=_protected(form),
                           small_note=data.small_numbers_note(data.min_cell())), status


@bp.route("/report.<fmt>")
@login_required
def download(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    form = _form()
    params = _checked_params(form)
    if params is None:
        abort(400, description=" ".join((_("Please correct the report's dates."), _field_errors(form))))
    try:
        report = data.build_report(current_user, **params)
    except data.ReportError as exc:
        abort(400, description=str(exc))
    body, mimetype, filename = exports.render(fmt, report)
    audit.record("report_exported", user=current_user, object_type="report", object_id=fmt)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
