"""The follow-up page: open flags in the user's scope, UASC and girls first, and what was done."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from tracker import listing, scope
from tracker.children.models import CentreStay, Child
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.flags import operations
from tracker.flags.models import Flag
from tracker.flags.rules import load_rules
from tracker.indicators import sql
from tracker.labels import label, options
from tracker.types import Role

bp = Blueprint("flags", __name__, url_prefix="/follow-up")
PAGE = 50  # flags per "show more"


class FollowUpForm(FlaskForm):
    version = HiddenField()
    kind = SelectField(_l("What was done"), validators=[DataRequired()])
    date = DateField(_l("Date"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ResolveForm(FlaskForm):
    version = HiddenField()
    outcome = SelectField(_l("Outcome"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class FilterForm(listing.FilterForm):
    """The follow-up list's filters (a GET form that changes nothing)."""

    school = SelectField(_l("School"), choices=[], validate_choice=False)
    centre = SelectField(_l("Centre"), choices=[], validate_choice=False)
    rule = SelectField(_l("Reason"), choices=[], validate_choice=False)
    severity = SelectField(_l("Severity"), choices=[], validate_choice=False)
    uasc = BooleanField(_l("Unaccompanied or separated only"))
    girls = BooleanField(_l("Girls only"))


@bp.before_request
@login_required
def records_only():
    if current_user.role == Role.partner:
        abort(404)


def open_flags(user) -> sa.Select:
    today = dt.date.today()
    uasc_first = sa.case((sql.uasc_on(today) == "accompanied", 1), else_=0)
    girls_first = sa.case((Child.sex == "female", 0), else_=1)
    return (sa.select(Flag).join(Child, Child.id == Flag.child_id)
            .where(Flag.child_id.in_(scope.child_ids(user)), Flag.cleared_on.is_(None), Flag.status != "resolved")
            .order_by(uasc_first, girls_first, Flag.severity.desc(), Flag.raised_on, Flag.id))


def describe(rules, flag: Flag) -> str:
    rule = rules.get(flag.rule)
    return rule.describe(flag.evidence) if rule else flag.rule


def _filter_form(user, rules) -> FilterForm:
    from tracker.schools.models import Centre

    form = FilterForm(request.args)
    form.school.choices = listing.school_choices(db.session.scalars(scope.schools(user)))
    form.centre.choices = listing.centre_choices(db.session.scalars(sa.select(Centre).order_by(Centre.code)))
    form.rule.choices = options([("", _("All reasons")), *sorted(((name, str(rule.label)) for name, rule in rules.items()),
                                                         key=lambda kv: kv[1])])
    form.severity.choices = options([("", _("Any severity")), ("3", _("High")), ("2", _("Medium or high"))])
    return form


def filtered(q: sa.Select, form: FilterForm) -> sa.Select:
    """The open flags narrowed by the filters: a school or centre where the child is now, a reason, a severity."""
    today = dt.date.today()
    if (school_id := listing.an_id(form.school.data)) is not None:
        q = q.where(sa.exists().where(Enrolment.child_id == Child.id, Enrolment.school_id == school_id,
                                      sql.covering(sql.lit(today))))
    if (centre_id := listing.an_id(form.centre.data)) is not None:
        q = q.where(sa.exists().where(CentreStay.child_id == Child.id, CentreStay.centre_id == centre_id,
                                      CentreStay.start_date <= today,
                                      sa.or_(CentreStay.end_date.is_(None), CentreStay.end_date >= today)))
    if form.rule.data:
        q = q.where(Flag.rule == form.rule.data)
    if (severity := listing.an_id(form.severity.data)) is not None:
        q = q.where(Flag.severity >= severity)
    if form.uasc.data:
        q = q.where(sql.uasc_on(today) != "accompanied")
    if form.girls.data:
        q = q.where(Child.sex == "female")
    return q


FILTERS = ("school", "centre", "rule", "severity", "uasc", "girls")


@bp.route("/")
def index():
    user = current_user._get_current_object()
    rules = load_rules()
    form = _filter_form(user, rules)
    page = listing.listing(filtered(open_flags(user), form), everything=open_flags(user), args=request.args,
                           filters=FILTERS, endpoint="flags.index", page_size=PAGE)
    return render_template("flags/index.html", page=page, flags=page.rows, rules=rules, describe=describe, form=form)


def _flag_or_404(flag_id: int) -> Flag:
    flag = db.session.scalar(sa.select(Flag).where(Flag.id == flag_id,
                                                   Flag.child_id.in_(scope.child_ids(current_user._get_current_object()))))
    if flag is None:
        abort(404)
    return flag


def _forms():
    follow = FollowUpForm(prefix="f")
    follow.kind.choices = options([("", _("Choose…"))] + [(k, label(k)) for k in operations.FOLLOW_UP_KINDS])
    resolve = ResolveForm(prefix="r")
    resolve.outcome.choices = options([("", _("Choose…"))] + [(o, label(o)) for o in operations.OUTCOMES])
    return follow, resolve


@bp.route("/<int:flag_id>", methods=["GET", "POST"])
def detail(flag_id):
    user = current_user._get_current_object()
    flag = _flag_or_404(flag_id)
    can_act = user.role in (Role.admin, Role.liaison)
    follow, resolve = _forms()
    status = 200
    if request.method == "POST":
        if not can_act:
            abort(404)
        action = request.form.get("action")
        form = {"follow_up": follow, "resolve": resolve}.get(action)
        status = 400
        if action == "acknowledge":
            try:
                operations.acknowledge(flag, user=user, version=_int(request.form.get("version")))
            except OperationError as exc:
                db.session.rollback()
                flash(exc.message, "warning")
            else:
                flash(_("Flag acknowledged."))
            return redirect(url_for("flags.detail", flag_id=flag.id))
        if form is not None and form.validate():
            try:
                if action == "follow_up":
                    operations.log_follow_up(flag, follow.kind.data, follow.date.data, follow.note.data or "",
                                             user=user, version=_int(follow.version.data))
                    flash(_("Follow-up logged."))
                else:
                    operations.resolve(flag, resolve.outcome.data, resolve.note.data or "", user=user,
                                       version=_int(resolve.version.data))
                    flash(_("Flag resolved."))
            except OperationError as exc:
                db.session.rollback()
                field = getattr(form, exc.field or "", None)
                (field.errors if field is not None else form.form_errors).append(exc.message)
            else:
                return redirect(url_for("flags.index" if action == "resolve" else "flags.detail", flag_id=flag.id))
    if request.method == "GET":
        follow.date.data = dt.date.today()
    follow.version.data = resolve.version.data = flag.version
    return render_template("flags/detail.html", flag=flag, describe=describe(load_rules(), flag), follow=follow,
                           resolve=resolve, can_act=can_act), status


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
