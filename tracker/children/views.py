"""Children pages: list and search, a child's page, register, enrol, transfer, exit, corrections."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker import audit, scope
from tracker.children import operations as child_ops
from tracker.children.duplicates import check as check_duplicates
from tracker.children.history import entries as correction_entries
from tracker.children.forms import (CentreForm, ChildForm, ConfirmForm, CorrectChildForm, CorrectEnrolmentForm, EnrolForm,
                                    ExitForm, MergeForm, TransferForm, UascForm)
from tracker.children.models import Child
from tracker.enrolment import operations as enrol_ops
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.labels import options
from tracker.schools.models import Centre, SchoolClass
from tracker.types import Role
from tracker.unit_of_work import keep

bp = Blueprint("children", __name__, url_prefix="/children")


@bp.before_request
@login_required
def records_only():
    if current_user.role == Role.partner:
        abort(404)


def _require_manager():
    if not scope.can_manage_children(current_user):
        abort(404)


def _apply_error(form, exc: OperationError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        form.form_errors.append(exc.message)


def _centres():
    return db.session.scalars(sa.select(Centre).order_by(Centre.name)).all()


@bp.route("/", methods=["GET", "POST"])
def index():
    """The list. The page's own form posts, so names typed into it stay out of URLs and access logs."""
    from tracker.children import listing

    user = current_user._get_current_object()
    data = request.form if request.method == "POST" else request.args
    form = listing.form_for(user, data)
    valid = form.validate()
    page = listing.children_page(form, user, data, valid=valid)
    return render_template("children/index.html", form=form, page=page, children=page.rows,
                           centre_label=listing.centre_label), 200 if valid else 400


@bp.route("/new", methods=["GET", "POST"])
def register():
    _require_manager()
    user = current_user._get_current_object()
    form = ChildForm(centres=_centres())
    if not _has_schools(user):
        # A child registered here would be nobody's: the officer could not open the record afterwards.
        return render_template("children/register.html", form=form, duplicates=None, no_schools=True), 403
    duplicates = None
    status = 200
    if request.method == "POST":
        if form.validate():
            duplicates = check_duplicates(
                user, given_name=form.given_name.data, family_name=form.family_name.data,
                name_original=form.name_original.data or "", birth_date=form.birth_date.data,
                birth_date_estimated=form.birth_date_estimated.data)
            if duplicates and not form.not_duplicate.data:
                _audit_check(duplicates, user)
                return render_template("children/register.html", form=form, duplicates=duplicates), 409
            centre = None
            if form.centre.data:
                centre = db.session.scalar(sa.select(Centre).where(Centre.code == form.centre.data))
                if centre is None:
                    form.centre.errors.append(_("Choose a centre from the list."))
            if not form.errors:
                try:
                    child = child_ops.register_child(
                        given_name=form.given_name.data, family_name=form.family_name.data,
                        name_original=form.name_original.data or "", sex=form.sex.data,
                        birth_date=form.birth_date.data, birth_date_estimated=form.birth_date_estimated.data,
                        country=form.country.data, first_language=form.first_language.data,
                        uasc_status=form.uasc_status.data, arrival_date=form.arrival_date.data,
                        centre=centre, centre_since=form.centre_since.data,
                        guardian_name=form.guardian_name.data or "",
                        guardian_organisation=form.guardian_organisation.data or "",
                        guardian_phone=form.guardian_phone.data or "", temporary_id=form.temporary_id.data or "",
                        asylum_number=form.asylum_number.data or "", legal_basis=form.legal_basis.data, user=user,
                        guardian_pending=form.guardian_pending.data)
                except OperationError as exc:
                    _apply_error(form, exc)
                else:
                    duplicates.record(user)
                    flash(_("%(name)s is registered as %(code)s.", name=child.display_name, code=child.code))
                    return redirect(url_for("children.detail", code=child.code))
            _audit_check(duplicates, user)
        status = 400
    return render_template("children/register.html", form=form, duplicates=None), status


def _audit_check(duplicates, user) -> None:
    """Audit a duplicate check on a refused registration: nothing else of the request is kept."""
    duplicates.record(user)
    keep()


def _has_schools(user) -> bool:
    """Admins register anywhere; a liaison officer needs a school assigned."""
    return user.role != Role.liaison or db.session.scalar(sa.select(sa.exists(scope.school_ids(user)))) is True


