"""Registers: today's classes, one class's register on a date, the month grid, missing registers."""
from __future__ import annotations

import calendar as cal
import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from tracker import dates, scope
from tracker.attendance import queries
from tracker.attendance.operations import REASONS, enrolled_in_class, register_counts, save_register
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import label
from tracker.schools.calendar import school_days, why_not_school_day
from tracker.types import AttendanceStatus, Role

bp = Blueprint("attendance", __name__, url_prefix="/registers")


@bp.before_request
@login_required
def records_only():
    if current_user.role == Role.partner:
        abort(404)


def _parse_day(value: str) -> dt.date:
    """The register's day from the URL; a day that is not a date, or outside tracker.dates' range, has no page."""
    from tracker.dates import in_range

    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        abort(404)
    if not in_range(day):
        abort(404)
    return day


@bp.route("/")
def today():
    """Today's registers: the user's classes, those not yet taken first."""
    from tracker.attendance import listing

    user = current_user._get_current_object()
    day = dt.date.today()
    form = listing.today_form(user, request.args)
    page = listing.todays_registers(user, day, form, request.args)
    return render_template("attendance/today.html", page=page, form=form, day=day)


@bp.route("/missing")
def missing():
    """The registers not yet taken in the last school days, by class, the class most behind first."""
    from tracker.attendance import listing

    user = current_user._get_current_object()
    day = dt.date.today()
    form = listing.missing_form(user, request.args, day)
    page = listing.missing_registers(user, day, form, request.args)
    return render_template("attendance/missing.html", page=page, form=form, days=listing.window(form))


@bp.route("/<int:class_id>/<day>", methods=["GET", "POST"])
def register(class_id, day):
    user = current_user._get_current_object()
    cls = scope.get_class_or_404(user, class_id)
    day = _parse_day(day)
    not_school = why_not_school_day(cls.school, day)
    errors = []
    status = 200
    if request.method == "POST":
        marks, errors = _parse_marks(request.form)
        if not_school is not None:
            errors.append(_("%(d)s is not a school day (%(why)s).", d=day.isoformat(), why=not_school))
        if not errors:
            try:
                records = save_register(cls, day, marks, user=user)
            except OperationError as exc:
                db.session.rollback()
                errors.append(exc.message)
            else:
                flash(_saved_message(register_counts(records, len(enrolled_in_class(cls, day)))))
                return redirect(url_for("attendance.register", class_id=cls.id, day=day.isoformat()))
        status = 400
    rows = queries.register_rows(cls, day) if not_school is None else []
    corrected = [r.id for _e, r, n in rows if r is not None and n]
    # The page shows each child's latest correction; the whole history of one child only when asked for.
    latest = queries.latest_changes(corrected)
    shown = request.args.get("history", type=int)
    full = queries.history([shown]) if shown in corrected else {}
    last = max((r for _e, r, _n in rows if r is not None), key=lambda r: r.recorded_at, default=None)
    not_recorded = sum(1 for _e, r, _n in rows if r is None) if last is not None else 0
    days = school_days(cls.school, day - dt.timedelta(days=20), day + dt.timedelta(days=20))
    previous = max((d for d in days if d < day), default=None)
    following = min((d for d in days if d > day and d <= dt.date.today()), default=None)
    return render_template(
        "attendance/register.html", cls=cls, day=day, rows=rows, latest=latest, full=full, last=last,
        not_recorded=not_recorded, errors=errors,
        not_school=not_school, future=day > dt.date.today(),
        statuses=[(s.value, label(s)) for s in AttendanceStatus], reasons=[(r, label(r)) for r in REASONS],
        previous=previous, following=following, posted=request.form if request.method == "POST" else None,
    ), status


def _saved_message(counts: dict[str, int]) -> str:
    """"Saved: 28 present, 3 absent, 2 late" (and how many are still not recorded)."""
    parts = [ngettext("%(num)d present", "%(num)d present", counts["present"]),
             ngettext("%(num)d absent", "%(num)d absent", counts["absent"]),
             ngettext("%(num)d late", "%(num)d late", counts["late"])]
    if counts["not_recorded"]:
        parts.append(ngettext("%(num)d not recorded", "%(num)d not recorded", counts["not_recorded"]))
    return _("Saved: %(counts)s.", counts=", ".join(parts))


def _parse_marks(form) -> tuple[dict[int, dict[str, str]], list[str]]:
    marks: dict[int, dict[str, str]] = {}
    errors = []
    for key, value in form.items():
        field, _sep, eid = key.partition("-")
        if field not in ("status", "reason", "note") or not eid.isdigit():
            continue
        mark = marks.setdefault(int(eid), {})
        if field == "status" and value not in {s.value for s in AttendanceStatus}:
            errors.append(_("Choose present, late, absent (excused) or absent (unexcused)."))
        elif field == "reason" and value and value not in REASONS:
            errors.append(_("Choose a reason from the list."))
        elif field == "note" and len(value) > 500:
            errors.append(_("A note can be at most 500 characters."))
        mark[field] = value.strip()
    return marks, errors


@bp.route("/<int:class_id>/month/<month>")
def month(class_id, month):
    user = current_user._get_current_object()
    cls = scope.get_class_or_404(user, class_id)
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        abort(404)
    if not dates.in_range(first):
        abort(404)  # the month before 0001-01 or after 9999-12 cannot be linked to; nor can any far from today
    last = first.replace(day=cal.monthrange(first.year, first.month)[1])
    days = school_days(cls.school, first, last)
    enrolments, marks = queries.month_grid(cls, first, last)
    prev_month = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    next_month = (last + dt.timedelta(days=1)).strftime("%Y-%m")
    return render_template("attendance/month.html", cls=cls, first=first, days=days, enrolments=enrolments,
                           marks=marks, prev_month=prev_month, next_month=next_month, today=dt.date.today())


@bp.route("/child/<code>")
def child(code):
    user = current_user._get_current_object()
    child = scope.get_child_or_404(user, code)
    rows = queries.child_rates(child.id)
    recorded = sum(r.recorded for r in rows)
    attended = sum(r.attended or 0 for r in rows)
    return render_template("attendance/child.html", child=child, rows=rows, recorded=recorded, attended=attended)
