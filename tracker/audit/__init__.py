"""The audit trail."""
from flask import has_request_context
from flask_login import current_user

from tracker.audit.models import AuditEvent
from tracker.extensions import db


def record(action: str, obj=None, *, user=None, object_type: str = "", object_id: str = "",
           fields=None) -> None:
    """Add an audit event to the current transaction (the caller commits).

    ``fields``: the names of the fields a correction changed (never their values).
    """
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if obj is not None:
        object_type = object_type or type(obj).__tablename__
        object_id = object_id or str(getattr(obj, "code", None) or obj.id)
    db.session.add(AuditEvent(user_id=getattr(user, "id", None), action=action,
                              object_type=object_type, object_id=object_id,
                              fields=",".join(fields) if fields else None))