@bp.route("/<code>")
def detail(code):
    user = current_user._get_current_object()
    child = db.session.scalar(scope.children(user).where(Child.code == code))
    if child is None:
        # The code of a record merged into another child's leads to that child, for those who may see it.
        target = child_ops.merged_target(code)
        if target is not None and db.session.scalar(scope.children(user).where(Child.id == target.id)) is not None:
            return redirect(url_for("children.detail", code=target.code))
        abort(404)
    audit.record("child_viewed", child, user=user)
    open_enrolment = child.open_enrolment
    from tracker.flags.models import Flag
    from tracker.flags.rules import load_rules
    from tracker.flags.views import describe

    flags = db.session.scalars(sa.select(Flag).where(Flag.child_id == child.id)
                               .order_by(Flag.raised_on.desc(), Flag.id.desc())).all()
    rules = load_rules()
    from tracker.assessments.results import child_results
    from tracker.assessments.types import may_see

    can_manage = scope.can_manage_children(user)
    correctable = {e.id for e in child.enrolments if can_manage and scope.can_change_enrolment(user, e)}
    return render_template(
        "children/detail.html", child=child, open_enrolment=open_enrolment,
        flags=[(f, describe(rules, f)) for f in flags],
        assessments=child_results(user, child) if may_see(user, child) else [],
        can_manage=can_manage,
        can_change=open_enrolment is not None and scope.can_change_enrolment(user, open_enrolment),
        correctable=correctable, undoable=_undoable(child) if correctable else None,
        corrections=correction_entries(child), can_merge=user.role == Role.admin,
    )


def _undoable(child) -> int | None:
    """The id of the enrolment whose exit may be undone: the latest, closed, not by a transfer."""
    if not child.enrolments or child.open_enrolment is not None:
        return None
    latest = max(child.enrolments, key=lambda e: (e.start_date, e.id))
    return latest.id if latest.exit_reason is not None and latest.exit_reason.value != "transferred" else None


def _managed_child(code):
    _require_manager()
    return scope.get_child_or_404(current_user._get_current_object(), code)


@bp.route("/<code>/enrol", methods=["GET", "POST"])
def enrol(code):
    """Enrol in two steps (tracker.children.placement): school, first day, level and grade, pre-filled with the
    grade for the child's age; then a class of exactly those. "Show the classes" (the first button, so also the
    Enter key) writes nothing; static/enrol.js narrows the class list live where scripts run."""
    from tracker.children import placement
    from tracker.types import Level

    child = _managed_child(code)
    user = current_user._get_current_object()
    today = dt.date.today()
    from tracker.schools.operations import active_schools

    schools = db.session.scalars(active_schools(scope.schools(user))).all()  # archived schools take nobody new
    form = EnrolForm()
    form.school.choices = options([("", _("Choose…"))] + [(s.code, s.name) for s in schools])
    if request.method == "GET":
        if len(schools) == 1:
            form.school.data = schools[0].code
        form.start_date.data = today
    school = next((s for s in schools if s.code == form.school.data), None)
    start = form.start_date.data if isinstance(form.start_date.data, dt.date) else today
    suggestion = placement.suggest(child.birth_date, start, school)
    if request.method == "GET":
        form.level.data, form.grade.data = suggestion.level.value, suggestion.grade
    classes = placement.candidate_classes(user, today)
    year = enrol_ops.year_for(form.start_date.data) if isinstance(form.start_date.data, dt.date) else None
    grade = form.grade.data if isinstance(form.grade.data, int) else None
    fit = placement.fitting(classes, school, year, form.level.data, grade)
    form.class_id.choices = options([("", _("Not yet assigned"))] + [(str(c.id), c.name) for c in fit])
    status = 200
    action = request.form.get("action", "enrol")
    if request.method == "POST":
        status = 400
        if form.validate():
            cls = None
            if form.class_id.data:
                cls = next((c for c in fit if str(c.id) == form.class_id.data), None)
                if cls is None and action == "classes":
                    form.class_id.data = ""  # chosen for another grade or school: choose again from the new list
                elif cls is None:
                    form.class_id.errors.append(_("This class is not one of the chosen school, school year, level "
                                                  "and grade. Choose a class from the list, or none yet."))
            if not form.errors:
                try:
                    if action == "classes":
                        enrol_ops.check_placement(child, school, Level(form.level.data), form.grade.data, cls,
                                                  form.start_date.data)
                    else:
                        enrol_ops.enrol(child, school, form.level.data, form.grade.data, form.start_date.data,
                                        school_class=cls, user=user)
                except OperationError as exc:
                    _apply_error(form, exc)
                else:
                    if action == "classes":
                        status = 200
                    else:
                        flash(_("Enrolled at %(school)s.", school=school.name))
                        return redirect(url_for("children.detail", code=child.code))
    if child.open_enrolment is not None and not form.form_errors:
        form.form_errors.append(_("The child is already enrolled at %(school)s. Transfer or record an exit first.",
                                  school=child.open_enrolment.school.name))
    return render_template("children/enrol.html", child=child, form=form, suggestion=suggestion, fit=fit,
                           year=year, script=placement.script_data(classes)), status


