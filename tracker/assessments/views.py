"""Assessment pages: the due list, filling a form, a class's results, the admin's rounds and types."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import InputRequired

from tracker import audit, scope
from tracker.assessments import operations as ops
from tracker.assessments.models import Assessment, AssessmentRound, AssessmentTypeSetting
from tracker.assessments.results import child_results, class_results, round_progress
from tracker.assessments.types import all_types, enabled_types, may_see
from tracker.children.models import Child
from tracker.enrolment.models import Enrolment
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import options
from tracker.schools.models import AcademicYear, SchoolClass
from tracker.types import Role

bp = Blueprint("assessments", __name__, url_prefix="/assessments")
ROUND_LABELS = {"baseline": _l("Baseline"), "midline": _l("Midline"), "endline": _l("Endline")}
STATUS_LABELS = {None: _l("Not started"), "draft": _l("Draft"), "submitted": _l("Submitted")}
JUST_SUBMITTED = "assessment_just_submitted"  # session key: the form whose result the due list shows next


@bp.before_request
@login_required
def staff_only():
    if current_user.role == Role.partner:
        abort(404)


def round_label(round_: AssessmentRound) -> str:
    return f"{ROUND_LABELS[round_.kind]} {round_.year.label}"


@bp.app_context_processor
def labels():
    return {"round_label": round_label, "status_label": lambda s: STATUS_LABELS.get(s, s)}


def _classes(user) -> list[SchoolClass]:
    return list(db.session.scalars(scope.classes(user).order_by(SchoolClass.name)))


@bp.route("/")
def due():
    user = current_user._get_current_object()
    rounds = ops.rounds_in_order()
    today = dt.date.today()
    classes = _classes(user)
    class_id = request.args.get("class", type=int)
    chosen_class = next((c for c in classes if c.id == class_id), classes[0] if classes else None)
    # Without a choice: the current round of the class's school year (else of any year).
    own = [r for r in rounds if chosen_class is not None and r.year_id == chosen_class.year_id]
    chosen_round = (db.session.get(AssessmentRound, request.args.get("round", type=int) or 0)
                    or ops.current_round(today, own or rounds))
    types = list(enabled_types().values())
    progress = round_progress(chosen_class, rounds, [t.slug for t in types], today) if chosen_class else {}
    rows = []
    if chosen_round and chosen_class:
        day = min(max(dt.date.today(), chosen_round.opens), chosen_round.closes)
        enrolments = db.session.scalars(
            sa.select(Enrolment).join(Child, Child.id == Enrolment.child_id)
            .where(Enrolment.class_id == chosen_class.id, Enrolment.start_date <= day,
                   sa.or_(Enrolment.end_date.is_(None), Enrolment.end_date >= day))
            .order_by(Child.family_name, Child.given_name)).all()
        done = {(a.child_id, a.type_slug): a for a in db.session.scalars(
            sa.select(Assessment).where(Assessment.round_id == chosen_round.id,
                                        Assessment.child_id.in_([e.child_id for e in enrolments])))}
        for e in enrolments:
            moved = ops.moved_away(e.child, e, today)  # listed for the round, but no longer filled in here
            rows.append({"child": e.child, "cells": [
                {"type": t, "assessment": done.get((e.child_id, t.slug)), "may_fill": not moved and t.may_fill(user, e)}
                for t in types]})
    result = _just_submitted(rows, chosen_round, types)
    return render_template("assessments/due.html", rounds=rounds, chosen_round=chosen_round, classes=classes,
                           chosen_class=chosen_class, types=types, rows=rows, progress=progress,
                           current=ops.current_round(today, own or rounds), result=result,
                           is_admin=user.role == Role.admin)


def _just_submitted(rows, round_, types) -> dict | None:
    """The form this user has just submitted (kept in the session by ``fill``, shown once), when it is
    a form of a child on this list: its band and each domain's result."""
    assessment_id = session.pop(JUST_SUBMITTED, None)
    found = [(row, cell) for row in rows for cell in row["cells"]
             if cell["assessment"] is not None and cell["assessment"].id == assessment_id]
    if not found:
        return None
    row, cell = found[0]
    a = cell["assessment"]
    if a.status != "submitted" or round_ is None or a.round_id != round_.id:
        return None
    atype = cell["type"]
    return {"child": row["child"], "type": atype, "assessment": a,
            "band": atype.band_label(a.band) if a.band else None,
            "domains": [(label_, atype.format_score(key, a.scores.get(key)))
                        for key, label_ in atype.domains if key in a.scores]}


def _answers(form) -> dict:
    out = {}
    for field in form:
        if field.name in ("csrf_token",) or field.type in ("HiddenField", "CSRFTokenField", "SubmitField"):
            continue
        value = field.data
        if value in (None, "", []):
            continue
        out[field.name] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return out


def _draft_ok(form) -> bool:
    """Validate what a draft has filled in (a draft may leave fields empty), and the CSRF token."""
    ok = True
    for field in form:
        if field.type != "CSRFTokenField" and field.raw_data in (None, [], [""]):
            continue
        if not field.validate(form):
            ok = False
    return ok


