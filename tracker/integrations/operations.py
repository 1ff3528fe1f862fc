"""Enabling integrations per school and running them: scope checks, and a record of every run."""
from __future__ import annotations

import io

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import audit, scope, unit_of_work
from tracker.children.models import Child, utcnow
from tracker.errors import OperationError
from tracker.extensions import db
from tracker.integrations.models import ExternalId, IntegrationPending, IntegrationRun, SchoolIntegration
from tracker.integrations.types import PERSONAL_FIELDS, Integration, RunResult, Scope, all_integrations
from tracker.schools.models import School
from tracker.types import Role

MAX_ERRORS_KEPT = 100


class NotAllowed(OperationError):
    """The integration is not enabled for the school, or the school is outside the user's scope."""


def validate_settings(integration: Integration, pairs: dict) -> dict:
    """Settings given as text (the command line) checked with the integration's settings form; raises OperationError."""
    if integration.settings_form is None:
        return dict(pairs)
    from werkzeug.datastructures import MultiDict

    form = integration.settings_form(formdata=MultiDict(pairs), meta={"csrf": False})
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        raise OperationError(name, errors[0])
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


def get_integration(slug: str) -> Integration:
    found = all_integrations().get(slug)
    if found is None:
        raise OperationError("slug", _("No integration called %(slug)s.", slug=slug))
    return found


def setting_for(school: School, slug: str) -> SchoolIntegration | None:
    return db.session.scalar(sa.select(SchoolIntegration).where(SchoolIntegration.school_id == school.id,
                                                                SchoolIntegration.slug == slug))


def enable(slug: str, school: School, user, *, settings: dict | None = None, allowed_fields=()) -> SchoolIntegration:
    """Enable (or update) an integration for a school. Admins only. Flushes; the request or command commits."""
    if user is not None and user.role != Role.admin:
        raise NotAllowed(None, _("Only administrators enable integrations."))
    integration = get_integration(slug)
    unknown = [f for f in allowed_fields if f not in PERSONAL_FIELDS]
    if unknown:
        raise OperationError("allowed_fields", _("Unknown field %(name)s: choose from %(names)s.", name=unknown[0],
                                                 names=", ".join(PERSONAL_FIELDS)))
    extra = [f for f in allowed_fields if f not in integration.personal_fields]
    if extra:
        raise OperationError("allowed_fields", _("%(integration)s never exports %(name)s.",
                                                 integration=integration.label, name=extra[0]))
    row = setting_for(school, slug) or SchoolIntegration(school_id=school.id, slug=slug)
    row.enabled = True
    if settings is not None:
        row.settings = dict(settings)
    row.allowed_fields = sorted(set(allowed_fields))
    row.updated_at, row.updated_by_id = utcnow(), getattr(user, "id", None)
    db.session.add(row)
    audit.record("integration_enabled", user=user, object_type="school", object_id=f"{school.code}:{slug}")
    db.session.flush()
    return row


def disable(slug: str, school: School, user) -> None:
    if user is not None and user.role != Role.admin:
        raise NotAllowed(None, _("Only administrators disable integrations."))
    row = setting_for(school, slug)
    if row is not None and row.enabled:
        row.enabled = False
        row.updated_at, row.updated_by_id = utcnow(), getattr(user, "id", None)
        audit.record("integration_disabled", user=user, object_type="school", object_id=f"{school.code}:{slug}")
        db.session.flush()


def _scope(slug: str, school: School, user) -> tuple[Integration, Scope]:
    integration = get_integration(slug)
    if user is not None and user.role not in (Role.admin, Role.liaison):
        raise NotAllowed(None, _("Integrations are run by liaison officers and administrators."))
    if user is not None and user.role == Role.liaison and not db.session.scalar(
            sa.select(sa.literal(True)).where(sa.literal(school.id).in_(scope.school_ids(user)))):
        raise NotAllowed(None, _("No school with the code %(code)s in your scope.", code=school.code))
    row = setting_for(school, slug)
    if row is None or not row.enabled:
        raise NotAllowed(None, _("%(integration)s is not enabled for %(school)s; an administrator enables it.",
                                 integration=integration.label, school=school.name))
    return integration, Scope(school=school, user=user, settings=dict(row.settings or {}),
                              allowed_fields=frozenset(row.allowed_fields or ()))