def _changeable_enrolment(child):
    enrolment = child.open_enrolment
    if enrolment is None or not scope.can_change_enrolment(current_user._get_current_object(), enrolment):
        abort(404)
    return enrolment


@bp.route("/<code>/transfer", methods=["GET", "POST"])
def transfer(code):
    child = _managed_child(code)
    current = _changeable_enrolment(child)
    user = current_user._get_current_object()
    from tracker.schools.operations import active_schools

    schools = db.session.scalars(active_schools()).all()  # archived schools take nobody new
    form = TransferForm()
    form.school.choices = options([("", _("Choose…"))] + [(s.code, f"{s.name} ({s.municipality})") for s in schools
                                                  if s.id != current.school_id])
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            school = next(s for s in schools if s.code == form.school.data)
            try:
                enrol_ops.transfer(child, school, form.start_date.data, grade=form.grade.data, note=form.note.data or "",
                                   user=user)
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("Transferred to %(school)s.", school=school.name))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/transfer.html", child=child, current=current, form=form), status


@bp.route("/<code>/exit", methods=["GET", "POST"])
def exit(code):  # noqa: A001 - the URL says what it does
    child = _managed_child(code)
    current = _changeable_enrolment(child)
    user = current_user._get_current_object()
    form = ExitForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                enrol_ops.exit_enrolment(child, form.end_date.data, form.reason.data, note=form.note.data or "",
                                         user=user, end_stay=form.end_stay.data)
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The exit is recorded."))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/exit.html", child=child, current=current, form=form), status


@bp.route("/<code>/uasc", methods=["GET", "POST"])
def uasc(code):
    child = _managed_child(code)
    form = UascForm()
    if request.method == "GET":
        form.status.data = child.uasc_status.value  # recording a guardian keeps it; a change picks another
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                child_ops.change_uasc_status(child, form.status.data, form.since.data,
                                             guardian_name=form.guardian_name.data or "",
                                             guardian_organisation=form.guardian_organisation.data or "",
                                             user=current_user._get_current_object(),
                                             guardian_pending=form.guardian_pending.data)
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The UASC status is updated."))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/uasc.html", child=child, form=form), status


@bp.route("/<code>/centre", methods=["GET", "POST"])
def centre(code):
    child = _managed_child(code)
    centres = _centres()
    form = CentreForm()
    form.centre.choices = options([("", _("Left the centres (private accommodation or left)"))] + [
        (c.code, c.name) for c in centres])
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            target = next((c for c in centres if c.code == form.centre.data), None)
            try:
                child_ops.move_centre(child, target, form.since.data, user=current_user._get_current_object())
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The centre stay is updated."))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/centre.html", child=child, form=form), status


def _version(form) -> int | None:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return -1  # no version or a bad one: treated as stale, never as "no check"


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit(code):
    """Correct what was recorded about the child (``correct_child``); the earlier values are kept."""
    child = _managed_child(code)
    user = current_user._get_current_object()
    guardian = next((g for g in reversed(child.guardians) if g.end_date is None), None)
    if request.method == "POST":
        form = CorrectChildForm()
    else:
        initial = {f: getattr(child, f) for f in child_ops.CORRECTABLE}
        initial["sex"] = child.sex.value
        initial.update({f: getattr(guardian, col) if guardian else "" for f, col in child_ops.GUARDIAN_FIELDS.items()})
        form = CorrectChildForm(data={**initial, "version": str(child.version)})
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            changes = {f: form[f].data for f in (*child_ops.CORRECTABLE, *child_ops.GUARDIAN_FIELDS)}
            try:
                changed = child_ops.correct_child(child, changes, user=user, version=_version(form))
            except child_ops.StaleRecord as exc:
                _apply_error(form, exc)
                status = 409
                # The entries stay as typed; the next save is checked against the record as it is now.
                form.version.data = str(child.version)
                form.version.raw_data = [form.version.data]
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The corrections are saved.") if changed else _("Nothing was changed."))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/edit.html", child=child, form=form, has_guardian=guardian is not None), status