@bp.route("/<int:round_id>/<slug>/<code>", methods=["GET", "POST"])
def fill(round_id: int, slug: str, code: str):
    user = current_user._get_current_object()
    round_ = db.session.get(AssessmentRound, round_id) or abort(404)
    atype = enabled_types().get(slug) or abort(404)
    child = scope.get_child_or_404(user, code)
    today = dt.date.today()
    enrolment = ops.enrolment_for(child, ops.round_day(round_, today))
    existing = ops.find(child, round_, slug)
    may_fill = atype.may_fill(user, enrolment)
    if not may_fill and not (existing is not None and may_see(user, child)):
        abort(404)
    moved = may_fill and ops.moved_away(child, enrolment, today)
    if moved:
        # The round's teachers may still read what was saved, but no longer write: the child is at another school.
        form = atype.form_class(data=existing.answers if existing else None)
        form.form_errors.append(ops.moved_message(child))
        if request.method == "GET" and existing is not None:
            audit.record("assessment_viewed", existing, user=user)
        page = _render_form(atype, round_, child, form, existing, existing.version if existing else 0, False)
        return page, 409 if request.method == "POST" else 200
    if request.method == "POST":
        if not may_fill:
            abort(404)
        form = atype.form_class()
        action = request.form.get("action", "draft")
        version = request.form.get("version", type=int)
        valid = form.validate() if action == "submit" else _draft_ok(form)
        if valid:
            try:
                saved = ops.save(user, child=child, round_=round_, atype=atype, answers=_answers(form),
                                 submit=action == "submit", expected_version=version, today=today)
            except PermissionError:
                db.session.rollback()
                abort(404)
            except ops.ConflictError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
                return _render_form(atype, round_, child, form, existing, version, may_fill), 409
            except OperationError as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
                return _render_form(atype, round_, child, form, existing, version, may_fill), 400
            if action == "submit" and enrolment.class_id is not None:
                # The due list shows the child's result and band once, as a flash message would (_just_submitted).
                session[JUST_SUBMITTED] = saved.id
                return redirect(url_for("assessments.due", round=round_.id, **{"class": enrolment.class_id}))
            if action == "submit":  # no class to list: the form itself shows the result
                flash(_("Submitted."), "success")
                return redirect(url_for("assessments.fill", round_id=round_.id, slug=slug, code=child.code))
            flash(_("Draft saved."), "success")
            return redirect(url_for("assessments.fill", round_id=round_.id, slug=slug, code=child.code))
        return _render_form(atype, round_, child, form, existing, version, may_fill), 400
    form = atype.form_class(data=existing.answers if existing else None)
    if existing is not None:
        audit.record("assessment_viewed", existing, user=user)
    return _render_form(atype, round_, child, form, existing, existing.version if existing else 0, may_fill)


def _render_form(atype, round_, child, form, existing, version, may_fill):
    return render_template("assessments/fill.html", atype=atype, round_=round_, child=child, form=form,
                           existing=existing, version=version or 0, may_fill=may_fill,
                           fields=[f for f in form if f.type not in ("CSRFTokenField", "HiddenField")])


@bp.route("/class/<int:class_id>")
def class_view(class_id: int):
    user = current_user._get_current_object()
    school_class = scope.get_class_or_404(user, class_id)
    today = dt.date.today()
    rounds = [r for r in ops.rounds_in_order(school_class.year_id)]
    progress = round_progress(school_class, rounds, list(enabled_types()), today)
    return render_template("assessments/class.html", school_class=school_class, rounds=rounds, progress=progress,
                           current=ops.current_round(today, rounds), results=class_results(school_class))


# --- admin ------------------------------------------------------------------------------------------

def _admin():
    if current_user.role != Role.admin:
        abort(404)


class RoundForm(FlaskForm):
    year = SelectField(_l("School year"), validators=[InputRequired(message=_l("Choose a school year."))],
                       validate_choice=False)
    kind = SelectField(_l("Round"), choices=[], validators=[InputRequired(message=_l("Choose a round."))])
    opens = DateField(_l("Opens"), validators=[InputRequired(message=_l("Enter the first day forms are due."))])
    closes = DateField(_l("Closes"), validators=[InputRequired(message=_l("Enter the last day forms are due."))])


@bp.route("/rounds", methods=["GET", "POST"])
def rounds():
    _admin()
    form = RoundForm()
    years = list(db.session.scalars(sa.select(AcademicYear).order_by(AcademicYear.first_day.desc())))
    form.year.choices = options([(str(y.id), y.label) for y in years])
    form.kind.choices = options([(k, str(v)) for k, v in ROUND_LABELS.items()])
    status = 200
    if form.validate_on_submit():
        year = db.session.get(AcademicYear, int(form.year.data)) if form.year.data.isdigit() else None
        if year is None:
            form.year.errors.append(_("Choose a school year."))
            status = 400
        else:
            try:
                ops.add_round(year, form.kind.data, form.opens.data, form.closes.data)
            except OperationError as exc:
                db.session.rollback()
                getattr(form, exc.field or "opens").errors.append(exc.message)
                status = 400
            else:
                flash(_("Round added."), "success")
                return redirect(url_for("assessments.rounds"))
    elif request.method == "POST":
        status = 400
    return render_template("assessments/rounds.html", form=form, rounds=ops.rounds_in_order()), status


@bp.route("/types", methods=["GET"])
def types():
    _admin()
    settings = {s.slug: s for s in db.session.scalars(sa.select(AssessmentTypeSetting))}
    rows = [{"type": t, "enabled": settings.get(slug) is None or settings[slug].enabled}
            for slug, t in sorted(all_types().items())]
    return render_template("assessments/types.html", rows=rows)


@bp.route("/types/<slug>", methods=["POST"])
def toggle_type(slug: str):
    _admin()
    if slug not in all_types():
        abort(404)
    enabled = request.form.get("enabled") == "1"
    ops.set_enabled(slug, enabled, current_user)
    flash(_("Switched on.") if enabled else _("Switched off: the form is no longer offered, and what was filled in "
                                              "is kept."), "success")
    return redirect(url_for("assessments.types"))


__all__ = ["bp", "child_results"]
