"""Integration pages: run them for your schools, settle what an import left for a person, and (admins) enable them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from tracker import scope
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.integrations import operations as ops
from tracker.integrations.models import IntegrationPending, IntegrationRun, SchoolIntegration
from tracker.integrations.types import PERSONAL_FIELDS, all_integrations
from tracker.schools.models import School
from tracker.types import Role

bp = Blueprint("integrations", __name__, url_prefix="/integrations")


@bp.before_request
@login_required
def liaison_or_admin():
    if current_user.role not in (Role.admin, Role.liaison):
        abort(404)


def _schools(user) -> list[School]:
    return list(db.session.scalars(scope.schools(user)))


def _school(code: str) -> School:
    school = next((s for s in _schools(current_user) if s.code == code), None)
    if school is None:
        abort(404)
    return school


def field_label(name: str) -> str:
    return {"names": _("Names"), "birth_date": _("Birth date"), "sex": _("Sex"),
            "country": _("Country of origin")}.get(name, name)


@bp.app_context_processor
def helpers():
    return {"integration_field_label": field_label}


@bp.record_once
def _field_label_filter(state):
    state.app.jinja_env.filters["integration_field_label"] = field_label  # allowed_fields|map('integration_field_label')


@bp.route("/")
def index():
    user = current_user._get_current_object()
    schools = _schools(user)
    types = all_integrations()
    enabled = db.session.scalars(sa.select(SchoolIntegration).where(
        SchoolIntegration.enabled.is_(True), SchoolIntegration.school_id.in_([s.id for s in schools]))).all()
    rows = [{"school": e.school, "integration": types[e.slug], "setting": e} for e in enabled if e.slug in types]
    rows.sort(key=lambda r: (r["school"].name, str(r["integration"].label)))
    runs = db.session.scalars(sa.select(IntegrationRun).where(IntegrationRun.school_id.in_([s.id for s in schools]))
                              .order_by(IntegrationRun.at.desc()).limit(20)).all()
    return render_template("integrations/index.html", rows=rows, runs=runs, types=types,
                           pending=len(ops.pending_for(user)), is_admin=user.role == Role.admin)


@bp.route("/<slug>/<code>/export")
def export(slug: str, code: str):
    school = _school(code)
    try:
        filename, mimetype, body = ops.run_export(slug, school, current_user._get_current_object(),
                                                  {k: v for k, v in request.args.items()})
    except ops.NotAllowed as exc:
        abort(404 if "scope" in exc.message else 403, description=exc.message)
    except OperationError as exc:
        abort(400, description=exc.message)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<slug>/<code>/import", methods=["POST"])
def import_file(slug: str, code: str):
    school = _school(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to import."), "error")
        return redirect(url_for("integrations.index")), 303
    data = upload.read()
    try:
        result, run = ops.run_import(slug, school, current_user._get_current_object(), data,
                                     dry_run=bool(request.form.get("dry_run")))
    except ops.NotAllowed as exc:
        abort(403, description=exc.message)
    except OperationError as exc:
        abort(400, description=exc.message)
    integration = all_integrations()[slug]
    return render_template("integrations/result.html", result=result, run=run, school=school,
                           integration=integration), 200 if result.ok else 400


@bp.route("/pending")
def pending():
    return render_template("integrations/pending.html", items=ops.pending_for(current_user._get_current_object()),
                           types=all_integrations())


def _pending_item(item_id: int) -> IntegrationPending:
    item = next((p for p in ops.pending_for(current_user._get_current_object()) if p.id == item_id), None)
    if item is None:
        abort(404)
    return item


@bp.route("/pending/<int:item_id>/match", methods=["POST"])
def match(item_id: int):
    item = _pending_item(item_id)
    try:
        child = ops.resolve_match(item, request.form.get("child_code", ""), current_user._get_current_object())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("integrations/pending.html", items=ops.pending_for(current_user), 
                               types=all_integrations()), 400
    flash(_("Linked to %(code)s: the next import enrols this child.", code=child.code), "success")
    return redirect(url_for("integrations.pending"))


@bp.route("/pending/<int:item_id>/ignore", methods=["POST"])
def ignore(item_id: int):
    ops.resolve_ignore(_pending_item(item_id), current_user._get_current_object())
    flash(_("Set aside."), "success")
    return redirect(url_for("integrations.pending"))


# --- admin --------------------------------------------------------------------------------------------------

def _admin():
    if current_user.role != Role.admin:
        abort(404)


@bp.route("/admin")
def admin():
    _admin()
    settings = {(s.school_id, s.slug): s for s in db.session.scalars(sa.select(SchoolIntegration))}
    return render_template("integrations/admin.html", schools=_schools(current_user), types=all_integrations(),
                           settings=settings)


@bp.route("/admin/<slug>/<code>", methods=["GET", "POST"])
def configure(slug: str, code: str):
    _admin()
    school = _school(code)
    integration = all_integrations().get(slug) or abort(404)
    row = ops.setting_for(school, slug)
    form = integration.settings_form(data=(row.settings if row else None)) if integration.settings_form else None
    allowed = set(row.allowed_fields or ()) if row else set()
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "disable":
            ops.disable(slug, school, current_user._get_current_object())
            flash(_("Switched off for %(school)s.", school=school.name), "success")
            return redirect(url_for("integrations.admin"))
        allowed = {f for f in request.form.getlist("allow") if f in PERSONAL_FIELDS}
        if form is None or form.validate():
            settings = {k: v for k, v in (form.data.items() if form else []) if k != "csrf_token"}
            try:
                ops.enable(slug, school, current_user._get_current_object(), settings=settings,
                           allowed_fields=sorted(allowed))
            except OperationError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = 400
            else:
                flash(_("%(integration)s is on for %(school)s.", integration=integration.label, school=school.name),
                      "success")
                return redirect(url_for("integrations.admin"))
        else:
            status = 400
    return render_template("integrations/configure.html", integration=integration, school=school, form=form,
                           row=row, allowed=allowed), status