def _correctable_enrolment(child, enrolment_id: int):
    _require_manager()
    enrolment = next((e for e in child.enrolments if e.id == enrolment_id), None)
    if enrolment is None or not scope.can_change_enrolment(current_user._get_current_object(), enrolment):
        abort(404)
    return enrolment


@bp.route("/<code>/enrolments/<int:enrolment_id>/correct", methods=["GET", "POST"])
def correct_enrolment(code, enrolment_id):
    """Correct an enrolment's dates, grade and class (``correct_enrolment``); the earlier values are kept."""
    child = _managed_child(code)
    enrolment = _correctable_enrolment(child, enrolment_id)
    user = current_user._get_current_object()
    if request.method == "POST":
        form = CorrectEnrolmentForm()
    else:
        form = CorrectEnrolmentForm(data={"start_date": enrolment.start_date, "end_date": enrolment.end_date,
                                          "grade": enrolment.grade,
                                          "class_id": str(enrolment.class_id) if enrolment.class_id else ""})
    if enrolment.end_date is None:
        del form.end_date  # an open enrolment ends with Record an exit
    classes = db.session.scalars(scope.classes(user).where(
        SchoolClass.school_id == enrolment.school_id, SchoolClass.year_id == enrolment.year_id,
        SchoolClass.level == enrolment.level).order_by(SchoolClass.grade, SchoolClass.name)).all()
    form.class_id.choices = options([("", _("Not yet assigned"))] + [
        (str(c.id), _("%(name)s (grade %(grade)d)", name=c.name, grade=c.grade)) for c in classes])
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            cls = next((c for c in classes if str(c.id) == form.class_id.data), None) if form.class_id.data else None
            try:
                changed = enrol_ops.correct_enrolment(
                    enrolment, start_date=form.start_date.data,
                    end_date=form.end_date.data if "end_date" in form else None,
                    grade=form.grade.data, school_class=cls, user=user)
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The corrections are saved.") if changed else _("Nothing was changed."))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/correct_enrolment.html", child=child, enrolment=enrolment, form=form), status


@bp.route("/<code>/enrolments/<int:enrolment_id>/undo-exit", methods=["GET", "POST"])
def undo_exit(code, enrolment_id):
    """Reopen an enrolment closed by a wrong exit (``undo_exit``), after the officer confirms."""
    child = _managed_child(code)
    enrolment = _correctable_enrolment(child, enrolment_id)
    form = ConfirmForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                stay = enrol_ops.undo_exit(enrolment, user=current_user._get_current_object())
            except OperationError as exc:
                _apply_error(form, exc)
            else:
                flash(_("The exit is undone: the enrolment is open again.")
                      + (" " + _("The centre stay at %(centre)s is open again.", centre=stay.centre.name)
                         if stay is not None else ""))
                return redirect(url_for("children.detail", code=child.code))
    return render_template("children/undo_exit.html", child=child, enrolment=enrolment, form=form), status


@bp.route("/<code>/merge", methods=["GET", "POST"])
def merge(code):
    """Merge a second record of the same child into this one (administrators): a preview of both, then the merge."""
    user = current_user._get_current_object()
    if user.role != Role.admin:
        abort(404)
    keep = scope.get_child_or_404(user, code)
    form = MergeForm()
    other, problems, status = None, [], 200
    if request.method == "POST":
        status = 400
        if form.validate():
            other = db.session.scalar(scope.children(user).where(Child.code == form.other.data.upper()))
            if other is None:
                form.other.errors.append(_("No child has this code."))
            else:
                problems = child_ops.merge_problems(keep, other)
                if not problems and form.confirmed.data == other.code:
                    try:
                        child_ops.merge_children(keep, other, user=user)
                    except OperationError as exc:
                        _apply_error(form, exc)
                    else:
                        flash(_("%(other)s is merged into %(code)s; the code %(other)s leads here.",
                                other=form.other.data.upper(), code=keep.code))
                        return redirect(url_for("children.detail", code=keep.code))
                status = 409 if problems else 200
                form.confirmed.data = "" if problems else other.code
                form.confirmed.raw_data = [form.confirmed.data]
    return render_template("children/merge.html", child=keep, other=other, problems=problems, form=form), status