def _record(slug, school, user, direction, *, dry_run=False, ok=True, counts=None, errors=()) -> IntegrationRun:
    run = IntegrationRun(school_id=school.id, slug=slug, direction=direction, dry_run=dry_run, ok=ok,
                         counts=dict(counts or {}), errors=list(errors)[:MAX_ERRORS_KEPT], error_count=len(errors),
                         user_id=getattr(user, "id", None))
    db.session.add(run)
    audit.record(f"integration_{direction}", user=user, object_type="school", object_id=f"{school.code}:{slug}")
    db.session.flush()
    return run


def run_export(slug: str, school: School, user, params: dict | None = None) -> tuple[str, str, bytes]:
    integration, run_scope = _scope(slug, school, user)
    if not integration.can_export:
        raise OperationError(None, _("%(integration)s does not export.", integration=integration.label))
    filename, mimetype, body = integration.export(run_scope, dict(params or {}))
    db.session.rollback()  # an export reads only
    _record(slug, school, user, "export", counts={"bytes": len(body)})
    return filename, mimetype, body


def run_import(slug: str, school: School, user, data: bytes, *, dry_run: bool = False) -> tuple[RunResult, IntegrationRun]:
    integration, run_scope = _scope(slug, school, user)
    if not integration.can_import:
        raise OperationError(None, _("%(integration)s does not import.", integration=integration.label))
    result = integration.import_file(io.BytesIO(data), run_scope, dry_run)
    if not result.ok or dry_run:
        db.session.rollback()  # an import writes everything or nothing
    run = _record(slug, school, user, "import", dry_run=dry_run, ok=result.ok, counts=result.counts,
                  errors=result.errors)
    if not result.ok:
        unit_of_work.keep()  # the refused run is answered 400 and still listed with its errors
    for call in result.after_commit if result.ok and not dry_run else ():
        call()  # an integration's own follow-ups; event hooks are delivered after the commit
    return result, run


def pending_for(user, school: School | None = None) -> list[IntegrationPending]:
    q = sa.select(IntegrationPending).where(IntegrationPending.resolved_at.is_(None))
    if user.role != Role.admin:
        q = q.where(IntegrationPending.school_id.in_(scope.school_ids(user)))
    if school is not None:
        q = q.where(IntegrationPending.school_id == school.id)
    return list(db.session.scalars(q.order_by(IntegrationPending.created_at, IntegrationPending.id)))


def resolve_match(pending: IntegrationPending, child_code: str, user) -> Child:
    """A person says which tracker child this is: the next import matches it by its identifier."""
    child = db.session.scalar(scope.children(user).where(Child.code == (child_code or "").strip().upper()))
    if child is None:
        raise OperationError("child_code", _("No child with the code %(code)s in your scope.", code=child_code))
    system = f"{pending.slug}:{pending.school.code}"
    taken = db.session.scalar(sa.select(ExternalId).where(ExternalId.system == system,
                                                          ExternalId.value == pending.key))
    if taken is not None and taken.child_id != child.id:
        raise OperationError("child_code", _("This record is already linked to another child."))
    if taken is None:
        db.session.add(ExternalId(child_id=child.id, system=system, value=pending.key))
    pending.resolved_at, pending.resolved_by_id, pending.resolution = utcnow(), user.id, f"matched:{child.code}"
    audit.record("integration_matched", child, user=user)
    db.session.flush()
    return child


def resolve_ignore(pending: IntegrationPending, user) -> None:
    pending.resolved_at, pending.resolved_by_id, pending.resolution = utcnow(), user.id, "ignored"
    db.session.flush()


def link_external_ids(system: str, links: list[tuple[Child, str]], *, user=None) -> None:
    """Remember each child's identifier in another system (``system``: slug and school), from an import."""
    for child, value in links:
        db.session.add(ExternalId(child_id=child.id, system=system, value=value))
        audit.record("integration_linked", child, user=user)
    db.session.flush()


def save_pending(school: School, slug: str, writes: list[tuple[IntegrationPending | None, dict]],
                 resolutions: list[tuple[IntegrationPending, str]], *, user=None) -> None:
    """Record what an import leaves for a person (new or still open) and what it settled by itself."""
    now, uid = utcnow(), getattr(user, "id", None)
    for stored, values in writes:
        if stored is None:
            db.session.add(IntegrationPending(school_id=school.id, slug=slug, **values))
        else:
            stored.reason, stored.data, stored.candidates = values["reason"], values["data"], values["candidates"]
            stored.resolved_at, stored.resolved_by_id, stored.resolution = None, None, ""
    for stored, resolution in resolutions:
        stored.resolved_at, stored.resolved_by_id, stored.resolution = now, uid, resolution
    db.session.flush()
